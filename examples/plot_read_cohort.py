"""
Read and check a cohort
=======================

A cohort is a folder with a ``participants.tsv``. :func:`neurodx.io.load_cohort`
reads it (labels, sites, the files of each subject) and
:func:`neurodx.io.check_cohort` opens every recording and lists every problem, one
line each, naming the subject and the file: what ``neurodx inspect`` prints.
"""
from pathlib import Path

import neurodx
from neurodx.io import EEGSpec, check_cohort, format_check, load_cohort

# The SYNTHETIC sample cohort shipped beside the package in the source tree.
sample_data = Path(neurodx.__file__).resolve().parents[1] / "sample_data"

cohort = load_cohort(sample_data)
print(f"{len(cohort)} subjects, modality {cohort.modality}")
print(cohort.participants.groupby(["group", "site"]).size())

# %%
# Check every recording against the expectations (64 EEG channels here).
check = check_cohort(cohort, EEGSpec(n_channels=64))
print(format_check(check, per_file=False))
