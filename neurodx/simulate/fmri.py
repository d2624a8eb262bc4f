"""Synthetic resting-state fMRI cohorts, written as 4-D NIfTI through nibabel.

THE DATA MADE HERE ARE SYNTHETIC. Every cohort carries a ``README.md`` saying so,
a ``simulation.json`` with all parameters (and each subject's drawn values), and
``synthetic = yes`` in ``participants.tsv``.

Signal model (per subject; arbitrary scanner units, brain baseline ~800).
Geometry is given in fractions of the field of view (FOV), so small test grids
keep the same layout; for the default 64 x 64 x 31 grid of 3.75 x 3.75 x 4 mm
voxels the FOV is 240 x 240 x 124 mm.

* **anatomy**: an ellipsoid brain, semi-axes (0.29, 0.36, 0.45) x FOV (about
  70 x 86 x 56 mm), each scaled by N(1, 0.04) per subject, centre jittered by
  N(0, 2 mm); edges blurred (partial volume). The baseline image is
  800 x (1 + 0.12 x a smooth random field). Outside the brain: magnitude noise
  |N(0, ``background_noise`` x 800)| (0 gives a background of zeros, as in
  brain-masked preprocessed outputs).
* **noise**: spatially smooth (Gaussian, sigma 0.8 voxel) AR(1) noise in time,
  rho ~ U(0.2, 0.5), standard deviation ``noise`` x baseline with ``noise``
  scaled by U(0.8, 1.2) per subject (tSNR about 50-80 at the default 0.015, typical of
  3-4 mm voxels). Larger voxels have less thermal noise, but physiological noise caps
  tSNR near 100-150 (Triantafyllou et al. 2005, NeuroImage 26:243), so the 10 mm
  sample cohort uses ``noise=0.008`` (tSNR 125).
* **drift**: per voxel, a linear trend and three slow cosines (periods at least
  2/3 of the run), spatially smooth coefficients of sd 0.5 % of baseline.
* **global signal**: one 1/f fluctuation shared by all brain voxels, 0.3 %.
* **networks**: ``n_networks`` resting-state-like components, each a pair of
  mirrored Gaussian blobs (bilateral) with a band-limited (0.01-0.1 Hz) time
  course, amplitude 0.6 % of baseline.
* **fronto-striatal network** (four nodes): two striatum-like soft ellipsoids,
  semi-axes (0.03, 0.045, 0.065) x FOV (about 7 x 11 x 8 mm), centred at
  x = +-0.10, y = +0.03, z = +0.04 FOV from the brain centre (about +-24, +7, +5 mm),
  and two medial prefrontal / anterior cingulate ellipsoids, semi-axes
  (0.05, 0.05, 0.07) x FOV, centred at x = +-0.06, y = +0.24, z = +0.08 FOV (about
  +-14, +58, +10 mm); each node jittered N(0, 2 mm) per subject. Node ``i`` carries
  ``a (sqrt(k) s(t) + sqrt(1 - k) e_i(t))``: ``s`` is one band-limited (0.01-0.1 Hz,
  unit variance) signal shared by the four nodes, ``e_i`` the node's own, ``k`` the
  within-network coupling (``coupling``, 0.7 by default, in the reference group) and
  ``a = striatal_amplitude x baseline x LogNormal(0, 0.25)`` per subject.
* **white-matter hyperintensities** (static): ``Poisson(lesion_rate)`` small
  hyperintense foci (Gaussian, sigma 5 mm, +15 % of the local baseline) in the deep
  white matter (relative radius 0.25-0.65 of the brain ellipsoid, away from the
  network nodes), present in every frame.
* **group effects** (documented, the only differences between groups; every group
  after the first, the reference, e.g. HC, carries both):

  - *functional*: the within-network coupling is reduced to
    ``k x (1 - 0.5 x effect_size)`` (0.7 -> 0.35 with the default ``effect_size=1``);
    the nodes' amplitudes are unchanged, so only their correlations differ. Reduced
    connectivity within subcortical and fronto-striatal / executive circuits is
    reported in abstinent methamphetamine users (Li et al. 2023, Math. Biosci. Eng.,
    doi:10.3934/mbe.2023867, decreased FC within the subcortical network; Gong et al.
    2022, Int. J. Gen. Med. 15:6073, doi:10.2147/IJGM.S369571, default-mode and
    executive network impairments; Kohno et al. 2014, JAMA Psychiatry 71:812,
    altered mesocorticolimbic connectivity). The effect spans a network of four regions (six region pairs),
    not one pair, which is what an eigenvalue (RMT) or tangent-space route on
    region series can find: the network's leading correlation eigenvalue drops.
  - *structural*: the white-matter hyperintensity rate is multiplied by
    ``1 + 2 x effect_size`` (1 -> 3 foci on average), after the higher prevalence
    of white-matter hyperintensities in methamphetamine users (Bae et al. 2006,
    Drug Alcohol Depend. 81:83). This is the effect that is visible in single frames,
    in the slices the foci fall in; both groups have foci (1 vs 3 on average), so a
    single slice says little about its subject's group. On the 10-mm sample grid a
    slice CNN trained on subject labels does not learn it (README, "What the demo
    shows").

  ``effect_size=0`` draws all groups from one distribution (a null cohort). The
  magnitudes are the simulator's choices of the reported directions, not values
  fitted to any study.

  *Node amplitude and grid*: at the study's 3.75 mm grid a striatal node spans about
  20 voxels and its region average keeps little voxel noise, so the default node
  amplitude is 0.8 % of baseline. The 10-mm sample grid holds a striatal node in
  3 voxels and a prefrontal one in 9 (the atlas counts), so the region average keeps
  about 2.5x more noise; the sample therefore sets ``striatal_amplitude=0.015``
  (1.5 % of baseline), still within the order of resting-state fluctuation
  amplitudes (percent amplitude of fluctuation of about 1 % of the mean signal in
  grey matter: Jia et al. 2020, PLoS ONE 15:e0227021). At 0.8 % the sample's
  node correlations overlapped between groups (0.35 vs 0.27 on average) and
  neither route family beat chance on 16 subjects. Measured on ``sample_data/fmri``
  (24 x 24 x 12 voxels of 10 mm, 90 frames, 8 subjects per group; atlas series
  detrended, high-passed at 0.01 Hz, z-scored): mean correlation between the four
  nodes 0.49 in HC (range 0.33-0.58) vs 0.29 in MA (0.20-0.36); white-matter foci
  per run 1.0 in HC vs 4.4 in MA. The command and the routes' results are in
  ``sample_data/README.md``.
* **ground-truth atlas** (``atlas.nii.gz`` beside the runs, one per cohort, in the
  runs' space; :func:`ground_truth_atlas`): labels 1-2 are the nominal left and right
  striatum, 3-4 the left and right medial prefrontal nodes (no per-subject jitter),
  labels 5-12 the eight octants of the nominal brain ellipsoid around its centre,
  network nodes excluded. It lets the region routes run without downloading an atlas.

Files are int16 with ``scl_slope = quantum`` (stored integer x quantum = value):
``quantum`` above 1 makes smaller files at a rounding error (sd quantum/sqrt(12))
far below the noise.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import ndimage

from .._json import dumps
from ..errors import ConfigError

__all__ = ["simulate_fmri_run", "simulate_fmri_cohort", "ground_truth_atlas", "BASELINE",
           "STRIATUM", "PREFRONTAL", "ATLAS_LABELS", "group_factors"]

#: Names of the ground-truth atlas labels (1-based, 0 = background).
ATLAS_LABELS = ("striatum_left", "striatum_right", "prefrontal_left", "prefrontal_right") + tuple(
    f"octant_{x}{y}{z}" for x in "LR" for y in "PA" for z in "IS")

#: Mean brain intensity (scanner units).
BASELINE = 800.0
#: Striatum-like region: centre offsets and semi-axes, in fractions of the FOV.
STRIATUM = {"centre_x": 0.10, "centre_y": 0.03, "centre_z": 0.04,
            "semi_axes": (0.03, 0.045, 0.065)}
#: Medial prefrontal / anterior cingulate nodes of the fronto-striatal network (same units).
PREFRONTAL = {"centre_x": 0.06, "centre_y": 0.24, "centre_z": 0.08,
              "semi_axes": (0.05, 0.05, 0.07)}
_NODES = (STRIATUM, PREFRONTAL)
_BRAIN_SEMI_AXES = (0.29, 0.36, 0.45)
_LESION_SIGMA_MM = 5.0
_LESION_CONTRAST = 0.15


def group_factors(effect_size: float, reference: bool) -> dict:
    """The documented group effect: coupling and lesion-rate factors of one group."""
    if reference:
        return {"coupling_factor": 1.0, "lesion_factor": 1.0}
    return {"coupling_factor": max(0.0, 1.0 - 0.5 * effect_size),
            "lesion_factor": 1.0 + 2.0 * effect_size}


def _node_centres(fov, centre=None):
    """(left, right) centres (mm) of the striatum and prefrontal nodes, and semi-axes."""
    centre = np.zeros(3) if centre is None else np.asarray(centre, dtype=float)
    out = []
    for node in _NODES:
        base = centre + np.array([0.0, node["centre_y"] * fov[1], node["centre_z"] * fov[2]])
        out += [base + np.array([side * node["centre_x"] * fov[0], 0, 0]) for side in (-1, 1)]
    return out, [np.asarray(node["semi_axes"]) * fov for node in _NODES for _ in (0, 1)]
_NOISE_SIGMA_VOX = 0.8


def _band_limited(rng, n, tr, lo=0.01, hi=0.1):
    """Unit-variance noise keeping frequencies in [lo, hi] Hz (at least one bin)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, tr)
    keep = (freqs >= lo) & (freqs <= hi)
    if not keep[1:].any():  # very short runs: keep the lowest non-zero frequency
        keep[1:2] = True
    spec[~keep] = 0
    x = np.fft.irfft(spec, n=n)
    return x / (x.std() + 1e-12)


def _pink(rng, n):
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=float)
    f[0] = np.inf
    x = np.fft.irfft(spec / np.sqrt(f), n=n)
    return x / (x.std() + 1e-12)


def _smooth_field(rng, shape, sigma):
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return field / (field.std() + 1e-12)


def _ellipsoid(coords, centre, semi, edge):
    """Soft ellipsoid weight in [0, 1]: 1 inside, falling off over ``edge`` (relative radius)."""
    r = np.sqrt(sum(((c - c0) / s) ** 2 for c, c0, s in zip(coords, centre, semi)))
    return np.clip((1 + edge - r) / edge, 0.0, 1.0)


def _check_run(shape, frames, tr, voxel_size, quantum) -> tuple[int, int, int]:
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or min(shape) < 2:
        raise ConfigError(f"shape must be 3 sizes >= 2, got {shape}")
    if len(voxel_size) != 3 or min(voxel_size) <= 0:
        raise ConfigError(f"voxel_size must be 3 positive sizes (mm), got {tuple(voxel_size)}")
    if frames < 2:
        raise ConfigError(f"an fMRI run needs at least 2 frames, got {frames}")
    if tr <= 0 or quantum <= 0:
        raise ConfigError(f"tr and quantum must be positive, got tr={tr}, quantum={quantum}")
    return shape


def simulate_fmri_run(*, coupling_factor: float = 1.0, lesion_factor: float = 1.0,
                      shape: Sequence[int] = (64, 64, 31),
                      frames: int = 240, tr: float = 2.0,
                      voxel_size: Sequence[float] = (3.75, 3.75, 4.0),
                      noise: float = 0.015, striatal_amplitude: float = 0.008,
                      coupling: float = 0.7, lesion_rate: float = 1.0,
                      n_networks: int = 4, background_noise: float = 0.005,
                      quantum: float = 1.0, seed: int | np.random.SeedSequence = 0
                      ) -> tuple[nib.Nifti1Image, dict]:
    """Simulate one subject's resting-state run (synthetic; model in the module docstring).

    Parameters
    ----------
    coupling_factor, lesion_factor : float
        The group effect (:func:`group_factors`): multiply the fronto-striatal
        coupling and the white-matter hyperintensity rate (1 in the reference group).
    shape, frames, tr, voxel_size
        Grid (x, y, z), number of frames, repetition time (s), voxel size (mm).
    noise, striatal_amplitude, background_noise : float
        Fractions of the baseline intensity (``striatal_amplitude``: each
        fronto-striatal node's signal).
    coupling : float
        Fraction of each node's signal variance shared by the network, in [0, 1].
    lesion_rate : float
        Mean number of white-matter hyperintensities in the reference group.
    n_networks : int
        Bilateral resting-state-like components.
    quantum : float
        Intensity step of the stored int16 values (written as ``scl_slope``).
    seed : int | SeedSequence

    Returns
    -------
    img : nibabel.Nifti1Image
        int16 4-D image, RAS affine centred on the grid, TR in pixdim[4].
    truth : dict
        The values drawn for this subject (centres in mm, amplitudes...).
    """
    shape = _check_run(shape, frames, tr, voxel_size, quantum)
    rng = np.random.default_rng(seed)
    zooms = np.asarray(voxel_size, dtype=float)
    fov = np.asarray(shape) * zooms
    # World coordinates (mm) of voxel centres, grid centred on the origin.
    coords = [(np.arange(n) - (n - 1) / 2) * z for n, z in zip(shape, zooms)]
    grid = np.meshgrid(*coords, indexing="ij")

    centre = rng.normal(0, 2.0, 3)
    semi = np.asarray(_BRAIN_SEMI_AXES) * fov * rng.normal(1, 0.04, 3)
    brain = _ellipsoid(grid, centre, semi, edge=0.06).astype(np.float32)
    baseline = (BASELINE * (1 + 0.12 * _smooth_field(rng, shape, 3.0)) * brain
                ).astype(np.float32)

    t = np.arange(frames) * tr
    duration = frames * tr
    # Drift: linear + 3 slow cosines, smooth spatial coefficients.
    drift_t = np.stack([t / duration - 0.5] + [np.cos(np.pi * k * t / duration)
                                               for k in (1, 2, 3)])
    drift_maps = np.stack([0.005 * _smooth_field(rng, shape, 4.0) for _ in drift_t])
    global_t = 0.003 * _pink(rng, frames)

    network_maps, network_t = [], []
    for _ in range(n_networks):
        c = rng.uniform(-0.5, 0.5, 3) * semi
        width = rng.uniform(0.1, 0.2) * semi
        blob = sum(np.exp(-0.5 * sum(((g - cc) / w) ** 2 for g, cc, w in
                                     zip(grid, (sx * c[0], c[1], c[2]), width)))
                   for sx in (1, -1))
        network_maps.append(blob.astype(np.float32))
        network_t.append(0.006 * _band_limited(rng, frames, tr))

    nominal, semis = _node_centres(fov, centre)
    nodes, centres = [], []
    for c, node_semi in zip(nominal, semis):
        c = c + rng.normal(0, 2.0, 3)
        centres.append(c.round(2).tolist())
        nodes.append(_ellipsoid(grid, c, node_semi, edge=0.3).astype(np.float32))
    k = float(np.clip(coupling * coupling_factor, 0.0, 1.0))
    subject_amp = striatal_amplitude * float(rng.lognormal(0.0, 0.25))
    shared = _band_limited(rng, frames, tr)
    node_t = [subject_amp * (np.sqrt(k) * shared + np.sqrt(1 - k) * _band_limited(rng, frames, tr))
              for _ in nodes]

    # White-matter hyperintensities: static bright foci, deep white matter only. Their
    # own stream, so the lesion count leaves every other draw of the run unchanged.
    lesion_rng = np.random.default_rng(rng.integers(2 ** 63))
    n_lesions = int(lesion_rng.poisson(lesion_rate * lesion_factor))
    lesion_map = np.zeros(shape, np.float32)
    lesions = []
    near_node = np.maximum.reduce(nodes) > 0
    for _ in range(n_lesions):
        for _attempt in range(100):
            u = lesion_rng.normal(size=3)
            pos = centre + semi * u / np.linalg.norm(u) * lesion_rng.uniform(0.25, 0.65)
            idx = tuple(int(np.clip(round((p + (n - 1) / 2 * z) / z), 0, n - 1))
                        for p, n, z in zip(pos, shape, zooms))
            if not near_node[idx]:
                break
        lesions.append(pos.round(2).tolist())
        r2 = sum(((g - p) / _LESION_SIGMA_MM) ** 2 for g, p in zip(grid, pos))
        lesion_map += _LESION_CONTRAST * np.exp(-0.5 * r2).astype(np.float32)
    baseline = baseline * (1 + lesion_map)

    rho = float(rng.uniform(0.2, 0.5))
    sd = noise * float(rng.uniform(0.8, 1.2))
    # Gaussian smoothing shrinks white noise's sd; measure the factor to undo it.
    smooth_gain = 1.0 / ndimage.gaussian_filter(rng.standard_normal((32, 32, 32)),
                                                _NOISE_SIGMA_VOX, mode="wrap").std()
    out = np.empty(shape + (frames,), dtype=np.int16)
    e = np.zeros(shape, np.float32)
    info = np.iinfo(np.int16)
    outside = 1.0 - brain
    for t_i in range(frames):
        w = smooth_gain * ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32),
                                                  _NOISE_SIGMA_VOX, mode="wrap")
        e = w if t_i == 0 else rho * e + np.sqrt(1 - rho ** 2) * w
        rel = sd * e + global_t[t_i] + np.tensordot(drift_t[:, t_i], drift_maps, axes=1)
        for m, nt in zip(nodes, node_t):
            rel += nt[t_i] * m
        for m, nt in zip(network_maps, network_t):
            rel += nt[t_i] * m
        frame = baseline * (1 + rel)
        if background_noise > 0:  # magnitude (Rayleigh-like) noise where there is no brain
            frame += outside * np.abs(rng.normal(0, background_noise * BASELINE, shape))
        out[..., t_i] = np.clip(np.round(frame / quantum), info.min, info.max)

    affine = np.diag(list(zooms) + [1.0])
    affine[:3, 3] = -(np.asarray(shape) - 1) / 2 * zooms
    img = nib.Nifti1Image(out, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms(tuple(zooms) + (float(tr),))
    img.header.set_slope_inter(float(quantum), 0.0)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    img.header["descrip"] = b"SYNTHETIC neurodx fMRI"
    truth = {"brain_centre_mm": centre.round(2).tolist(), "brain_semi_axes_mm": semi.round(2).tolist(),
             "node_centres_mm": dict(zip(ATLAS_LABELS[:4], centres)),
             "node_amplitude": round(subject_amp, 6), "coupling": round(k, 4),
             "lesions_mm": lesions,
             "noise_sd": round(sd, 6), "ar1_rho": round(rho, 4)}
    return img, truth


def ground_truth_atlas(shape: Sequence[int] = (64, 64, 31),
                       voxel_size: Sequence[float] = (3.75, 3.75, 4.0)) -> nib.Nifti1Image:
    """Integer label image of the simulator's nominal anatomy (see the module docstring).

    Same grid and affine as :func:`simulate_fmri_run` with the same ``shape`` and
    ``voxel_size``; labels are :data:`ATLAS_LABELS` (1-based), 0 outside the brain.
    """
    shape = tuple(int(n) for n in shape)
    zooms = np.asarray(voxel_size, dtype=float)
    fov = np.asarray(shape) * zooms
    coords = [(np.arange(n) - (n - 1) / 2) * z for n, z in zip(shape, zooms)]
    grid = np.meshgrid(*coords, indexing="ij")
    brain = _ellipsoid(grid, np.zeros(3), np.asarray(_BRAIN_SEMI_AXES) * fov, edge=0.06) > 0.5
    labels = np.zeros(shape, np.int16)
    # octants: x (left/right), y (posterior/anterior), z (inferior/superior)
    octant = 3 + 4 * (grid[0] > 0) + 2 * (grid[1] > 0) + (grid[2] > 0)
    labels[brain] = octant[brain] + 2       # 5-12, after the four network nodes
    centres, semis = _node_centres(fov)
    for label, (c, node_semi) in enumerate(zip(centres, semis), start=1):
        labels[_ellipsoid(grid, c, node_semi, edge=0.3) > 0.5] = label
    affine = np.diag(list(zooms) + [1.0])
    affine[:3, 3] = -(np.asarray(shape) - 1) / 2 * zooms
    img = nib.Nifti1Image(labels, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    img.header["descrip"] = b"SYNTHETIC neurodx ground-truth atlas"
    return img


def _write_subject(out: Path, pid: str, group: str, factors: dict, params: dict,
                   seed_seq: np.random.SeedSequence) -> tuple[dict, dict]:
    anat_seed, run_seed = seed_seq.spawn(2)
    anat_rng = np.random.default_rng(anat_seed)
    img, truth = simulate_fmri_run(seed=run_seed, **factors, **params)
    rel = Path(pid) / "func" / f"{pid}_task-rest_bold.nii.gz"
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, out / rel)
    sidecar = {"RepetitionTime": params["tr"], "TaskName": "rest", "SyntheticData": True}
    (out / rel.parent / f"{pid}_task-rest_bold.json").write_text(dumps(sidecar, indent=2)
                                                                + "\n")
    row = {"participant_id": pid, "group": group, "age": int(anat_rng.integers(18, 50)),
           "sex": "MF"[int(anat_rng.integers(0, 2))], "synthetic": "yes", "path": rel.as_posix()}
    return row, {"group": group, **factors, **truth}


def simulate_fmri_cohort(out: str | Path, groups: Sequence[str] = ("HC", "MA"),
                         subjects_per_group: int = 10, *, shape: Sequence[int] = (64, 64, 31),
                         frames: int = 240, tr: float = 2.0,
                         voxel_size: Sequence[float] = (3.75, 3.75, 4.0), seed: int = 0,
                         effect_size: float = 1.0, noise: float = 0.015,
                         striatal_amplitude: float = 0.008, coupling: float = 0.7,
                         lesion_rate: float = 1.0, n_networks: int = 4,
                         background_noise: float = 0.005, quantum: float = 1.0,
                         n_jobs: int = 1) -> Path:
    """Write a synthetic fMRI cohort: 4-D NIfTI runs, ``participants.tsv``, README, parameters.

    Parameters
    ----------
    out : str | Path
        Cohort folder (created).
    groups : sequence of str
        Labels; the first is the reference group, the others carry the
        group effect (see the module docstring).
    subjects_per_group : int
    shape, frames, tr, voxel_size, noise, striatal_amplitude, coupling, lesion_rate,
    n_networks, background_noise, quantum
        See :func:`simulate_fmri_run`.
    seed : int
        Subjects are seeded independently from ``seed`` and their index, so the
        cohort is identical whatever ``n_jobs``; same seed, same files.
    effect_size : float
        Non-reference groups have the fronto-striatal coupling x ``(1 - 0.5 effect_size)``
        and the white-matter hyperintensity rate x ``(1 + 2 effect_size)``
        (:func:`group_factors`).
    n_jobs : int
        Subjects simulated in parallel (joblib).

    Returns
    -------
    Path
        The cohort folder. Runs are ``sub-<group><nn>/func/sub-..._task-rest_bold.nii.gz``
        with a BIDS JSON sidecar; ``participants.tsv`` lists them in a ``path`` column.
    """
    out = Path(out)
    groups = list(groups)
    if not groups or len(set(groups)) != len(groups):
        raise ConfigError(f"groups must be distinct labels, got {groups}")
    if subjects_per_group < 1:
        raise ConfigError(f"subjects_per_group must be >= 1, got {subjects_per_group}")
    if effect_size < 0:
        raise ConfigError(f"effect_size must be >= 0, got {effect_size}")
    if not 0 <= coupling <= 1 or lesion_rate < 0:
        raise ConfigError(f"coupling must be in [0, 1] and lesion_rate >= 0, got "
                          f"coupling={coupling}, lesion_rate={lesion_rate}")
    params = {"shape": [int(n) for n in shape], "frames": int(frames), "tr": float(tr),
              "voxel_size": [float(v) for v in voxel_size], "noise": noise,
              "striatal_amplitude": striatal_amplitude, "coupling": coupling,
              "lesion_rate": lesion_rate, "n_networks": n_networks,
              "background_noise": background_noise, "quantum": float(quantum)}
    _check_run(shape, frames, tr, voxel_size, quantum)
    out.mkdir(parents=True, exist_ok=True)
    children = np.random.SeedSequence(seed).spawn(len(groups) * subjects_per_group)
    jobs = []
    for gi, group in enumerate(groups):
        factors = group_factors(effect_size, reference=gi == 0)
        for i in range(subjects_per_group):
            jobs.append((f"sub-{group}{i + 1:02d}", group, factors,
                         children[gi * subjects_per_group + i]))
    results = Parallel(n_jobs=n_jobs)(delayed(_write_subject)(out, pid, g, f, params, ss)
                                      for pid, g, f, ss in jobs)
    pd.DataFrame([r for r, _ in results]).to_csv(out / "participants.tsv", sep="\t",
                                                 index=False)
    nib.save(ground_truth_atlas(params["shape"], params["voxel_size"]), out / "atlas.nii.gz")

    from .. import __version__
    meta = {"synthetic": True, "generator": "neurodx.simulate.simulate_fmri_cohort",
            "neurodx_version": __version__, "seed": seed, "groups": groups,
            "subjects_per_group": subjects_per_group, "effect_size": effect_size, **params,
            "reference_group": groups[0], "baseline": BASELINE, "striatum": STRIATUM,
            "prefrontal": PREFRONTAL,
            "group_effect": "every group after the reference group: fronto-striatal "
                            "coupling x (1 - 0.5 effect_size), white-matter "
                            "hyperintensity rate x (1 + 2 effect_size)",
            "atlas": {"file": "atlas.nii.gz",
                      "labels": {i + 1: name for i, name in enumerate(ATLAS_LABELS)}},
            "subjects": {pid: truth for (pid, *_), (_, truth) in zip(jobs, results)}}
    (out / "simulation.json").write_text(dumps(meta, indent=2) + "\n")
    shown = out.name if out.is_absolute() else out.as_posix()
    call = (f"simulate_fmri_cohort('{shown}', groups={tuple(groups)!r}, "
            f"subjects_per_group={subjects_per_group}, shape={tuple(params['shape'])!r}, "
            f"frames={frames}, tr={tr:g}, voxel_size={tuple(params['voxel_size'])!r}, "
            f"seed={seed}, effect_size={effect_size:g}, noise={noise:g}, "
            f"striatal_amplitude={striatal_amplitude:g}, coupling={coupling:g}, "
            f"lesion_rate={lesion_rate:g}, n_networks={n_networks}, "
            f"background_noise={background_noise:g}, quantum={quantum:g})")
    (out / "README.md").write_text(
        "# SYNTHETIC fMRI cohort\n\n"
        "Every run here was generated by neurodx's fMRI simulator; none comes from a person.\n\n"
        f"Groups: {', '.join(groups)} ({subjects_per_group} each); {frames} frames of "
        f"{'x'.join(map(str, params['shape']))} voxels, TR {tr:g} s, int16 NIfTI "
        f"(scl_slope {quantum:g}).\n\n"
        f"Group effects in {', '.join(groups[1:]) or '(no other group)'} relative to "
        f"{groups[0]}: the coupling within the four-node fronto-striatal network "
        f"(left/right striatum, left/right medial prefrontal) is "
        f"{coupling * group_factors(effect_size, False)['coupling_factor']:g} instead of "
        f"{coupling:g} (reduced functional connectivity), and white-matter "
        f"hyperintensities are {1 + 2 * effect_size:g} times as frequent "
        f"({lesion_rate * (1 + 2 * effect_size):g} instead of {lesion_rate:g} per run on "
        "average; static bright foci, present in both groups). The model and its sources are "
        "documented in `neurodx/simulate/fmri.py`; all parameters and each subject's drawn "
        "values are in `simulation.json`.\n\n"
        "`atlas.nii.gz` is the ground-truth label image in the runs' space (1-2: left and "
        "right striatum, 3-4: left and right medial prefrontal, 5-12: brain octants), for "
        "region time series without a download.\n\n"
        "Regenerate with (from the directory the cohort was written from):\n\n"
        f"    python -c \"from neurodx.simulate.fmri import simulate_fmri_cohort; {call}\"\n")
    return out
