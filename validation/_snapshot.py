"""Reading a public GitHub snapshot at a pinned commit, and writing a neurodx cohort.

Shared by the ``prepare_*.py`` scripts. Files are read from the pinned commit of
a bare git directory (``git show COMMIT:PATH``), never from a work tree, so a
prepared cohort always comes from the same bytes.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Snapshot", "write_text_eeg", "write_participants", "write_provenance",
           "find_git_dir"]


def find_git_dir(mirror: str | Path, repo: str) -> Path:
    """The bare git directory of ``owner/name`` under a mirror root (or the path itself).

    Accepts the mirror root (``/work/.mirror``, holding ``owner+name/repo``), the
    snapshot's folder, or the bare git directory itself.
    """
    mirror = Path(mirror)
    for cand in (mirror / repo.replace("/", "+") / "repo", mirror / "repo", mirror):
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand
        if (cand / ".git").is_dir():
            return cand / ".git"
    sys.exit(f"{mirror}: no git snapshot of {repo} found (expected "
             f"{mirror / repo.replace('/', '+') / 'repo'}; clone https://github.com/{repo} "
             "and pass its folder)")


class Snapshot:
    """Files of one repository at one commit."""

    def __init__(self, git_dir: str | Path, repo: str, commit: str):
        self.git_dir, self.repo, self.commit = Path(git_dir), repo, commit
        self._git("cat-file", "-e", f"{commit}^{{commit}}")

    def _git(self, *args: str) -> bytes:
        out = subprocess.run(["git", "--git-dir", str(self.git_dir), *args],
                             capture_output=True)
        if out.returncode:
            sys.exit(f"{self.git_dir}: git {' '.join(args[:2])} failed: "
                     f"{out.stderr.decode(errors='replace').strip().splitlines()[0]} "
                     f"(is commit {self.commit} of {self.repo} in this snapshot?)")
        return out.stdout

    def list(self, folder: str) -> list[str]:
        """Paths of the files under ``folder`` at the commit, sorted."""
        out = self._git("ls-tree", "-r", "--name-only", self.commit, "--", folder)
        return sorted(out.decode().split())

    def read(self, path: str) -> bytes:
        """The file's bytes; FileNotFoundError when its blob is absent (large files often are)."""
        out = subprocess.run(["git", "--git-dir", str(self.git_dir), "show",
                              f"{self.commit}:{path}"], capture_output=True)
        if out.returncode:
            raise FileNotFoundError(f"{path} is absent from the snapshot")
        return out.stdout

    def read_csv(self, path: str, **kwargs) -> pd.DataFrame:
        return pd.read_csv(io.BytesIO(self.read(path)), encoding="utf-8-sig", **kwargs)

    def record(self) -> dict:
        return {"repository": f"https://github.com/{self.repo}", "commit": self.commit}


def write_text_eeg(folder: Path, stem: str, data: np.ndarray, names: list[str], types: list[str],
                   sfreq: float, task: str, unit: str = "uV") -> Path:
    """Write ``<stem>_eeg.csv`` + ``_eeg.json`` + ``_channels.tsv`` (BIDS-style) in ``folder``.

    ``data`` is ``(n_samples, n_channels)`` in ``unit``; returns the CSV path.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_eeg.csv"
    pd.DataFrame(data, columns=names).to_csv(path, index=False, float_format="%.6g")
    meta = {"TaskName": task, "SamplingFrequency": float(sfreq),
            "EEGChannelCount": sum(t == "EEG" for t in types),
            "EOGChannelCount": sum(t == "EOG" for t in types),
            "EMGChannelCount": sum(t == "EMG" for t in types),
            "MiscChannelCount": sum(t == "MISC" for t in types),
            "RecordingDuration": round(data.shape[0] / sfreq, 3), "EEGReference": "n/a",
            "PowerLineFrequency": "n/a", "SoftwareFilters": "n/a"}
    (folder / f"{stem}_eeg.json").write_text(json.dumps(meta, indent=1) + "\n")
    pd.DataFrame({"name": names, "type": types, "units": unit}).to_csv(
        folder / f"{stem}_channels.tsv", sep="\t", index=False)
    return path


def write_participants(out: Path, rows: list[dict], name: str, description: str) -> None:
    """``participants.tsv`` (participant_id, group, path, ...) and ``dataset_description.json``."""
    out.mkdir(parents=True, exist_ok=True)
    cols = list(rows[0])
    with open(out / "participants.tsv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, cols, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    (out / "dataset_description.json").write_text(json.dumps(
        {"Name": name, "BIDSVersion": "1.8.0", "DatasetType": "derivative",
         "GeneratedBy": [{"Name": "neurodx validation/prepare scripts"}],
         "HowToAcknowledge": description}, indent=1) + "\n")


def write_provenance(out: Path, record: dict) -> None:
    """``provenance.json``: snapshot, counts, data-quality notes and what was done about them."""
    (out / "provenance.json").write_text(json.dumps(record, indent=1, default=float) + "\n")
