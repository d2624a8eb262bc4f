"""LES and RMT-tangent variants against the pyRiemann tangent-space baseline (issue 16).

Research script, not part of the package: it loads the real cohorts prepared by
``validation/prepare_*.py`` (delimited-text EEG + BIDS sidecars) directly with pandas,
cuts every band once per subject, and cross-validates each variant on the *same*
subject-level folds (repeated stratified 5-fold, fixed seed, one set of folds per
cohort). Everything learnt from data (LES reference ratio and null, scaler,
tangent-space reference mean, classifier) is fitted inside the training folds;
what is computed once per subject (band signals, window spectra, pooled matrices)
uses that subject alone and no label.

Run (about a minute per cohort on one core)::

    PYTHONPATH=. python validation/research/les_variants.py \
        --data /path/to/validation/.data --cohorts adhd schizophrenia

Writes ``validation/research/results/<cohort>.json`` and regenerates
``validation/research/README.md`` from every JSON found there.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pyriemann.estimation import Covariances
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from neurodx.preprocessing import band_windows
from neurodx.rmt import (BandTangentSpace, LinearEigenvalueStatistics, SubjectAggregator,
                         WindowSpectra, effective_sample_size, make_classifier)
from neurodx.rmt.covariances import clean_correlation
from neurodx.rmt.les_tangent import LESTangentFeatures, SubjectBands, measured_pooling
from neurodx.rmt.relative_spectra import ClassRelativeSpectra
from neurodx.rmt.spectral_density import (SpectralDensity, pool_window_scatter,
                                          pooled_window_count)
from neurodx.rmt.spectra import window_eigenvalues

HERE = Path(__file__).resolve().parent
BANDS = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0),
         "low_gamma": (30.0, 45.0)}
SEED = 0
N_SPLITS, N_REPEATS, N_BOOT = 5, 5, 2000
C_MAX = 0.5           # bound on N / T_eff for the "theory-fit" windows
BLOCK = 2.0           # seconds; pooled windows are made of consecutive 2-s blocks


# --------------------------------------------------------------------------- data
def _read_recording(root: Path, rel: str):
    csv = root / rel
    side = json.loads(csv.with_name(csv.name.replace("_eeg.csv", "_eeg.json")).read_text())
    chans = pd.read_csv(csv.with_name(csv.name.replace("_eeg.csv", "_channels.tsv")), sep="\t")
    eeg = chans.loc[chans["type"].str.upper() == "EEG", "name"].tolist()
    data = pd.read_csv(csv, usecols=eeg)[eeg].to_numpy(np.float64).T
    return eeg, data, float(side["SamplingFrequency"])


def load_cohort(root: Path):
    """Subjects as lists of average-referenced band signals ``{band: [segments]}``."""
    parts = pd.read_csv(root / "participants.tsv", sep="\t")
    ids, labels, subjects, channels, sfreq = [], [], [], None, None
    for _, row in parts.iterrows():
        segs = {b: [] for b in BANDS}
        for rel in str(row["path"]).split(";"):
            names, data, fs = _read_recording(root, rel)
            if channels is None:
                channels, sfreq = names, fs
            if fs != sfreq or sorted(names) != sorted(channels):
                raise SystemExit(f"{rel}: rate {fs} / channels differ from the first file")
            data = data[[names.index(c) for c in channels]]
            data -= data.mean(axis=0, keepdims=True)          # average reference
            for band, w in band_windows(data, BANDS, sfreq=fs, window=data.shape[1] / fs,
                                        overlap=0.0, dtype=np.float64):
                segs[band].append(w[0])
        ids.append(row["participant_id"])
        labels.append(row["group"])
        subjects.append(segs)
    y = np.array(labels)
    return ids, y, subjects, channels, sfreq


def _cut(segments, n_win, step):
    out = [np.lib.stride_tricks.sliding_window_view(s, n_win, axis=1)[:, ::step].transpose(1, 0, 2)
           for s in segments if s.shape[1] >= n_win]
    return np.concatenate(out) if out else np.empty((0, segments[0].shape[0], n_win))


# ----------------------------------------------------------------- per-subject inputs
def spectra_shipped(sub, sfreq, kind="correlation"):
    """The shipped LES input: 2-s windows, 50 % overlap, spectral T_eff."""
    n_win = int(round(2.0 * sfreq))
    eigs, sig, neff = [], [], []
    for band in BANDS:
        w = _cut(sub[band], n_win, n_win // 2)
        e, s2, _ = window_eigenvalues(w, kind, dtype=np.float64, return_info=True)
        eigs.append(e), sig.append(s2), neff.append(effective_sample_size(w))
    return WindowSpectra(np.stack(eigs), np.stack(sig), tuple(BANDS), n_win, np.array(neff), kind)


def spectra_pooled(sub, sfreq, n_ch, kind="correlation"):
    """Theory-fit input: consecutive 2-s blocks pooled until N / T_eff <= C_MAX.

    The number of blocks per band comes from the nominal band width
    (:func:`pooled_window_count`), the same for every subject; the T_eff that is
    stored (and reported) is the measured one, blocks x spectral T_eff of a block.
    Bands have different numbers of pooled windows; the shortest count is kept for
    all so that ``WindowSpectra`` stays rectangular.
    """
    n_blk = int(round(BLOCK * sfreq))
    per_band, neff, counts = [], [], []
    for band, (lo, hi) in BANDS.items():
        blocks = _cut(sub[band], n_blk, n_blk)
        k = pooled_window_count(n_ch, hi - lo, BLOCK, c_max=C_MAX)
        mats, s2 = pool_window_scatter(blocks, k, kind)
        per_band.append((np.linalg.eigvalsh(mats), s2))
        neff.append(k * effective_sample_size(blocks))
        counts.append(k)
    n_min = min(e.shape[0] for e, _ in per_band)
    eig = np.stack([e[:n_min] for e, _ in per_band])
    sig = np.stack([s[:n_min] for _, s in per_band])
    return WindowSpectra(eig, sig, tuple(BANDS), n_blk, np.array(neff), kind), counts


def band_blocks(sub, sfreq):
    """Every 2-s block's demeaned scatter matrix per band and the block T_eff: the input
    of measured pooling (the fitted step chooses the blocks per window from the
    training subjects' T_eff)."""
    n_blk = int(round(BLOCK * sfreq))
    scat, t_blk = [], []
    for band in BANDS:
        blocks = _cut(sub[band], n_blk, n_blk)
        x = blocks - blocks.mean(axis=-1, keepdims=True)
        scat.append(x @ x.transpose(0, 2, 1))
        t_blk.append(effective_sample_size(blocks))
    return np.stack(scat), np.array(t_blk), n_blk


def subject_covariance(sub):
    """One covariance per band of the whole band signal (all segments, one demeaning per
    segment): the subject-level covariance."""
    out = []
    for band in BANDS:
        segs = [s - s.mean(axis=1, keepdims=True) for s in sub[band]]
        n = sum(s.shape[1] for s in segs)
        out.append(sum(s @ s.T for s in segs) / (n - len(segs)))
    return np.stack(out)


def band_covariance_windows(sub, sfreq, window=2.0):
    """Pooled 2-s-window covariance per band (per-window demeaning), as RMTCovariances."""
    n_win = int(round(window * sfreq))
    out, t_tot = [], []
    for band in BANDS:
        w = _cut(sub[band], n_win, n_win)
        x = w - w.mean(axis=-1, keepdims=True)
        out.append(np.einsum("wct,wdt->cd", x, x) / (w.shape[0] * (n_win - 1)))
        t_tot.append(effective_sample_size(w) * w.shape[0])
    return np.stack(out), np.array(t_tot)


def oas_covariances(sub, sfreq, window=2.0):
    """The shipped baseline input: mean of pyRiemann OAS covariances of 2-s windows."""
    n_win = int(round(window * sfreq))
    return np.stack([Covariances("oas").transform(
        np.ascontiguousarray(_cut(sub[b], n_win, n_win))).mean(axis=0) for b in BANDS])


def cleaned(cov, t_tot, method):
    """RMT-cleaned correlation per band, rescaled by the sample variances."""
    out = []
    for C, t in zip(cov, t_tot):
        sd = np.sqrt(np.diag(C))
        R = C / np.outer(sd, sd)
        np.fill_diagonal(R, 1.0)
        Rc = clean_correlation(R, t, method)
        out.append(Rc * np.outer(sd, sd))
    return np.stack(out)


# --------------------------------------------------------------- small fold steps
class Column(TransformerMixin, BaseEstimator):
    """Pick one entry of each subject's dict (stateless)."""

    def __init__(self, key=None):
        self.key = key

    def fit(self, X, y=None):
        self.n_subjects_ = len(X)
        return self

    def transform(self, X):
        first = X[0][self.key]
        return list(x[self.key] for x in X) if isinstance(first, (WindowSpectra, SubjectBands)) \
            else np.stack([x[self.key] for x in X])


class Concat(TransformerMixin, BaseEstimator):
    """Fit several (key, pipeline) feature makers and concatenate their outputs."""

    def __init__(self, parts=()):
        self.parts = parts

    def fit(self, X, y=None):
        self.fitted_ = [clone(p).fit(X, y) for p in self.parts]
        return self

    def transform(self, X):
        return np.hstack([np.asarray(p.transform(X)).reshape(len(X), -1) for p in self.fitted_])


class Flatten(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        self.n_subjects_ = len(X)
        return self

    def transform(self, X):
        return np.asarray(X).reshape(len(X), -1)


class RelativeSpectrumStats(TransformerMixin, BaseEstimator):
    """Test functions of the spectrum of each band covariance *relative to each class mean*.

    Fitted per fold: the Riemannian mean ``M_k`` of the training subjects of class ``k``
    per band; for a subject's ``C``, the eigenvalues of ``M_k^-1/2 C M_k^-1/2`` (invariant
    to rotations of channel space *around M_k*, so spatial layout enters through the
    reference) feed the test functions mean log, mean log^2 (squared Riemannian distance
    / N), mean lambda, mean 1/lambda, min and max log lambda.
    """

    def fit(self, X, y):
        from pyriemann.geometry.mean import gmean
        X = np.asarray(X)
        self.classes_ = np.unique(y)
        self.isqrt_ = []
        for k in self.classes_:
            per_band = []
            for b in range(X.shape[1]):
                w, v = np.linalg.eigh(gmean(X[np.asarray(y) == k, b], metric="riemann"))
                per_band.append((v / np.sqrt(w)) @ v.T)
            self.isqrt_.append(per_band)
        return self

    def transform(self, X):
        X = np.asarray(X)
        feats = []
        for per_band in self.isqrt_:
            for b, W in enumerate(per_band):
                lam = np.linalg.eigvalsh(W @ X[:, b] @ W)
                ll = np.log(lam)
                feats += [ll.mean(1), (ll ** 2).mean(1), lam.mean(1), (1 / lam).mean(1),
                          ll.min(1), ll.max(1)]
        return np.stack(feats, axis=1)


class RelativeHistogram(RelativeSpectrumStats):
    """(j) plus a learned test function on the relative spectra: the fraction of log
    relative eigenvalues in 8 fixed bins on [-2, 2] (outer bins open), per band and class."""

    def transform(self, X):
        X = np.asarray(X)
        stats = super().transform(X)
        edges = np.linspace(-2, 2, 9)[1:-1]
        feats = []
        for per_band in self.isqrt_:
            for b, W in enumerate(per_band):
                ll = np.log(np.linalg.eigvalsh(W @ X[:, b] @ W))
                idx = np.searchsorted(edges, ll)
                feats.append(np.stack([np.mean(idx == k, axis=1) for k in range(8)], axis=1))
        return np.hstack([stats] + feats)


class RelativeDistances(ClassRelativeSpectra):
    """The landed ``ClassRelativeSpectra`` with the bank restricted to ``mean_log`` and
    ``mean_log2`` (log-determinant ratio and squared Riemannian distance / N to each
    class mean): 20 features instead of 60, for cohorts of ~20 training subjects."""

    def transform(self, X):
        f = super().transform(X)
        return f.reshape(len(f), -1, 6)[:, :, :2].reshape(len(f), -1)


def les_steps(key, stats=("mean", "sd", "median", "iqr")):
    return Pipeline([("col", Column(key)),
                     ("les", LinearEigenvalueStatistics(standardize=True, random_state=SEED)),
                     ("agg", SubjectAggregator(stats=stats))])


def tangent_steps(key):
    return Pipeline([("col", Column(key)), ("ts", BandTangentSpace(metric="riemann"))])


def density_steps(key, basis="histogram"):
    return Pipeline([("col", Column(key)),
                     ("density", SpectralDensity(basis=basis))])


def logvar_steps(key):
    return Pipeline([("col", Column(key)), ("flat", Flatten())])


def head(features):
    return Pipeline([("features", features), ("scale", StandardScaler()),
                     ("clf", make_classifier("logreg", SEED))])


# ------------------------------------------------------------------ evaluation
def cross_validate(pipe, X, y, folds):
    """Out-of-fold predictions per repeat: array (n_repeats, n_subjects)."""
    pred = np.empty((N_REPEATS, len(y)), dtype=object)
    for i, (tr, te) in enumerate(folds):
        model = clone(pipe).fit([X[j] for j in tr], y[tr])
        pred[i // N_SPLITS, te] = model.predict([X[j] for j in te])
    return pred


def _ba_from_correct(correct, y, idx):
    classes = np.unique(y)
    return float(np.mean([correct[idx][y[idx] == c].mean() for c in classes]))


def summarise(pred, base_pred, y, rng_seed=SEED):
    """Balanced accuracy (mean over repeats), subject-bootstrap CI, paired test."""
    ba = np.array([balanced_accuracy_score(y, p.astype(str)) for p in pred])
    correct = (pred == y[None]).mean(axis=0)           # per subject, over repeats
    base_correct = (base_pred == y[None]).mean(axis=0)
    rng = np.random.default_rng(rng_seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    boots, diffs = [], []
    all_idx = np.arange(len(y))
    for _ in range(N_BOOT):
        idx = np.concatenate([rng.choice(g, size=len(g)) for g in groups])   # stratified
        b = _ba_from_correct(correct, y, idx)
        boots.append(b)
        diffs.append(b - _ba_from_correct(base_correct, y, idx))
    boots, diffs = np.array(boots), np.array(diffs)
    d_obs = _ba_from_correct(correct, y, all_idx) - _ba_from_correct(base_correct, y, all_idx)
    p = float(min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0)))) if d_obs else 1.0
    return {"balanced_accuracy": float(ba.mean()), "ba_per_repeat": ba.round(4).tolist(),
            "ci95": np.percentile(boots, [2.5, 97.5]).round(4).tolist(),
            "diff_vs_baseline": round(float(d_obs), 4),
            "diff_ci95": np.percentile(diffs, [2.5, 97.5]).round(4).tolist(),
            "paired_bootstrap_p": round(p, 4)}


VARIANTS = {
    "baseline_tangent_space": ("pyRiemann OAS covariance of 2-s windows per band -> tangent "
                               "space -> scaler -> logreg (the shipped `tangent_space`)",
                               lambda: head(Concat([tangent_steps("oas")]))),
    "a_les_shipped": ("published LES as shipped: correlation spectra of 2-s windows (50 % "
                      "overlap), default bank standardised by the MP null, subject "
                      "mean/sd/median/iqr", lambda: head(Concat([les_steps("spec_shipped")]))),
    "b_les_c_bound": (f"LES on pooled windows with c = N / T_eff <= {C_MAX} per band "
                      "(correlation)", lambda: head(Concat([les_steps("spec_pooled")]))),
    "c_les_cov_logvar": ("(b) on trace-normalised covariance + log variance of every "
                         "channel in every band", lambda: head(Concat([les_steps("spec_pooled_cov"),
                                                          logvar_steps("logvar")]))),
    "c2_les_corr_logvar": ("(b) correlation LES + log variance of every channel in every band",
                           lambda: head(Concat([les_steps("spec_pooled"),
                                                logvar_steps("logvar")]))),
    "d_density_hist": ("learned test function: binned density of MP-normalised correlation "
                       "eigenvalues (pooled windows), linear classifier",
                       lambda: head(Concat([density_steps("spec_pooled")]))),
    "d_density_cheb": ("learned test function: Chebyshev moments on the MP support "
                       "(pooled windows, correlation)",
                       lambda: head(Concat([density_steps("spec_pooled", "chebyshev")]))),
    "d2_density_hist_logvar": ("(d) histogram + log variance of every channel in every band",
                               lambda: head(Concat([density_steps("spec_pooled"),
                                                    logvar_steps("logvar")]))),
    "b2_les_c_bound_mean": ("(b) with the subject mean of each statistic only (50 features "
                            "instead of 200)",
                            lambda: head(Concat([les_steps("spec_pooled", ("mean",))]))),
    "g_logvar_only": ("log variance of every channel in every band alone (no "
                      "eigenvalues): what the channel powers give", lambda: head(Concat([logvar_steps("logvar")]))),
    "h_les_subject": ("LES of one subject-level correlation spectrum per band (all 2-s "
                      "windows pooled, c = N / T_eff of the whole recording)",
                      lambda: head(Concat([les_steps("spec_subject", ("mean",))]))),
    "h2_les_subject_logvar": ("(h) + log variance of every channel in every band",
                              lambda: head(Concat([les_steps("spec_subject", ("mean",)),
                                                   logvar_steps("logvar")]))),
    "j_relative_les": ("test functions of the spectra of each band's cleaned covariance "
                       "relative to each class's Riemannian mean (fitted per fold)",
                       lambda: head(Pipeline([("col", Column("rmt_nonlinear")),
                                              ("rel", RelativeSpectrumStats())]))),
    "j2_relative_les_logvar": ("(j) + log variance of every channel in every band",
                               lambda: head(Concat([Pipeline([("col", Column("rmt_nonlinear")),
                                                              ("rel", RelativeSpectrumStats())]),
                                                    logvar_steps("logvar")]))),
    "j3_relative_les_hist": ("(j) + learned test function: histogram of the log relative "
                             "eigenvalues (8 bins on [-2, 2]) per band and class",
                             lambda: head(Pipeline([("col", Column("rmt_nonlinear")),
                                                    ("rel", RelativeHistogram())]))),
    "j4_relative_les_oas": ("(j) on the baseline's OAS covariances instead of the "
                            "LW2020-cleaned ones", lambda: head(Pipeline([
                                ("col", Column("oas")), ("rel", RelativeSpectrumStats())]))),
    "k_rmt_les_relative_route": ("the landed `rmt_les_relative` step (neurodx.rmt."
                                 "ClassRelativeSpectra) on the same cleaned covariances as (j)",
                                 lambda: head(Pipeline([("col", Column("rmt_nonlinear")),
                                                        ("rel", ClassRelativeSpectra())]))),
    "e_les_logvar_rmt_tangent": ("(c2) + RMT-cleaned (LW2020) tangent features",
                                 lambda: head(Concat([les_steps("spec_pooled"),
                                                      logvar_steps("logvar"),
                                                      tangent_steps("rmt_nonlinear")]))),
    "i_rmt_les_tangent_route": ("the landed `rmt_les_tangent` features (neurodx.rmt."
                                "LESTangentFeatures: LES subject means on the pooled windows "
                                "of (b) + log channel variances + LW2020-cleaned tangent "
                                "space)", lambda: head(Pipeline([("col", Column("bands")),
                                                                 ("f", LESTangentFeatures())]))),
    "l_rmt_les_tangent_measured": ("(i) with each band's pooled blocks chosen in the fold from "
                                   "the training subjects' measured T_eff (neurodx.rmt."
                                   "LESTangentFeatures on BandSummaries(pooling='measured') "
                                   "blocks) instead of the nominal band width",
                                   lambda: head(Pipeline([("col", Column("blocks")),
                                                          ("f", LESTangentFeatures())]))),
    "m_relative_distances": ("(k) with the bank restricted to mean log and mean log^2 of the "
                             "relative spectrum (log-det ratio and squared Riemannian "
                             "distance / N to each class mean): 20 features, not 60",
                             lambda: head(Pipeline([("col", Column("rmt_nonlinear")),
                                                    ("rel", RelativeDistances())]))),
    "n_relative_subject_cov": ("(k) on the subject-level covariance of each band (the whole "
                               "band signal, one demeaning per segment, LW2020-cleaned at "
                               "its total T_eff) instead of the mean of 2-s windows",
                               lambda: head(Pipeline([("col", Column("subject_nonlinear")),
                                                      ("rel", ClassRelativeSpectra())]))),
}
for _m, _desc in {
                  "clip": "MP eigenvalue clipping",
                  "nonlinear": "Ledoit-Wolf 2020 analytic nonlinear shrinkage (Frobenius loss, "
                               "the shipped `rmt_tangent`)",
                  "lis": "linear-inverse shrinkage (Stein loss, Ledoit-Wolf 2022)",
                  "qis": "quadratic-inverse shrinkage (Frobenius / inverse-Stein loss, "
                         "Ledoit-Wolf 2022)",
                  "gis": "geometric-inverse shrinkage (symmetrised Kullback-Leibler loss, "
                         "Ledoit-Wolf 2022)"}.items():
    VARIANTS[f"f_rmt_tangent_{_m}"] = (
        f"pooled 2-s-window covariance per band, {_desc} -> tangent space -> logreg",
        (lambda m=_m: head(Concat([tangent_steps(f"rmt_{m}")]))))


def subject_inputs(sub, sfreq, n_ch):
    out = {"spec_shipped": spectra_shipped(sub, sfreq)}
    out["spec_pooled"], counts = spectra_pooled(sub, sfreq, n_ch)
    out["spec_pooled_cov"], _ = spectra_pooled(sub, sfreq, n_ch, kind="covariance")
    cov, t_tot = band_covariance_windows(sub, sfreq)
    out["logvar"] = np.log(np.diagonal(cov, axis1=-2, axis2=-1))
    sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    corr = cov / (sd[:, :, None] * sd[:, None, :])
    out["spec_subject"] = WindowSpectra(np.linalg.eigvalsh(corr)[:, None], np.ones((len(BANDS), 1)),
                                        tuple(BANDS), int(round(2.0 * sfreq)), t_tot)
    out["oas"] = oas_covariances(sub, sfreq)
    for m in ("clip", "nonlinear", "lis", "qis", "gis"):
        out[f"rmt_{m}"] = cleaned(cov, t_tot, m)
    out["bands"] = SubjectBands(out["spec_pooled"], out["logvar"], out["rmt_nonlinear"],
                                np.asarray(counts))
    scat, t_blk, n_blk = band_blocks(sub, sfreq)
    out["blocks"] = SubjectBands(None, out["logvar"], out["rmt_nonlinear"],
                                 np.zeros(len(BANDS), int), scat, t_blk, tuple(BANDS), n_blk)
    # cleaned at the same total T_eff as the windowed covariance (sum over 2-s windows)
    out["subject_nonlinear"] = cleaned(subject_covariance(sub), t_tot, "nonlinear")
    return out, counts


def run_cohort(root: Path, name: str, only=None):
    t0 = time.time()
    ids, y, subjects, channels, sfreq = load_cohort(root)
    n_ch = len(channels)
    X, counts = zip(*[subject_inputs(s, sfreq, n_ch) for s in subjects])
    X = list(X)
    folds = list(RepeatedStratifiedKFold(n_splits=N_SPLITS, n_repeats=N_REPEATS,
                                         random_state=SEED).split(np.zeros(len(y)), y))
    ratio_shipped = np.median([n_ch / x["spec_shipped"].n_eff for x in X], axis=0)
    ratio_pooled = np.median([n_ch / x["spec_pooled"].n_eff for x in X], axis=0)
    # descriptive (all subjects); the route chooses the same way on each training fold
    _, measured = measured_pooling([x["blocks"].block_t_eff for x in X],
                                   [x["blocks"].block_scatter.shape[1] for x in X], n_ch,
                                   C_MAX, tuple(BANDS))
    windows = {b: {"shipped_window_s": 2.0,
                   "shipped_c_median": round(float(ratio_shipped[i]), 3),
                   "pooled_blocks": int(counts[0][i]),
                   "pooled_window_s": BLOCK * counts[0][i],
                   "pooled_c_median": round(float(ratio_pooled[i]), 3),
                   "bound_reached": bool(ratio_pooled[i] <= C_MAX),
                   "pooled_windows_per_subject_min": int(min(x["spec_pooled"].n_windows
                                                             for x in X)),
                   "measured_blocks": measured[i]["blocks"],
                   "measured_c": round(measured[i]["c"], 3),
                   "measured_reached": measured[i]["bound_reached"]}
               for i, b in enumerate(BANDS)}
    preds, results = {}, {}
    names = [n for n in VARIANTS if only is None or n in only or n.startswith("baseline")]
    for vname in names:
        desc, make = VARIANTS[vname]
        t1 = time.time()
        preds[vname] = cross_validate(make(), X, y, folds)
        results[vname] = {"description": desc, **summarise(preds[vname],
                                                            preds["baseline_tangent_space"], y),
                          "seconds": round(time.time() - t1, 1)}
        print(f"{name:14s} {vname:28s} BA {results[vname]['balanced_accuracy']:.3f} "
              f"CI {results[vname]['ci95']} diff {results[vname]['diff_vs_baseline']:+.3f} "
              f"p {results[vname]['paired_bootstrap_p']:.3f}", flush=True)
    out = {"cohort": name, "n_subjects": len(y),
           "groups": {str(g): int(np.sum(y == g)) for g in np.unique(y)},
           "n_channels": n_ch, "sfreq": sfreq, "bands": BANDS,
           "folds": f"RepeatedStratifiedKFold(n_splits={N_SPLITS}, n_repeats={N_REPEATS}, "
                    f"random_state={SEED}), subject level",
           "c_max": C_MAX, "windows": windows, "variants": results,
           "seconds": round(time.time() - t0, 1)}
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / f"{name}.json"
    if only is not None and path.exists():       # partial run: update the listed variants
        old = json.loads(path.read_text())
        old["variants"].update(results)
        out["variants"] = {k: old["variants"][k] for k in VARIANTS if k in old["variants"]}
    path.write_text(json.dumps(out, indent=1))
    return out


# ------------------------------------------------------------------- write-up
def write_readme():
    res = [json.loads(p.read_text()) for p in sorted((HERE / "results").glob("*.json"))]
    lines = ["# LES route research (issue 16): variants vs the tangent-space baseline", "",
             "Generated by `validation/research/les_variants.py` from `results/*.json`; do not "
             "edit by hand. Subject-level balanced accuracy (mean over the repeats of "
             "repeated stratified 5-fold, the same folds for every variant of a cohort), "
             "95 % CI from a stratified subject bootstrap of the per-subject out-of-fold "
             "accuracy, and the paired bootstrap difference against the baseline "
             "(same resampled subjects; two-sided p). Negative results stay in.", ""]
    for r in res:
        lines += [f"## {r['cohort']}: {r['n_subjects']} subjects {r['groups']}, "
                  f"{r['n_channels']} channels, {r['sfreq']:g} Hz", "", f"Folds: {r['folds']}.",
                  "", "### What each band's LES measured: windows and MP ratio c = N / T_eff",
                  "", "| band | shipped window | shipped c (median) | pooled blocks x "
                  f"{BLOCK:g} s | pooled c (median) | c <= {r['c_max']} | pooled windows "
                  "per subject (min) | measured-T_eff blocks | measured-pooling c | "
                  f"c <= {r['c_max']} |", "|---|---|---|---|---|---|---|---|---|---|"]
        for b, w in r["windows"].items():
            lines.append(f"| {b} | {w['shipped_window_s']:g} s | {w['shipped_c_median']} | "
                         f"{w['pooled_blocks']} ({w['pooled_window_s']:g} s) | "
                         f"{w['pooled_c_median']} | {'yes' if w['bound_reached'] else 'NO'} | "
                         f"{w['pooled_windows_per_subject_min']} | "
                         f"{w.get('measured_blocks', '-')} | {w.get('measured_c', '-')} | "
                         + ({True: "yes", False: "NO"}.get(w.get("measured_reached"), "-"))
                         + " |")
        lines += ["", "### Variants", "", "| variant | balanced accuracy | 95 % CI | "
                  "diff vs baseline [95 % CI] | paired p | what |", "|---|---|---|---|---|---|"]
        for n, v in r["variants"].items():
            v["description"] = VARIANTS[n][0] if n in VARIANTS else v["description"]
            lines.append(f"| `{n}` | {v['balanced_accuracy']:.3f} | {v['ci95'][0]:.3f}-"
                         f"{v['ci95'][1]:.3f} | {v['diff_vs_baseline']:+.3f} "
                         f"[{v['diff_ci95'][0]:+.3f}, {v['diff_ci95'][1]:+.3f}] | "
                         f"{v['paired_bootstrap_p']:.3f} | {v['description']} |")
        lines.append("")
    notes = HERE / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text()]
    (HERE / "README.md").write_text("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="folder with one folder per cohort")
    ap.add_argument("--cohorts", nargs="+", default=["adhd", "schizophrenia"])
    ap.add_argument("--only", nargs="*", default=None, help="variant names (baseline always)")
    ap.add_argument("--readme-only", action="store_true")
    args = ap.parse_args()
    if not args.readme_only:
        for c in args.cohorts:
            run_cohort(args.data / c, c, args.only)
    write_readme()


if __name__ == "__main__":
    main()
