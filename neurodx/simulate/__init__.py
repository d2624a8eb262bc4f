"""Synthetic cohorts (EEG, region time series, fMRI, CT); everything they write says so."""
from .ct import CT_FORMATS, DEFAULT_LESIONS, simulate_ct_cohort, simulate_ct_volume
from .eeg import group_severity, simulate_eeg_cohort, simulate_eeg_raw
from .fmri import simulate_fmri_cohort, simulate_fmri_run
from .regions import simulate_region_cohort, simulate_region_timeseries

__all__ = ["simulate_eeg_cohort", "simulate_eeg_raw", "group_severity", "simulate_region_cohort",
           "simulate_region_timeseries", "simulate_fmri_cohort", "simulate_fmri_run",
           "simulate_ct_cohort", "simulate_ct_volume", "CT_FORMATS", "DEFAULT_LESIONS"]
