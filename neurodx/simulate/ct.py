"""Synthetic head CT cohorts (normal / infarct / hemorrhage) in Hounsfield units.

THE DATA MADE HERE ARE SYNTHETIC. Every cohort carries a ``README.md`` saying so,
a ``simulation.json`` with all parameters, ``synthetic = yes`` in
``participants.tsv``, ``lesions.tsv`` with each lesion's drawn values and
the slices it touches, and ``slices.tsv``, the slice labels derived from them
(:mod:`neurodx.io.slice_labels`). DICOM headers hold fake patient names, IDs and
birthdates, planted to test that neurodx never outputs them.

Phantom (per subject; coordinates in mm, DICOM LPS: +x patient left,
+y posterior, +z superior). Axial slices of ``slice_thickness`` mm (default 5)
are centred 15 mm above the head centre, +-5 mm per subject.

* **head**: an ellipsoid, semi-axes 74 x 92 x 85 mm each scaled by N(1, 0.05),
  centre jittered N(0, 4 mm) in-plane, rotated N(0, 4 deg) in-plane. From the
  outside in, by depth along the ray from the centre: skin (1.5 mm, 40 HU),
  subcutaneous fat (to 4 mm, -80 HU), skull of thickness N(6.5, 1) mm with
  dense tables (~1750 HU) around a diploe (~900 HU), x N(1, 0.08), subarachnoid
  CSF (1.5 + 3 x atrophy mm, 8 HU), a 3 mm cortical ribbon (grey matter
  N(38, 1.5) HU) around white matter (N(27, 1.5) HU). Atrophy ~ U(0, 1) per
  subject also widens the ventricles.
* **deep structures**: bilateral basal-ganglia ellipses (35 HU, lower slices),
  lateral ventricles (5 HU; size grows with atrophy), a falx (1 mm midline line,
  45-55 HU), and in about half the subjects of every group physiological
  calcifications (choroid plexus, pineal; 150-300 HU): bright spots that are
  not bleeds.
* **texture and noise**: a smooth random field (sd 2 HU) over the brain,
  partial-volume blur (Gaussian, 0.6 pixel), then correlated noise of sd
  U(3, 6) HU (Gaussian-filtered white noise, rescaled). Values are rounded and
  clipped to [-1024, 3071].

Lesions (the documented group differences; ``effect_size`` scales every
lesion's contrast against the tissue it replaces, 0 = invisible lesions, a
null cohort):

* **infarct** (hypodense wedge): a vascular territory (MCA 70 %: lateral;
  ACA 15 %: anterior paramedian; PCA 15 %: posterior paramedian) on a random
  side; a wedge of half-angle U(10, 28) deg from a depth of U(0.3, 0.6) of the
  brain radius out to the cortex, over U(5, 20) mm above and below a random
  height; target U(15, 22) HU, applied to brain parenchyma only.
* **hemorrhage** (hyperdense): intraparenchymal (75 %) - an ellipsoid with
  semi-axes U(4, 18) mm (x U(0.7, 1.3) per axis) anywhere in the parenchyma,
  U(60, 80) HU, with a 2-5 mm hypodense oedema rim (U(18, 24) HU); or subdural
  (25 %) - a crescent under the skull spanning U(30, 60) deg each side of a
  random direction, up to U(3, 12) mm thick, over U(15, 40) mm above and below a
  random height, U(60, 75) HU.

Lesion size, position and visibility vary, so some lesions touch a single slice
and some patients' lesions are subtle; nothing is tuned for a classifier.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from PIL import Image
from scipy import ndimage

from .._json import dumps
from ..errors import ConfigError
from ..io.dicom_writer import write_dicom_series
from ..preprocessing.intensity import CT_WINDOWS, to_uint8

__all__ = ["simulate_ct_volume", "simulate_ct_cohort", "DEFAULT_LESIONS", "CT_FORMATS"]

#: Lesion type of each default group label.
DEFAULT_LESIONS = {"normal": "none", "infarct": "infarct", "hemorrhage": "hemorrhage"}
CT_FORMATS = ("dicom", "nifti", "png")
_LESION_TYPES = ("none", "infarct", "hemorrhage")
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
_FIRST = ["Alex", "Maria", "Jonas", "Li", "Fatima", "Pedro", "Anna", "Kofi", "Yuki", "Sara"]
_LAST = ["Smith", "Garcia", "Novak", "Chen", "Haddad", "Silva", "Berg", "Mensah", "Sato", "Rossi"]


def _rot(x, y, angle):
    c, s = np.cos(angle), np.sin(angle)
    return c * x + s * y, -s * x + c * y


def _soft(inside_distance, width=1.0):
    """Soft step: 0 outside, 1 inside, linear over ``width`` mm."""
    return np.clip(inside_distance / width + 0.5, 0.0, 1.0)


def _blend(hu, weight, target, effect_size):
    """Move ``hu`` towards ``target`` by ``weight * effect_size`` (lesion contrast)."""
    return hu + np.clip(weight * effect_size, 0.0, None) * (target - hu)


def _geometry(shape, pixel_spacing, slice_thickness, z_centre):
    rows, cols, n = shape
    xs = (np.arange(cols) - (cols - 1) / 2) * pixel_spacing
    ys = (np.arange(rows) - (rows - 1) / 2) * pixel_spacing
    zs = z_centre + (np.arange(n) - (n - 1) / 2) * slice_thickness
    Y, X, Z = np.meshgrid(ys, xs, zs, indexing="ij")  # (rows, cols, n) like pixel_array
    return X, Y, Z, xs, ys, zs


def simulate_ct_volume(lesion: str = "none", *, shape: Sequence[int] = (256, 256, 12),
                       fov: float = 240.0, slice_thickness: float = 5.0,
                       effect_size: float = 1.0, subdural_fraction: float = 0.25,
                       seed: int | np.random.SeedSequence = 0
                       ) -> tuple[np.ndarray, np.ndarray, dict]:
    """Simulate one head CT (synthetic; model in the module docstring).

    Parameters
    ----------
    lesion : {"none", "infarct", "hemorrhage"}
    shape : (rows, columns, n_slices)
    fov : float
        Field of view across the columns, mm (pixel spacing = fov / columns).
    slice_thickness : float
        Slice thickness and spacing, mm.
    effect_size : float
        Lesion contrast scale (1 = documented values, 0 = invisible).
    subdural_fraction : float
        Probability that a hemorrhage is subdural rather than intraparenchymal.
    seed : int | SeedSequence

    Returns
    -------
    hu : ndarray (rows, columns, n_slices), int16
        Hounsfield units; ``hu[r, c, k]`` is as a DICOM ``pixel_array`` shows
        slice ``k`` (slice 0 lowest).
    positions : ndarray (n_slices, 3)
        ImagePositionPatient of each slice (LPS mm) for an axial series.
    truth : dict
        Drawn anatomy and lesion values, and ``lesion_slices`` (indices of the
        slices the lesion visibly touches).
    """
    if lesion not in _LESION_TYPES:
        raise ConfigError(f"lesion must be one of {', '.join(_LESION_TYPES)}, got {lesion!r}")
    shape = tuple(int(v) for v in shape)
    if len(shape) != 3 or min(shape[:2]) < 16 or shape[2] < 1:
        raise ConfigError(f"shape must be (rows >= 16, columns >= 16, slices >= 1), got {shape}")
    rng = np.random.default_rng(seed)
    spacing = fov / shape[1]
    z_centre = 15.0 + rng.uniform(-5, 5)
    X, Y, Z, xs, ys, zs = _geometry(shape, spacing, slice_thickness, z_centre)

    # -- head anatomy ----------------------------------------------------------------------
    a, b, c = np.array([74.0, 92.0, 85.0]) * rng.normal(1, 0.05, 3)
    cx, cy = rng.normal(0, 4, 2)
    angle = np.deg2rad(rng.normal(0, 4))
    atrophy = rng.uniform(0, 1)
    skull_t = max(3.5, rng.normal(6.5, 1.0))
    bone_scale = rng.normal(1, 0.08)
    gm, wm = rng.normal(38, 1.5), rng.normal(27, 1.5)
    u, v = _rot(X - cx, Y - cy, angle)          # head frame: u left-right, v antero-posterior
    s = np.sqrt(np.clip(1 - (Z / c) ** 2, 1e-6, None))
    rho = np.sqrt((u / (a * s)) ** 2 + (v / (b * s)) ** 2)
    radius = np.hypot(u, v)
    depth = radius * (1 / np.maximum(rho, 1e-6) - 1)   # mm inside the outer surface, along the ray
    depth = np.where(rho < 1e-6, 1e3, depth)
    depth = np.where(s <= 1e-3, -1.0, depth)
    skin, scalp = 1.5, 4.0
    csf_t = 1.5 + 3.0 * atrophy
    d_brain = depth - scalp - skull_t - csf_t          # depth inside the brain surface

    hu = np.full(shape, -1000.0)
    hu = np.where(depth >= 0, 40.0, hu)
    hu = np.where(depth >= skin, -80.0, hu)
    in_skull = (depth >= scalp) & (depth < scalp + skull_t)
    frac = np.clip((depth - scalp) / skull_t, 0, 1)
    diploe = np.exp(-((frac - 0.5) / 0.18) ** 2)       # dense tables, spongy middle
    hu = np.where(in_skull, bone_scale * (1750 - 850 * diploe), hu)
    hu = np.where(depth >= scalp + skull_t, 8.0, hu)   # subarachnoid CSF
    brain = d_brain >= 0
    hu = np.where(brain, np.where(d_brain < 3.0, gm, wm), hu)

    # Basal ganglia and ventricles in the brain frame (centre at cx, cy).
    zb = Z
    for side in (1, -1):
        bg = ((u - side * 20) / 9) ** 2 + ((v + 2) / 16) ** 2 + ((zb - 5) / 14) ** 2 <= 1
        hu = np.where(brain & bg, 35.0, hu)
    vent = np.zeros(shape, bool)
    v_half = 3 + 4 * atrophy
    for side in (1, -1):
        vu, vv = _rot(u - side * (4 + 2 * atrophy), v - 2, side * np.deg2rad(12))
        vent |= (vu / v_half) ** 2 + (vv / (20 + 4 * atrophy)) ** 2 + ((zb - 20) / 16) ** 2 <= 1
    vent &= brain
    hu = np.where(vent, 5.0, hu)
    falx = brain & (np.abs(u) < 0.6) & ~vent & (np.abs(v) > 24)
    hu = np.where(falx, rng.uniform(45, 55), hu)
    calcified = bool(rng.random() < 0.5)
    if calcified:
        calc_hu = rng.uniform(150, 300)
        for side in (1, -1):   # choroid plexus in the ventricles' posterior part
            spot = np.hypot(u - side * (5 + 2 * atrophy), v - 14) + np.abs(zb - 20) * 0.5 < 2.5
            hu = np.where(spot & brain, calc_hu, hu)
        pineal = np.hypot(u, v - 22) + np.abs(zb - 5) * 0.4 < 2.5
        hu = np.where(pineal & brain, calc_hu, hu)
    texture = ndimage.gaussian_filter(rng.standard_normal(shape), (4, 4, 1))
    hu = hu + brain * 2.0 * texture / (texture.std() + 1e-12)

    parenchyma = brain & ~vent
    truth = {"head_semi_axes_mm": [round(a, 2), round(b, 2), round(c, 2)],
             "head_centre_mm": [round(cx, 2), round(cy, 2)], "atrophy": round(atrophy, 3),
             "skull_thickness_mm": round(skull_t, 2), "calcifications": calcified,
             "lesion": lesion}

    # -- lesion ------------------------------------------------------------------------
    weight = np.zeros(shape)
    if lesion == "infarct":
        side = int(rng.choice([-1, 1]))
        territory = str(rng.choice(["MCA", "ACA", "PCA"], p=[0.7, 0.15, 0.15]))
        direction = {"MCA": 0.0 if side > 0 else np.pi,
                     "ACA": -np.pi / 2 + side * np.deg2rad(15),
                     "PCA": np.pi / 2 - side * np.deg2rad(20)}[territory]
        direction += np.deg2rad(rng.normal(0, 10))
        half = np.deg2rad(rng.uniform(10, 28))
        inner = rng.uniform(0.3, 0.6)
        z0, zh = rng.uniform(zs.min(), zs.max()), rng.uniform(5, 20)
        phi = np.arctan2(v, u)
        dphi = np.angle(np.exp(1j * (phi - direction)))
        # Angular edge as arc length (mm); radial start as a fraction of the brain radius.
        brain_radius = radius / np.maximum(rho, 1e-6) - (scalp + skull_t + csf_t)
        ang_in = (half - np.abs(dphi)) * radius
        rad_in = radius - inner * brain_radius
        weight = _soft(ang_in, 2.0) * _soft(rad_in, 2.0) * _soft(zh - np.abs(Z - z0), 2.0)
        weight *= parenchyma
        target = rng.uniform(15, 22)
        hu = _blend(hu, weight, target, effect_size)
        truth.update(side="left" if side > 0 else "right", territory=territory,
                     half_angle_deg=round(np.rad2deg(half), 1), z_centre_mm=round(z0, 1),
                     z_half_extent_mm=round(zh, 1), hu=round(target, 1))
    elif lesion == "hemorrhage":
        if rng.random() < subdural_fraction:
            direction = rng.uniform(-np.pi, np.pi)
            half = np.deg2rad(rng.uniform(30, 60))
            t_max = rng.uniform(3, 12)
            z0, zh = rng.uniform(zs.min(), zs.max()), rng.uniform(15, 40)
            phi = np.arctan2(v, u)
            dphi = np.angle(np.exp(1j * (phi - direction)))
            thick = t_max * np.clip(np.cos(np.pi / 2 * dphi / half), 0, None)
            d_inner = depth - scalp - skull_t                 # depth under the inner table
            weight = _soft(thick - d_inner, 1.0) * (d_inner >= 0) * (np.abs(dphi) < half)
            weight *= _soft(zh - np.abs(Z - z0), 2.0) * (thick > 0.5)
            target = rng.uniform(60, 75)
            hu = _blend(hu, weight, target, effect_size)
            truth.update(kind="subdural", direction_deg=round(np.rad2deg(direction), 1),
                         half_angle_deg=round(np.rad2deg(half), 1),
                         max_thickness_mm=round(t_max, 1), z_centre_mm=round(z0, 1),
                         z_half_extent_mm=round(zh, 1), hu=round(target, 1))
        else:
            candidates = np.argwhere(parenchyma & (d_brain > 5))
            if candidates.size == 0:
                candidates = np.argwhere(brain)
            if candidates.size == 0:
                raise ConfigError("no brain in the simulated slices; use more slices or a "
                                  "larger field of view")
            r0, c0, k0 = candidates[rng.integers(len(candidates))]
            centre = np.array([X[r0, c0, k0], Y[r0, c0, k0], Z[r0, c0, k0]])
            semi = rng.uniform(4, 18) * rng.uniform(0.7, 1.3, 3)
            rot = rng.uniform(0, np.pi)
            hx, hy = _rot(X - centre[0], Y - centre[1], rot)
            dist = np.sqrt((hx / semi[0]) ** 2 + (hy / semi[1]) ** 2 +
                           ((Z - centre[2]) / semi[2]) ** 2)
            rim = rng.uniform(2, 5)
            mean_semi = float(np.mean(semi))
            core = _soft((1 - dist) * mean_semi, 1.5)
            oedema = _soft((1 + rim / mean_semi - dist) * mean_semi, 1.5) * (1 - core)
            target, oedema_hu = rng.uniform(60, 80), rng.uniform(18, 24)
            hu = _blend(hu, 0.6 * oedema * parenchyma, oedema_hu, effect_size)
            weight = core * brain
            hu = _blend(hu, weight, target, effect_size)
            truth.update(kind="intraparenchymal", centre_mm=centre.round(1).tolist(),
                         semi_axes_mm=semi.round(1).tolist(), rim_mm=round(rim, 1),
                         hu=round(target, 1), oedema_hu=round(oedema_hu, 1))
    truth["lesion_slices"] = [int(k) for k in np.flatnonzero((weight > 0.5).any(axis=(0, 1)))] \
        if lesion != "none" else []

    # -- acquisition ------------------------------------------------------------------------
    hu = ndimage.gaussian_filter(hu, (0.6, 0.6, 0))
    noise_sd = rng.uniform(3, 6)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), (0.7, 0.7, 0))
    hu = hu + noise_sd * noise / (noise.std() + 1e-12)
    hu = np.clip(np.round(hu), -1024, 3071).astype(np.int16)
    truth["noise_sd_hu"] = round(noise_sd, 2)
    corner = np.array([xs[0], ys[0]])
    positions = np.column_stack([np.full(len(zs), corner[0]), np.full(len(zs), corner[1]), zs])
    return hu, positions, truth


def ct_affine(positions: np.ndarray, pixel_spacing: float, slice_thickness: float) -> np.ndarray:
    """RAS affine of an axial series (identity orientation) for NIfTI output."""
    lps = np.eye(4)
    lps[0, 0] = lps[1, 1] = pixel_spacing
    lps[2, 2] = slice_thickness
    lps[:3, 3] = positions[0]
    return _LPS_TO_RAS @ lps


def _identity(rng) -> tuple[dict, dt.date]:
    """A fake patient identity (planted to test that it never leaks) and birth date."""
    birth = dt.date(1935, 1, 1) + dt.timedelta(days=int(rng.integers(0, 20000)))
    return {"PatientName": f"{rng.choice(_LAST)}^{rng.choice(_FIRST)}",
            "PatientID": f"MRN{int(rng.integers(10 ** 7, 10 ** 8))}",
            "PatientBirthDate": birth.strftime("%Y%m%d"),
            "PatientSex": str(rng.choice(["M", "F"]))}, birth


def _write_subject(out: Path, pid: str, group: str, lesion: str, fmt: str, params: dict,
                   seed_seq: np.random.SeedSequence) -> tuple[dict, dict]:
    meta_seed, vol_seed = seed_seq.spawn(2)
    rng = np.random.default_rng(meta_seed)
    identity, birth = _identity(rng)
    study_date = (dt.date(2021, 1, 1) + dt.timedelta(days=int(rng.integers(0, 700))))
    hu, positions, truth = simulate_ct_volume(
        lesion, seed=vol_seed, **{k: v for k, v in params.items() if k != "seed"})
    spacing = params["fov"] / hu.shape[1]
    base = Path(pid) / "ct"
    if fmt == "dicom":
        rel = base / "dicom"
        write_dicom_series(out / rel, hu, pixel_spacing=(spacing, spacing),
                           slice_thickness=params["slice_thickness"], positions=positions,
                           uid_seed=f"{params['seed']}-{pid}", patient=identity,
                           study_date=study_date.strftime("%Y%m%d"))
    elif fmt == "nifti":
        rel = base / f"{pid}_ct.nii.gz"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        affine = ct_affine(positions, spacing, params["slice_thickness"])
        img = nib.Nifti1Image(np.ascontiguousarray(hu.transpose(1, 0, 2)), affine)
        img.header.set_xyzt_units("mm")
        img.set_qform(affine, code=1)
        img.set_sform(affine, code=1)
        img.header["descrip"] = b"SYNTHETIC neurodx CT in HU"
        nib.save(img, out / rel)
    else:
        level, width = CT_WINDOWS["brain"]
        gray = to_uint8(hu, level, width)
        if hu.shape[2] == 1:
            rel = base / f"{pid}_ct.png"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(gray[:, :, 0]).save(out / rel)
        else:
            rel = base / "png"
            (out / rel).mkdir(parents=True, exist_ok=True)
            width_digits = len(str(hu.shape[2]))
            for k in range(hu.shape[2]):
                Image.fromarray(gray[:, :, k]).save(
                    out / rel / f"slice-{k + 1:0{width_digits}d}.png")
    age = (study_date - birth).days // 365
    row = {"participant_id": pid, "group": group, "age": int(age),
           "sex": identity["PatientSex"], "synthetic": "yes", "path": rel.as_posix()}
    return row, {"participant_id": pid, "group": group, **truth}


def _write_slice_labels(out: Path, rows, truths, groups, mapping, n_slices: int) -> None:
    """``slices.tsv`` (:mod:`neurodx.io.slice_labels`): what every slice of a patient shows.

    A slice the lesion touches carries the patient's group, the others the group without
    lesions; without such a group only the lesion slices are listed.
    """
    normal = next((g for g in groups if mapping[g] == "none"), None)
    table = []
    for row, truth in zip(rows, truths):
        touched = set(truth["lesion_slices"])
        for k in range(n_slices):
            if k in touched or normal is not None:
                table.append({"participant_id": row["participant_id"], "slice": k,
                              "label": row["group"] if k in touched else normal})
    pd.DataFrame(table, columns=["participant_id", "slice", "label"]).to_csv(
        out / "slices.tsv", sep="\t", index=False)


def simulate_ct_cohort(out: str | Path,
                       groups: Sequence[str] = ("normal", "infarct", "hemorrhage"),
                       subjects_per_group: int = 30, *, fmt: str = "dicom",
                       shape: Sequence[int] = (256, 256, 12), fov: float = 240.0,
                       slice_thickness: float = 5.0, seed: int = 0, effect_size: float = 1.0,
                       subdural_fraction: float = 0.25,
                       lesions: Mapping[str, str] | None = None, n_jobs: int = 1) -> Path:
    """Write a synthetic head-CT cohort: images, ``participants.tsv``, ``lesions.tsv``,
    ``slices.tsv`` (slice labels: the slices each lesion touches), README.

    Parameters
    ----------
    out : str | Path
        Cohort folder (created).
    groups : sequence of str
        Group labels; each maps to a lesion type through ``lesions`` (default:
        normal -> none, infarct -> infarct, hemorrhage -> hemorrhage).
    subjects_per_group : int
    fmt : {"dicom", "nifti", "png"}
        DICOM: one CT series folder per patient (RescaleIntercept -1024, 12-bit
        stored values, fake identity). NIfTI: one int16 ``.nii.gz`` in HU. PNG:
        8-bit brain-windowed (40/80) slices, a folder per patient (one file when
        ``shape`` has one slice).
    shape : (rows, columns, n_slices)
    fov, slice_thickness, effect_size, subdural_fraction
        See :func:`simulate_ct_volume`.
    seed : int
        Same seed, same files (UIDs and dates derive from it).
    lesions : mapping, optional
        Group label -> ``"none" | "infarct" | "hemorrhage"``.
    n_jobs : int
        Subjects simulated in parallel (joblib); results do not depend on it.

    Returns
    -------
    Path
        The cohort folder.
    """
    out = Path(out)
    groups = list(groups)
    if not groups or len(set(groups)) != len(groups):
        raise ConfigError(f"groups must be distinct labels, got {groups}")
    if subjects_per_group < 1:
        raise ConfigError(f"subjects_per_group must be >= 1, got {subjects_per_group}")
    if fmt not in CT_FORMATS:
        raise ConfigError(f"fmt must be one of {', '.join(CT_FORMATS)}, got {fmt!r}")
    if effect_size < 0:
        raise ConfigError(f"effect_size must be >= 0, got {effect_size}")
    mapping = dict(DEFAULT_LESIONS) if lesions is None else dict(lesions)
    unknown = [g for g in groups if g not in mapping]
    if unknown:
        raise ConfigError(f"no lesion type for group(s) {', '.join(unknown)}: pass lesions="
                          "{label: 'none' | 'infarct' | 'hemorrhage'}")
    bad = {g: mapping[g] for g in groups if mapping[g] not in _LESION_TYPES}
    if bad:
        raise ConfigError(f"unknown lesion type(s) {bad}; use none, infarct or hemorrhage")
    shape = tuple(int(v) for v in shape)
    params = {"shape": shape, "fov": float(fov), "slice_thickness": float(slice_thickness),
              "effect_size": float(effect_size), "subdural_fraction": float(subdural_fraction)}
    simulate_ct_volume("none", **{**params, "shape": (16, 16, 1)})  # fail early on bad values
    out.mkdir(parents=True, exist_ok=True)
    children = np.random.SeedSequence(seed).spawn(len(groups) * subjects_per_group)
    jobs = [(f"sub-{g}{i + 1:02d}", g, children[gi * subjects_per_group + i])
            for gi, g in enumerate(groups) for i in range(subjects_per_group)]
    results = Parallel(n_jobs=n_jobs)(
        delayed(_write_subject)(out, pid, g, mapping[g], fmt, {**params, "seed": seed}, ss)
        for pid, g, ss in jobs)
    rows, truths = zip(*results)
    pd.DataFrame(rows).to_csv(out / "participants.tsv", sep="\t", index=False)
    lesion_rows = []
    for t in truths:
        row = {k: (dumps(v) if isinstance(v, (list, dict)) else v) for k, v in t.items()
               if k not in ("lesion_slices",)}
        row["lesion_slices"] = ";".join(map(str, t["lesion_slices"]))
        lesion_rows.append(row)
    pd.DataFrame(lesion_rows).to_csv(out / "lesions.tsv", sep="\t", index=False, na_rep="n/a")
    _write_slice_labels(out, rows, truths, groups, mapping, shape[2])

    from .. import __version__
    meta = {"synthetic": True, "generator": "neurodx.simulate.simulate_ct_cohort",
            "neurodx_version": __version__, "seed": seed, "groups": groups,
            "subjects_per_group": subjects_per_group, "fmt": fmt, **params,
            "shape": list(shape), "lesions": {g: mapping[g] for g in groups},
            "pixel_spacing_mm": fov / shape[1],
            "fake_identity": "DICOM PatientName/PatientID/PatientBirthDate are fake"}
    (out / "simulation.json").write_text(dumps(meta, indent=2) + "\n")
    shown = out.name if out.is_absolute() else out.as_posix()
    call = (f"simulate_ct_cohort('{shown}', groups={tuple(groups)!r}, "
            f"subjects_per_group={subjects_per_group}, fmt='{fmt}', shape={shape!r}, "
            f"fov={fov:g}, slice_thickness={slice_thickness:g}, seed={seed}, "
            f"effect_size={effect_size:g}, subdural_fraction={subdural_fraction:g}"
            + (f", lesions={mapping!r}" if lesions is not None else "") + ")")
    (out / "README.md").write_text(
        "# SYNTHETIC head CT cohort\n\n"
        "Every image here was generated by neurodx's CT simulator; none comes from a person. "
        "Patient names, IDs and birthdates in the DICOM headers are fake (planted to test that "
        "neurodx never outputs them).\n\n"
        f"Groups: {', '.join(f'{g} ({mapping[g]})' for g in groups)}, {subjects_per_group} "
        f"each; {shape[0]}x{shape[1]} pixels of {fov / shape[1]:g} mm, {shape[2]} axial "
        f"slice(s) of {slice_thickness:g} mm; format {fmt}"
        + (" (Hounsfield units)" if fmt != "png" else " (8-bit, brain window 40/80: not HU)")
        + ".\n\n"
        "The phantom and lesion model are documented in `neurodx/simulate/ct.py`; all "
        "parameters are in `simulation.json`; each lesion's drawn values and the slices it "
        "touches (0 = lowest slice) are in `lesions.tsv`; `slices.tsv` labels every slice "
        "with what it shows (the patient's group where the lesion touches it, else the group "
        "without lesions), the slice labels neurodx's CT CNN trains on.\n\n"
        "Regenerate with (from the directory the cohort was written from):\n\n"
        f"    python -c \"from neurodx.simulate.ct import simulate_ct_cohort; {call}\"\n")
    return out
