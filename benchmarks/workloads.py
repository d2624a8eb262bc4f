"""The three ways of turning one EEG recording (EDF) into RMT features that the
benchmarks compare, each timed phase by phase.

* :func:`neurodx_features` -- neurodx end to end, as ``neurodx compare`` runs the
  HC/FES/CHR study: ``load_eeg`` -> ``preprocess_raw`` (average reference, 1-45 Hz)
  -> one band pass (``shared_band_scatter``: window FFTs -> band scatter matrices, as
  ``compare`` and ``features`` share it) -> ``make_les_pipeline`` stateless steps
  (window spectra per band, LES bank, subject statistics) -> ``RMTCovariances``
  (nonlinear shrinkage per band) from the same band matrices.
* :func:`floor_features` -- the physical floor: read the EDF bytes and decode them
  (numpy), then one batched matrix product ``X @ X.T`` per window for every window
  of every band (same count and size of windows as neurodx, float32 as neurodx).
* :func:`peer_features` -- the peer stack doing the same job: MNE read, reference
  and filter, ``mne.make_fixed_length_epochs`` per band, pyRiemann ``Covariances``,
  ``numpy.linalg.eigvalsh`` of every window's correlation matrix, mean band covariance.

Run as a script (``python benchmarks/workloads.py VARIANT EDF``) it executes one
variant in this fresh process and reports times and memory to the benchmark that
started it (see ``common.run_child``).
"""
from __future__ import annotations

from functools import partial
import sys
import time

T_START = time.perf_counter()

from common import (BANDS, OVERLAP, SFREQ, WINDOW, child_result, peak_rss_mb,  # noqa: E402
                    rss_mb)

VARIANTS = ("neurodx", "neurodx_no_ring", "floor", "peer", "imports")


class Phases:
    """Wall time of consecutive named phases."""

    def __init__(self):
        self.times = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = self.times.get(name, 0.0) + now - self._t
        self._t = now

    @property
    def total(self) -> float:
        return sum(self.times.values())


def neurodx_features(path, *, bands=BANDS, window=WINDOW, overlap=OVERLAP,
                     ring_law: bool = True) -> dict:
    """neurodx end to end on one recording; returns phase times and output shapes.

    ``ring_law=False`` drops the ring-law entries (``msr_l1``, ``msr_l5``) from the
    published LES bank: what everything else costs (benchmark 1 states why).
    """
    from sklearn.base import clone

    from neurodx.io import EEGSpec, load_eeg, read_eeg
    from neurodx.preprocessing import preprocess_raw
    from neurodx.rmt import RMTCovariances, make_les_pipeline, shared_band_scatter
    from neurodx.rmt.bank import DEFAULT_TEST_FUNCTIONS

    bank = None if ring_law else [f for f in DEFAULT_TEST_FUNCTIONS if not f.startswith("msr_")]

    ph = Phases()
    names = read_eeg(path).ch_names       # header only, as the harness learns the channel set
    raw = load_eeg(path, EEGSpec(), names, SFREQ)
    ph.lap("read")
    pre = preprocess_raw(raw, reference="average", l_freq=1.0, h_freq=45.0, copy=False)
    del raw
    ph.lap("preprocess")
    steps = clone(make_les_pipeline(bands=bands, window=window, overlap=overlap,
                                    test_functions=bank)[:3])
    cov_step = RMTCovariances(method="nonlinear", kind="covariance", bands=bands,
                              window=window, overlap=overlap)
    # as compare and features do: one band pass of the recording shared by both steps
    shared, usable = shared_band_scatter(pre, [steps[0], cov_step])
    assert all(usable)
    del pre
    ph.lap("bands")
    spectra = steps[0].fit_transform([shared])
    ph.lap("spectra")
    les = steps[1].fit_transform(spectra)
    ph.lap("les")
    feats = steps[2].fit_transform(les)
    ph.lap("aggregate")
    covs = cov_step.fit_transform([shared])
    ph.lap("covariances")
    return {"phases": ph.times, "total_s": ph.total, "n_windows": int(spectra[0].n_windows),
            "n_bands": int(spectra[0].n_bands), "features": list(feats.shape),
            "covariances": list(covs.shape), "worker_peak_rss_mb": peak_rss_mb()}


_UNITS = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "\u00b5V": 1e-6, "nV": 1e-9}


def read_edf_numpy(path):
    """Decode an EDF file with numpy alone: ``(n_signals, n_times)`` float32 and sfreq.

    The floor's reader: header fields, one ``fromfile`` of the int16 records, one
    reshape and one scaling. EEG signals must share the record layout (as MNE
    writes them); an ``EDF Annotations`` signal is skipped.
    """
    import numpy as np

    with open(path, "rb") as f:
        head = f.read(256)
        n_header = int(head[184:192])
        n_records = int(head[236:244])
        record_s = float(head[244:252])
        ns = int(head[252:256])
        sig = f.read(256 * ns)

    def field(offset, width):
        start = offset * ns
        return [sig[start + i * width:start + (i + 1) * width].decode("latin-1").strip()
                for i in range(ns)]

    labels = field(0, 16)
    units = field(96, 8)
    pmin, pmax = (np.array(field(104 + 8 * k, 8), float) for k in range(2))
    dmin, dmax = (np.array(field(120 + 8 * k, 8), float) for k in range(2))
    spr = np.array(field(216, 8), int)
    eeg = [i for i, lab in enumerate(labels) if lab != "EDF Annotations"]
    if eeg != list(range(len(eeg))) or len(set(spr[eeg])) != 1:
        raise ValueError(f"{path}: the floor reader needs leading EEG signals of one rate")
    n_eeg, n_spr = len(eeg), int(spr[0])
    rec = np.fromfile(path, dtype="<i2", offset=n_header).reshape(n_records, int(spr.sum()))
    to_volts = np.array([_UNITS.get(u, 1.0) for u in units])
    pmin, pmax = pmin * to_volts, pmax * to_volts
    gain = ((pmax - pmin) / (dmax - dmin))[eeg].astype(np.float32)
    offset = (pmin[eeg] - gain * dmin[eeg]).astype(np.float32)
    data = rec[:, :n_eeg * n_spr].reshape(n_records, n_eeg, n_spr).transpose(1, 0, 2)
    data = data.reshape(n_eeg, n_records * n_spr).astype(np.float32)
    data *= gain[:, None]
    data += offset[:, None]
    return data, n_spr / record_s


def floor_features(path, *, bands=BANDS, window=WINDOW, overlap=OVERLAP) -> dict:
    """Read + one ``X @ X.T`` per window of every band (float32, BLAS)."""
    import numpy as np

    ph = Phases()
    data, sfreq = read_edf_numpy(path)
    ph.lap("read")
    n_win = int(round(window * sfreq))
    step = int(round(n_win * (1 - overlap)))
    windows = np.lib.stride_tricks.sliding_window_view(data, n_win, axis=1)[:, ::step]
    windows = windows.transpose(1, 0, 2)            # (n_windows, channels, samples), a view
    out = np.empty((len(bands), windows.shape[0], data.shape[0], data.shape[0]), np.float32)
    for b in range(len(bands)):
        np.matmul(windows, windows.transpose(0, 2, 1), out=out[b])
    ph.lap("products")
    return {"phases": ph.times, "total_s": ph.total, "n_windows": int(windows.shape[0]),
            "n_bands": len(bands), "products": list(out.shape)}


def peer_features(path, *, bands=BANDS, window=WINDOW, overlap=OVERLAP) -> dict:
    """MNE + pyRiemann + numpy: the same spectra and band covariances."""
    import mne
    import numpy as np
    from pyriemann.estimation import Covariances

    ph = Phases()
    raw = mne.io.read_raw_edf(path, preload=True, verbose="ERROR")
    ph.lap("read")
    raw.set_eeg_reference("average", projection=False, verbose="ERROR")
    raw.filter(1.0, 45.0, verbose="ERROR")
    ph.lap("preprocess")
    eigs, covs = [], []
    for lo, hi in bands.values():
        band = raw.copy().filter(lo, hi, verbose="ERROR")
        ph.lap("filter")
        epochs = mne.make_fixed_length_epochs(band, duration=window, overlap=window * overlap,
                                              preload=True, verbose="ERROR")
        x = epochs.get_data(copy=False)
        del band
        ph.lap("epochs")
        c = Covariances(estimator="scm").transform(x)
        del epochs, x
        ph.lap("covariances")
        inv_sd = 1.0 / np.sqrt(np.einsum("kii->ki", c))
        eigs.append(np.linalg.eigvalsh(c * inv_sd[:, :, None] * inv_sd[:, None, :]))
        covs.append(c.mean(axis=0))
        ph.lap("eigvalsh")
    return {"phases": ph.times, "total_s": ph.total, "n_windows": int(eigs[0].shape[0]),
            "n_bands": len(eigs), "covariances": [len(covs), *covs[0].shape]}


def _imports(variant):
    if variant in ("neurodx", "neurodx_no_ring"):
        import sklearn.base  # noqa: F401

        import neurodx.io  # noqa: F401
        import neurodx.preprocessing  # noqa: F401
        import neurodx.rmt  # noqa: F401
    elif variant in ("peer", "imports"):
        import mne  # noqa: F401
        import pyriemann.estimation  # noqa: F401
    if variant == "imports":
        import sklearn.base  # noqa: F401

        import neurodx.io  # noqa: F401
        import neurodx.rmt  # noqa: F401
    import numpy  # noqa: F401


def profile_top(func, path, top: int = 14) -> dict:
    """Run ``func(path)`` under cProfile; the top functions by own and by cumulative time."""
    import cProfile
    import os
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    result = func(path)
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = sum(v[2] for v in stats.values())

    def name(key):
        filename, line, fn = key
        parts = filename.replace(os.sep, "/").split("/")
        for anchor in ("site-packages", "neurodx", "benchmarks"):
            if anchor in parts:
                parts = parts[parts.index(anchor) + (anchor == "site-packages"):]
                break
        return f"{'/'.join(parts[-3:])}:{line}({fn})" if filename != "~" else fn

    rows = [{"function": name(k), "calls": v[1], "own_s": v[2], "cumulative_s": v[3]}
            for k, v in stats.items()]
    own = sorted(rows, key=lambda r: r["own_s"], reverse=True)[:top]
    ours = sorted((r for r in rows if r["function"].startswith(("neurodx/", "mne/filter"))),
                  key=lambda r: r["cumulative_s"], reverse=True)[:top]
    return {"profiled_total_s": total, "top_own_time": own, "top_cumulative_neurodx": ours,
            "work_s": result["total_s"], "phases": result["phases"]}


def main(argv):
    profile = "--profile" in argv
    argv = [a for a in argv if a != "--profile"]
    if len(argv) < 2 or argv[0] not in VARIANTS:
        raise SystemExit(f"usage: workloads.py {{{','.join(VARIANTS)}}} EDF [EDF...] "
                         f"[--profile]")
    variant, path, more = argv[0], argv[1], argv[2:]
    _imports(variant)
    import_s = time.perf_counter() - T_START
    rss_import = rss_mb()
    result = {"variant": variant, "import_s": import_s, "rss_after_import_mb": rss_import}
    if variant != "imports":
        func = {"neurodx": neurodx_features, "floor": floor_features, "peer": peer_features,
                "neurodx_no_ring": partial(neurodx_features, ring_law=False)}
        if profile:
            result.update(profile_top(func[variant], path))
        else:
            result.update(func[variant](path))
            # further recordings one after the other, as a script over a cohort would
            for other in more:
                res = func[variant](other)
                result["total_s"] += res["total_s"]
                for k, v in res["phases"].items():
                    result["phases"][k] = result["phases"].get(k, 0.0) + v
            result["n_recordings"] = 1 + len(more)
    child_result(result)


if __name__ == "__main__":
    main(sys.argv[1:])
