"""Independent EEG peer: plain MNE + pyRiemann on the folds of a neurodx run.

Band covariances (MNE FIR band-pass, OAS covariance of the whole band-passed
recording), tangent space at the training subjects' Riemannian mean, logistic
regression -- the textbook pyRiemann recipe, written without neurodx's readers
or routes: text files and their BIDS sidecars are read with pandas and json.
Only the fold assignment (the run's ``predictions.csv``) and the scoring
functions come from neurodx, so the figures sit beside the routes' on the same
subjects and splits.

    python validation/peers/eeg_mne_pyriemann.py COHORT RUN_DIR [--config CONFIG]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import yaml
from pyriemann.estimation import Covariances
from pyriemann.tangentspace import TangentSpace
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _folds import folds_of_run, run_subjects, score_peer  # noqa: E402

NAME = "mne_pyriemann"
UNIT = {"uv": 1e-6, "µv": 1e-6, "mv": 1e-3, "v": 1.0, "nv": 1e-9}


def read_recording(path: Path) -> mne.io.RawArray:
    """One ``*_eeg.csv`` with its ``_eeg.json`` and ``_channels.tsv``: EEG channels only."""
    meta = json.loads(path.with_name(path.name[:-4] + ".json").read_text())
    chans = pd.read_csv(path.with_name(path.name[: -len("_eeg.csv")] + "_channels.tsv"), sep="\t")
    data = pd.read_csv(path).to_numpy(dtype=float).T
    keep = (chans["type"].str.upper() == "EEG").to_numpy()
    scale = chans["units"].str.lower().map(UNIT).to_numpy(dtype=float)
    info = mne.create_info(list(chans["name"][keep]), float(meta["SamplingFrequency"]), "eeg")
    return mne.io.RawArray(data[keep] * scale[keep, None], info, verbose="ERROR")


def subject_covariances(paths: list[Path], bands: dict, sfreq: float) -> np.ndarray:
    """``(n_bands, n_channels, n_channels)`` OAS covariances of one subject."""
    raws = [read_recording(p) for p in paths]
    for raw in raws:
        if raw.info["sfreq"] != sfreq:
            raw.resample(sfreq, verbose="ERROR")
    raw = mne.concatenate_raws(raws, verbose="ERROR") if len(raws) > 1 else raws[0]
    raw.set_eeg_reference("average", verbose="ERROR")
    covs = []
    for lo, hi in bands.values():
        band = raw.copy().filter(lo, min(hi, sfreq / 2 - 1), verbose="ERROR").get_data()
        covs.append(Covariances("oas").fit_transform(band[None])[0])
    return np.stack(covs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cohort", type=Path)
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--config", type=Path, default=Path(__file__).parents[2] / "configs" /
                    "hc_fes_chr_eeg.yaml", help="for the band edges only")
    ap.add_argument("--bootstrap", type=int, default=1000)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    bands = yaml.safe_load(args.config.read_text())["windows"]["bands"]
    subjects = run_subjects(args.run_dir, args.cohort)
    paths = {r.participant_id: [args.cohort / p for p in r.path.split(";")]
             for r in subjects.itertuples()}
    # The most common rate among the files, as neurodx and most pipelines would choose.
    rates = [json.loads(p.with_name(p.name[:-4] + ".json").read_text())["SamplingFrequency"]
             for ps in paths.values() for p in ps]
    sfreq = float(pd.Series(rates).mode().iloc[0])
    covs = {pid: subject_covariances(ps, bands, sfreq) for pid, ps in paths.items()}
    group = dict(zip(subjects["participant_id"], subjects["group"]))
    classes = sorted(set(group.values()))
    rows = []
    for repeat, fold, train, test in folds_of_run(args.run_dir, subjects["participant_id"]):
        feats = []
        for b in range(len(bands)):
            ts = TangentSpace(metric="riemann").fit(np.stack([covs[s][b] for s in train]))
            feats.append((ts.transform(np.stack([covs[s][b] for s in train])),
                          ts.transform(np.stack([covs[s][b] for s in test]))))
        x_train = np.hstack([f[0] for f in feats])
        x_test = np.hstack([f[1] for f in feats])
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        clf.fit(x_train, [group[s] for s in train])
        proba = clf.predict_proba(x_test)
        order = [list(clf.classes_).index(c) for c in classes]
        for sid, p in zip(test, proba[:, order]):
            rows.append({"participant_id": sid, "repeat": repeat, "fold": fold, "route": NAME,
                         "true": group[sid], "predicted": classes[int(np.argmax(p))],
                         **{f"proba_{c}": float(v) for c, v in zip(classes, p)}})
    m = score_peer(args.run_dir, pd.DataFrame(rows), NAME,
                   "plain MNE band-pass + pyRiemann OAS covariances -> tangent space -> "
                   "logistic regression", time.perf_counter() - start, n_boot=args.bootstrap)
    print(f"{NAME}: balanced accuracy {m['balanced_accuracy']:.3f} "
          f"[{m['ci']['balanced_accuracy'][0]:.3f}, {m['ci']['balanced_accuracy'][1]:.3f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
