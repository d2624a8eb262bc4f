"""Synthetic cohorts (EEG, fMRI, CT). Everything they write is marked synthetic."""
from .eeg import group_severity, simulate_eeg_cohort, simulate_eeg_raw
from .regions import simulate_region_cohort, simulate_region_timeseries

__all__ = ["simulate_eeg_cohort", "simulate_eeg_raw", "group_severity", "simulate_region_cohort",
           "simulate_region_timeseries"]
