"""Reading cohorts and recordings, and validating them."""
from .cohort import PARTICIPANTS_FILE, Cohort, Subject, load_cohort
from .eeg import DEFAULT_NON_EEG_PATTERNS, EEGSpec, load_eeg, pick_eeg_channels, read_eeg
from .formats import EEG_FORMATS, REGION_FORMATS, VOLUME_FORMATS, file_format
from .inspect import format_check
from .quality import SignalQuality, quality_problems, scan_signal
from .regions import RegionSpec, RegionTimeSeries, read_region_timeseries
from .validation import CohortCheck, check_cohort, check_eeg_file, check_region_file

__all__ = [
    "PARTICIPANTS_FILE", "Cohort", "Subject", "load_cohort",
    "EEGSpec", "read_eeg", "pick_eeg_channels", "load_eeg", "DEFAULT_NON_EEG_PATTERNS",
    "EEG_FORMATS", "REGION_FORMATS", "VOLUME_FORMATS", "file_format",
    "RegionSpec", "RegionTimeSeries", "read_region_timeseries",
    "SignalQuality", "scan_signal", "quality_problems",
    "CohortCheck", "check_cohort", "check_eeg_file", "check_region_file", "format_check",
]
