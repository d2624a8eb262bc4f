"""Synthetic resting-state EEG cohorts, written as a BIDS-EEG dataset through mne-bids.

THE DATA MADE HERE ARE SYNTHETIC. Every cohort carries a ``README.md`` saying so,
a ``simulation.json`` with all parameters, ``synthetic = yes`` in
``participants.tsv``, and "SYNTHETIC" in the name of its
``dataset_description.json``. Recordings are EDF files written by
:func:`mne_bids.write_raw_bids` with their sidecars (``_eeg.json``,
``_channels.tsv``, ``_electrodes.tsv``, ``_coordsystem.json``, ``_scans.tsv``);
``participants.json`` describes the ``participants.tsv`` columns (``group`` is
the label :func:`neurodx.io.load_cohort` reads) and ``.bidsignore`` lists the
non-BIDS ``simulation.json``.

Signal model (per subject, in volts, at electrode positions of a standard 10-10
montage on a 9.5 cm head sphere):

* **background**: independent 1/f^beta noise per channel (beta ~ U(0.8, 1.3)),
  mixed by a Gaussian kernel over inter-electrode distance (width 2 cm) to mimic
  volume conduction, scaled to ~10 uV RMS; plus 0.5 uV white sensor noise.
* **coherent sources**: for each band, ``n`` sources, each a band-limited noise
  signal (slowly amplitude-modulated) projected through a Gaussian scalp pattern
  (width 3-6 cm) centred near the band's typical region (delta/theta frontal,
  alpha posterior, beta central, gamma anywhere). Each source adds one coherent
  direction to the window correlation matrices, i.e. a spike in their spectrum.
* **group effect**: a group has a *severity* s in [0, 1] (HC 0, CHR 0.5, FES 1;
  other labels spread evenly by position). The number and amplitude of sources per
  band move from :data:`HEALTHY_SOURCES` by ``s * effect_size * PATIENT_SHIFT``:
  more and stronger slow-wave (delta/theta) and gamma sources, fewer and weaker
  alpha sources, in the direction reported for schizophrenia-spectrum EEG. Source
  counts are drawn per subject (fractional counts become a Bernoulli extra
  source), amplitudes vary log-normally (sd 0.3), source positions and alpha peak
  frequency vary per subject: groups overlap, so classification is not trivial.
  ``effect_size=0`` gives groups drawn from the same distribution (a null cohort).
* **site effect**: a per-site amplifier gain (+-10 %) and 50 Hz line noise.

Fake patient names and birthdates are written into the EDF headers, to prove
later that they never reach neurodx outputs.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import mne
import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from .._atomic import atomic_write_text
from .._json import dumps
from ..errors import ConfigError

__all__ = ["simulate_eeg_raw", "simulate_eeg_cohort", "group_severity", "HEALTHY_SOURCES",
           "PATIENT_SHIFT", "SOURCE_BANDS"]

#: Band limits (Hz) of the simulated coherent sources.
SOURCE_BANDS = {"delta": (1.5, 3.5), "theta": (4.5, 7.5), "alpha": (8.5, 12.5),
                "beta": (14.0, 28.0), "low_gamma": (31.0, 44.0)}
#: Healthy profile per band: (number of sources, source amplitude in uV).
HEALTHY_SOURCES = {"delta": (1.0, 4.0), "theta": (1.0, 3.0), "alpha": (3.0, 9.0),
                   "beta": (2.0, 3.0), "low_gamma": (1.0, 1.0)}
#: Change at severity 1 and effect_size 1: (extra sources, extra amplitude in uV).
PATIENT_SHIFT = {"delta": (1.0, 2.0), "theta": (1.5, 2.5), "alpha": (-1.0, -3.0),
                 "beta": (0.0, 0.0), "low_gamma": (1.0, 0.8)}
# Where each band's sources sit: a point on the head (m) around which they scatter.
_SOURCE_CENTRES = {"delta": (0.0, 0.06, 0.06), "theta": (0.0, 0.05, 0.08),
                   "alpha": (0.0, -0.08, 0.04), "beta": (0.0, 0.0, 0.095), "low_gamma": None}
_KNOWN_SEVERITY = {"HC": 0.0, "CHR": 0.5, "FES": 1.0}
_FIRST = ["Alex", "Maria", "Jonas", "Li", "Fatima", "Pedro", "Anna", "Kofi", "Yuki", "Sara"]
_LAST = ["Smith", "Garcia", "Novak", "Chen", "Haddad", "Silva", "Berg", "Mensah", "Sato", "Rossi"]


def group_severity(groups: Sequence[str]) -> dict[str, float]:
    """Severity of each group: HC 0, CHR 0.5, FES 1; other labels evenly by position."""
    groups = list(groups)
    if all(g in _KNOWN_SEVERITY for g in groups):
        return {g: _KNOWN_SEVERITY[g] for g in groups}
    n = len(groups)
    return {g: (i / (n - 1) if n > 1 else 0.0) for i, g in enumerate(groups)}


def _montage(n_channels: int) -> mne.channels.DigMontage:
    name = f"biosemi{n_channels}"
    if name not in mne.channels.get_builtin_montages():
        raise ConfigError(f"no standard montage with {n_channels} channels; choose one of "
                          "16, 32, 64, 128, 160, 256")
    return mne.channels.make_standard_montage(name)


def _band_noise(rng, n_times, sfreq, lo, hi, n):
    """``n`` unit-variance band-limited noise signals (FFT mask), slowly amplitude-modulated."""
    spec = np.fft.rfft(rng.standard_normal((n, n_times)), axis=1)
    freqs = np.fft.rfftfreq(n_times, 1 / sfreq)
    spec[:, (freqs < lo) | (freqs > hi)] = 0
    sig = np.fft.irfft(spec, n=n_times, axis=1)
    sig /= sig.std(axis=1, keepdims=True) + 1e-30
    # Waxing and waning at ~0.1-0.5 Hz, as real rhythms do.
    t = np.arange(n_times) / sfreq
    mod = 1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5, (n, 1)) * t
                           + rng.uniform(0, 2 * np.pi, (n, 1)))
    return sig * mod


def _pink_noise(rng, n_ch, n_times, sfreq):
    beta = rng.uniform(0.8, 1.3)
    spec = np.fft.rfft(rng.standard_normal((n_ch, n_times)), axis=1)
    freqs = np.fft.rfftfreq(n_times, 1 / sfreq)
    scale = np.zeros_like(freqs)
    scale[1:] = freqs[1:] ** (-beta / 2)
    x = np.fft.irfft(spec * scale, n=n_times, axis=1)
    return x / x.std(axis=1, keepdims=True)


def simulate_eeg_raw(group: str = "HC", *, severity: float | None = None, n_channels: int = 64,
                     sfreq: float = 1000.0, duration: float = 300.0, effect_size: float = 1.0,
                     site_index: int = 0, n_sites: int = 1, seed: int | np.random.SeedSequence = 0
                     ) -> mne.io.RawArray:
    """Simulate one subject's resting EEG (synthetic; see the module docstring).

    Parameters
    ----------
    group : str
        Label; sets the severity through :func:`group_severity` unless given.
    severity : float, optional
        Position between healthy (0) and the full patient profile (1).
    n_channels : int
        16, 32, 64, 128, 160 or 256 (BioSemi 10-10 layouts).
    sfreq, duration : float
        Sampling rate (Hz) and length (s).
    effect_size : float
        Scales the group differences; 0 gives a null cohort.
    site_index, n_sites : int
        Site of the subject, for the site gain and line noise.
    seed : int | SeedSequence
    """
    rng = np.random.default_rng(seed)
    if severity is None:
        severity = group_severity([group]).get(group, 0.0) if group in _KNOWN_SEVERITY else 0.0
    if sfreq / 2 <= SOURCE_BANDS["low_gamma"][1]:
        raise ConfigError(f"sfreq {sfreq:g} Hz is too low: the simulated bands reach "
                          f"{SOURCE_BANDS['low_gamma'][1]:g} Hz (need sfreq > 90 Hz)")
    n_times = int(round(duration * sfreq))
    montage = _montage(n_channels)
    names = montage.ch_names
    pos = np.array([montage.get_positions()["ch_pos"][n] for n in names])
    dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)

    mixing = np.exp(-dist ** 2 / (2 * 0.02 ** 2))
    mixing /= np.linalg.norm(mixing, axis=1, keepdims=True)
    data = 10e-6 * (mixing @ _pink_noise(rng, n_channels, n_times, sfreq))
    data += 0.5e-6 * rng.standard_normal((n_channels, n_times))

    for band, (lo, hi) in SOURCE_BANDS.items():
        base_n, base_amp = HEALTHY_SOURCES[band]
        d_n, d_amp = PATIENT_SHIFT[band]
        mean_n = max(0.0, base_n + severity * effect_size * d_n)
        n_src = int(mean_n) + int(rng.random() < mean_n - int(mean_n))
        amp = max(0.0, base_amp + severity * effect_size * d_amp)
        if n_src == 0 or amp == 0:
            continue
        if band == "alpha":  # individual alpha peak frequency
            peak = rng.normal(10.0, 0.8)
            lo, hi = peak - 1.5, peak + 1.5
        signals = _band_noise(rng, n_times, sfreq, lo, hi, n_src)
        centre = _SOURCE_CENTRES[band]
        for k in range(n_src):
            if centre is None:
                c = pos[rng.integers(n_channels)]
            else:
                c = np.asarray(centre) + rng.normal(0, 0.02, 3)
            width = rng.uniform(0.03, 0.06)
            pattern = np.exp(-np.linalg.norm(pos - c, axis=1) ** 2 / (2 * width ** 2))
            gain = amp * 1e-6 * rng.lognormal(0.0, 0.3)
            data += gain * pattern[:, None] * signals[k][None, :]

    if n_sites > 1:
        data *= 1 + 0.1 * (2 * site_index / (n_sites - 1) - 1)
    line = 0.5e-6 * (1 + site_index)
    data += line * np.sin(2 * np.pi * 50.0 * np.arange(n_times) / sfreq + rng.uniform(0, 6.3))

    info = mne.create_info(names, sfreq, "eeg")
    raw = mne.io.RawArray(data, info, verbose="ERROR")
    raw.set_montage(montage, verbose="ERROR")
    return raw


def _write_subject(out: Path, pid: str, group: str, severity: float, site_index: int,
                   n_sites: int, params: dict, seed_seq: np.random.SeedSequence) -> dict:
    rng = np.random.default_rng(seed_seq.spawn(1)[0])
    raw = simulate_eeg_raw(group, severity=severity, n_channels=params["channels"],
                           sfreq=params["sfreq"], duration=params["duration"],
                           effect_size=params["effect_size"], site_index=site_index,
                           n_sites=n_sites, seed=seed_seq)
    # Fixed, seed-derived header fields keep files byte-identical for a given seed.
    raw.set_meas_date(dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
                      + dt.timedelta(days=int(rng.integers(0, 1000))))
    raw.info["subject_info"] = {
        "his_id": pid, "sex": int(rng.integers(1, 3)),
        "first_name": str(rng.choice(_FIRST)), "last_name": str(rng.choice(_LAST)),
        "birthday": dt.date(1960, 1, 1) + dt.timedelta(days=int(rng.integers(0, 16000))),
    }
    raw.info["line_freq"] = 50.0          # the simulated line noise (BIDS PowerLineFrequency)
    _write_bids_subject(out, pid, raw)
    rel = Path(pid) / "eeg" / f"{pid}_task-rest_eeg.edf"
    return {"participant_id": pid, "group": group,
            "site": f"site{site_index + 1}" if n_sites > 1 else "site1",
            "age": int(rng.integers(16, 45)), "sex": "MF"[raw.info["subject_info"]["sex"] - 1],
            "synthetic": "yes", "path": rel.as_posix()}


def _write_bids_subject(out: Path, pid: str, raw: mne.io.BaseRaw) -> None:
    """Write one subject's ``sub-<label>/`` folder into ``out`` through mne-bids.

    mne-bids also updates the root's ``participants.tsv`` and
    ``dataset_description.json`` for each subject; written in parallel, those
    would race. Each subject is therefore written into a private BIDS root and
    its folder moved into place; the cohort-level files are written once, at the end.
    """
    import mne_bids

    tmp_root = Path(tempfile.mkdtemp(prefix=f".{pid}-", dir=out))
    try:
        bids_path = mne_bids.BIDSPath(subject=pid.removeprefix("sub-"), task="rest",
                                      datatype="eeg", root=tmp_root)
        mne_bids.write_raw_bids(raw, bids_path, format="EDF", allow_preload=True,
                                overwrite=True, verbose="ERROR")
        if (out / pid).exists():
            shutil.rmtree(out / pid)
        os.replace(tmp_root / pid, out / pid)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


#: ``participants.json``: what each ``participants.tsv`` column means (BIDS).
PARTICIPANTS_SIDECAR = {
    "participant_id": {"Description": "Subject identifier (SYNTHETIC subject)"},
    "group": {"Description": "Diagnostic group, the label neurodx classifies; SYNTHETIC: "
                             "sets the simulated group effect (see simulation.json)"},
    "site": {"Description": "Recording site; SYNTHETIC: sets the amplifier gain and line "
                            "noise amplitude"},
    "age": {"Description": "Age of the participant (SYNTHETIC, drawn at random)",
            "Units": "year"},
    "sex": {"Description": "Sex of the participant (SYNTHETIC, drawn at random)",
            "Levels": {"M": "male", "F": "female"}},
    "synthetic": {"Description": "Whether the recording was simulated",
                  "Levels": {"yes": "SYNTHETIC: generated by neurodx simulate eeg"}},
    "path": {"Description": "The subject's recording, relative to the dataset root "
                            "(read by neurodx cohorts)"},
}


def _bidsignore(out: Path, patterns: Sequence[str]) -> None:
    """Add ``patterns`` to ``out/.bidsignore``, keeping the lines already there."""
    path = out / ".bidsignore"
    lines = path.read_text().splitlines() if path.is_file() else []
    lines += [p for p in patterns if p not in lines]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _write_bids_root(out: Path, rows: list[dict], meta: dict) -> None:
    import mne_bids

    from .. import __version__

    groups = ", ".join(meta["groups"])
    mne_bids.make_dataset_description(
        path=out, name=f"SYNTHETIC resting-state EEG cohort ({groups})", dataset_type="raw",
        data_license="CC0",
        authors=["neurodx simulate eeg (SYNTHETIC data: no person was recorded)"],
        generated_by=[{"Name": "neurodx", "Version": __version__,
                       "Description": "neurodx simulate eeg: SYNTHETIC recordings; parameters "
                                      "in simulation.json"}],
        overwrite=True, verbose="ERROR")
    atomic_write_text(out / "participants.tsv",
                      pd.DataFrame(rows).to_csv(sep="\t", index=False, lineterminator="\n"))
    atomic_write_text(out / "participants.json", dumps(PARTICIPANTS_SIDECAR, indent=4) + "\n")
    _bidsignore(out, ["simulation.json"])


def simulate_eeg_cohort(out: str | Path, groups: Sequence[str] = ("HC", "FES", "CHR"),
                        subjects_per_group: int = 10, *, channels: int = 64,
                        sfreq: float = 1000.0, duration: float = 300.0, seed: int = 0,
                        sites: int = 1, effect_size: float = 1.0, n_jobs: int = 1) -> Path:
    """Write a synthetic EEG cohort as a BIDS dataset: EDF files with their sidecars,
    ``participants.tsv``/``.json``, ``dataset_description.json``, README and parameters.

    Group labels become part of the BIDS subject labels (``sub-<group><nn>``), so
    they must be letters and digits.

    Subjects are seeded independently from ``seed`` (and their index), so the
    cohort is identical whatever ``n_jobs``. Returns the cohort folder.
    """
    out = Path(out)
    groups = list(groups)
    if len(set(groups)) != len(groups) or not groups:
        raise ConfigError(f"groups must be distinct labels, got {groups}")
    odd = [g for g in groups if not str(g).isalnum() or not str(g).isascii()]
    if odd:
        raise ConfigError(f"group labels become BIDS subject labels and must be letters and "
                          f"digits only, got {', '.join(map(repr, odd))}")
    if subjects_per_group < 1:
        raise ConfigError(f"subjects_per_group must be >= 1, got {subjects_per_group}")
    if sites < 1:
        raise ConfigError(f"sites must be >= 1, got {sites}")
    _montage(channels)  # fail early on an unsupported channel count
    out.mkdir(parents=True, exist_ok=True)
    severity = group_severity(groups)
    params = {"channels": channels, "sfreq": sfreq, "duration": duration,
              "effect_size": effect_size}
    children = np.random.SeedSequence(seed).spawn(len(groups) * subjects_per_group)
    jobs = []
    for gi, group in enumerate(groups):
        for i in range(subjects_per_group):
            k = gi * subjects_per_group + i
            pid = f"sub-{group}{i + 1:02d}"
            jobs.append((pid, group, severity[group], i % sites, children[k]))
    rows = Parallel(n_jobs=n_jobs)(
        delayed(_write_subject)(out, pid, g, s, site, sites, params, ss)
        for pid, g, s, site, ss in jobs)
    from .. import __version__
    meta = {"synthetic": True, "generator": "neurodx.simulate.simulate_eeg_cohort",
            "neurodx_version": __version__, "seed": seed, "groups": groups,
            "subjects_per_group": subjects_per_group, "sites": sites, **params,
            "group_severity": severity, "healthy_sources": HEALTHY_SOURCES,
            "patient_shift": PATIENT_SHIFT, "source_bands": SOURCE_BANDS}
    (out / "simulation.json").write_text(dumps(meta, indent=2) + "\n")
    _write_bids_root(out, rows, meta)
    (out / "README.md").write_text(
        "# SYNTHETIC EEG cohort\n\n"
        "Every recording here was generated by `neurodx simulate eeg`; none comes from a "
        "person. Patient names and birthdates in the EDF headers are fake (planted to test "
        "that neurodx never outputs them).\n\n"
        "The folder is a BIDS-EEG dataset written with mne-bids (`dataset_description.json`, "
        "`participants.json`, and per recording `_eeg.json`, `_channels.tsv`, "
        "`_electrodes.tsv`); `.bidsignore` lists the files BIDS does not describe.\n\n"
        f"Regenerate with:\n\n    neurodx simulate eeg --out {out.name} --groups {' '.join(groups)} "
        f"--subjects-per-group {subjects_per_group} --channels {channels} --sfreq {sfreq:g} "
        f"--duration {duration:g} --sites {sites} --effect-size {effect_size:g} --seed {seed}\n\n"
        "The signal model and group effects are documented in `neurodx/simulate/eeg.py`; "
        "all parameters are in `simulation.json`.\n")
    return out
