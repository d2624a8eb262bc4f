"""Reading cohorts and recordings (EEG, region time series, volumes), and validating them."""
from .cohort import PARTICIPANTS_FILE, Cohort, Subject, load_cohort, read_participants
from .dicom import DicomSeries, dicom_problems, list_dicom_series, read_dicom_series
from .eeg import DEFAULT_NON_EEG_PATTERNS, EEGSpec, load_eeg, pick_eeg_channels, read_eeg
from .formats import EEG_FORMATS, REGION_FORMATS, VOLUME_FORMATS, file_format
from .images import IMAGE_SUFFIXES, is_image_file, read_image_slices
from .inspect import format_check, format_flat_dropped
from .nifti import NIFTI_SUFFIXES, is_nifti, read_nifti
from .quality import (FLAT_POLICIES, SignalQuality, flat_channels, quality_problems,
                      scan_signal)
from .regions import RegionSpec, RegionTimeSeries, read_region_timeseries
from .validation import CohortCheck, check_cohort, check_eeg_file, check_region_file
from .units import INTENSITY_SETTINGS, resolve_unit, volume_unit
from .volume_checks import VolumeSpec, check_volume, check_volume_consistency, check_volume_file
from .volumes import VOLUME_KINDS, describe_volume, read_volume, scan_values, volume_format

__all__ = [
    "PARTICIPANTS_FILE", "Cohort", "Subject", "load_cohort", "read_participants",
    "EEGSpec", "read_eeg", "pick_eeg_channels", "load_eeg", "DEFAULT_NON_EEG_PATTERNS",
    "EEG_FORMATS", "REGION_FORMATS", "VOLUME_FORMATS", "file_format",
    "RegionSpec", "RegionTimeSeries", "read_region_timeseries",
    "VOLUME_KINDS", "volume_format", "read_volume", "describe_volume", "scan_values",
    "NIFTI_SUFFIXES", "is_nifti", "read_nifti",
    "DicomSeries", "list_dicom_series", "read_dicom_series", "dicom_problems",
    "IMAGE_SUFFIXES", "is_image_file", "read_image_slices",
    "INTENSITY_SETTINGS", "volume_unit", "resolve_unit",
    "SignalQuality", "scan_signal", "quality_problems", "flat_channels", "FLAT_POLICIES",
    "VolumeSpec", "check_volume", "check_volume_file", "check_volume_consistency",
    "CohortCheck", "check_cohort", "check_eeg_file", "check_region_file", "format_check",
    "format_flat_dropped",
]
