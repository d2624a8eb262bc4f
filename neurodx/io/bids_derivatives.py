"""Feature tables written as a BIDS derivatives dataset (``derivatives/neurodx/``).

Layout (BIDS derivatives, as MNE-BIDS-Pipeline writes under
``<bids_root>/derivatives/mne-bids-pipeline``)::

    OUT/derivatives/neurodx/
        dataset_description.json      DatasetType "derivative", GeneratedBy, SourceDatasets
        sub-<label>/<datatype>/sub-<label>[_task-<t>]_desc-rmtfeatures_features.tsv
        sub-<label>/<datatype>/sub-<label>[_task-<t>]_desc-rmtfeatures_features.json

Each TSV holds one row (the subject's features); its JSON sidecar describes every
column (band, frequency range, test function or channel pair, statistic, units),
the source recordings (BIDS URIs) and the MP reference of the LES features. Only
subject IDs reach these files: no header field of a recording is read here.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from .._atomic import atomic_write_text
from .._json import dumps
from ..errors import ConfigError

__all__ = ["write_feature_derivatives", "feature_columns_sidecar", "DERIVATIVES_NAME"]

#: Folder under ``derivatives/`` and ``GeneratedBy`` name.
DERIVATIVES_NAME = "neurodx"
_DESC = "rmtfeatures"
_ID_COLUMNS = ("participant_id", "group", "site")
_STATS = {"mean": "mean over windows", "sd": "standard deviation over windows",
          "median": "median over windows", "iqr": "interquartile range over windows"}


# The BIDS datatype folder of each modality's features (region series come from fMRI).
_DATATYPE = {"eeg": "eeg", "regions": "func", "volume": "func"}

def _band_of(column: str, bands: Mapping) -> str | None:
    # longest first: "low_gamma" before a band called "gamma"
    return next((b for b in sorted(bands, key=len, reverse=True) if column.startswith(b + "_")),
                None)


def feature_columns_sidecar(columns: Sequence[str], bands: Mapping, *, standardized: bool
                            ) -> dict:
    """BIDS column descriptions of :func:`neurodx.features.extract_features` columns."""
    out = {}
    for col in columns:
        band = _band_of(col, bands)
        rest = col[len(band) + 1:] if band else col
        edges = bands.get(band) if band else None
        entry = {"Band": band,
                 "FrequencyRange": list(edges) if edges else "unfiltered"}
        if rest.startswith("logcov_"):
            pair = rest[len("logcov_"):]
            entry.update(Description=f"Entry ({pair.replace('_', ', ', 1)}) of the matrix "
                                     f"logarithm of the {band} band's RMT-cleaned covariance "
                                     "(log-Euclidean feature; channel names joined by '_')",
                         Statistic="logcov", Units="n/a")
        else:
            function, _, stat = rest.rpartition("_")
            if stat not in _STATS:
                function, stat = rest, None
            entry.update(
                Description=f"Linear eigenvalue statistic '{function}' of the {band} band's "
                            "window correlation spectra"
                            + (f", {_STATS[stat]}" if stat else ""),
                TestFunction=function, Statistic=stat,
                Units=("standard deviations of the Marchenko-Pastur white-noise null"
                       if standardized else "arbitrary (test-function value on eigenvalues "
                                            "of the correlation matrix)"))
        out[col] = entry
    return out


def _entities(paths: Sequence[Path]) -> str:
    """``_ses-x_task-y`` shared by every recording of a subject (empty when none)."""
    parts = []
    for key in ("ses", "task"):
        found = {m.group(1) for p in paths
                 for m in [re.search(rf"_{key}-([A-Za-z0-9]+)", Path(p).name)] if m}
        if len(found) == 1:
            parts.append(f"_{key}-{found.pop()}")
    return "".join(parts)


def _bids_uri(cohort_root: Path, path: Path) -> str:
    rel = Path(os.path.relpath(path, cohort_root)).as_posix()
    return f"bids:raw:{rel}"


def write_feature_derivatives(table: pd.DataFrame, out: str | Path, cohort, *,
                              bands: Mapping, standardized: bool, reference: dict,
                              synthetic: bool = False) -> Path:
    """Write a feature table as ``OUT/derivatives/neurodx/`` (atomic writes per file).

    Parameters
    ----------
    table : DataFrame
        ``participant_id``, ``group``, ``site``, then feature columns (one row per subject).
    out : str | Path
        A BIDS root; usually the source dataset itself, as BIDS derivatives live
        under its ``derivatives/`` folder.
    cohort : neurodx.io.Cohort
        The source cohort: its root and each subject's recordings.
    bands : mapping
        ``{band: (low, high) or None}`` used for the features.
    standardized : bool
        Whether the LES features are in null standard deviations.
    reference : dict
        The MP reference of the LES features (:attr:`FeatureTable.reference`).
    synthetic : bool
        Mark the derivative dataset SYNTHETIC (its source is simulated).

    Returns
    -------
    Path
        The ``derivatives/neurodx`` folder.
    """
    from .. import __version__

    root = Path(out) / "derivatives" / DERIVATIVES_NAME
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root}: exists and is not a folder (choose another "
                          "--bids-derivatives root)")
    source = Path(cohort.root).resolve()
    inside = Path(out).resolve() == source
    link = "../../" if inside else source.as_uri()
    description = {
        "Name": ("SYNTHETIC " if synthetic else "") + "neurodx RMT features",
        "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": DERIVATIVES_NAME, "Version": __version__,
                         "Description": "neurodx features: linear eigenvalue statistics and "
                                        "RMT-cleaned covariance features per subject"}],
        "SourceDatasets": [{"URL": link}],
        "DatasetLinks": {"raw": link},
    }
    atomic_write_text(root / "dataset_description.json", dumps(description, indent=4) + "\n")
    features = [c for c in table.columns if c not in _ID_COLUMNS]
    columns = feature_columns_sidecar(features, bands, standardized=standardized)
    datatype = _DATATYPE[cohort.modality]
    for _, row in table.iterrows():
        pid = str(row["participant_id"])
        label = pid if pid.startswith("sub-") else f"sub-{pid}"
        paths = list(cohort.subject(pid).paths)
        stem = f"{label}{_entities(paths)}_desc-{_DESC}_features"
        folder = root / label / datatype
        tsv = pd.DataFrame([row[features].to_numpy()], columns=features).to_csv(
            sep="\t", index=False, float_format="%.9g", lineterminator="\n")
        atomic_write_text(folder / f"{stem}.tsv", tsv)
        sidecar = {"Description": "One row: this subject's RMT features (neurodx features)",
                   "Sources": [_bids_uri(source, p) for p in paths],
                   "MPReference": reference, **columns}
        atomic_write_text(folder / f"{stem}.json", dumps(sidecar, indent=2) + "\n")
    return root
