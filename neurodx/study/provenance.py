"""Provenance of a run or a bundle: package versions, git commit, input hashes.

``neurodx compare`` writes these into ``manifest.json`` and ``neurodx train`` into a
bundle's manifest, so a result can be traced to the code and the exact files it
came from.
"""
from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .._hashing import sha256_file
from ..io.text_eeg import TEXT_EEG_FORMATS, text_eeg_sidecars

__all__ = ["PACKAGES", "versions", "thread_counts", "git_commit", "input_hashes",
           "is_synthetic"]

#: Distributions whose versions are recorded in every manifest.
PACKAGES = ("neurodx", "numpy", "scipy", "scikit-learn", "pandas", "mne", "pyriemann", "torch",
            "nibabel", "pydicom", "joblib", "matplotlib")


def versions() -> dict:
    """Python's and every :data:`PACKAGES` distribution's version (None if absent)."""
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def thread_counts() -> dict:
    """Threads the run's numerical libraries use by default. Float rounding, and so a
    trained CNN, can depend on torch's intra-op thread count: the same seed on another
    count is not guaranteed to give the same predictions."""
    from threadpoolctl import threadpool_info

    torch = sys.modules.get("torch")              # only when a route imported it
    return {"torch_intra_op": torch.get_num_threads() if torch is not None else None,
            "blas": sorted({(i.get("internal_api"), i.get("num_threads"))
                            for i in threadpool_info()}, key=str)}


def git_commit() -> str | None:
    """The commit of the neurodx source tree, or None outside a git checkout."""
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=10)
        return res.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def input_hashes(cohort) -> dict:
    """SHA-256 of ``participants.tsv`` and of every file a cohort's recordings read.

    Keys are paths relative to the cohort folder (absolute for files outside it),
    sorted; companion files (BrainVision ``.eeg``/``.vmrk``, EEGLAB ``.fdt``, text
    EEG sidecars) are hashed with their recording.
    """
    files = {"participants.tsv": cohort.root / "participants.tsv"}
    for s in cohort:
        for p in s.paths:
            targets = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
            for q in targets:
                # BrainVision / EEGLAB recordings keep their data in companion files.
                companions = [q.with_suffix(ext) for ext in (".eeg", ".vmrk", ".fdt")
                              if q.suffix.lower() in (".vhdr", ".set") and q.with_suffix(ext).exists()]
                # Text EEG takes its rate, names and units from sidecars.
                if q.name.lower().endswith(TEXT_EEG_FORMATS):
                    companions += [c for c in text_eeg_sidecars(q) if c.is_file()]
                for f in [q, *companions]:
                    try:
                        files[str(f.relative_to(cohort.root))] = f
                    except ValueError:
                        files[str(f)] = f
    return {k: sha256_file(v) for k, v in sorted(files.items())}


def is_synthetic(cohort) -> bool:
    """Whether a cohort is SYNTHETIC: every participant flagged, or a simulator's
    ``simulation.json`` saying so."""
    df = cohort.participants
    if "synthetic" in df.columns and df["synthetic"].astype(str).str.lower().isin(
            ["yes", "true", "1"]).all():
        return True
    meta = cohort.root / "simulation.json"
    return meta.is_file() and json.loads(meta.read_text()).get("synthetic") is True
