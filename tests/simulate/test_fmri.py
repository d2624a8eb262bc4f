import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurodx.errors import ConfigError
from neurodx.io.volumes import read_volume
from neurodx.simulate.fmri import (ATLAS_LABELS, PREFRONTAL, STRIATUM, ground_truth_atlas,
                                   simulate_fmri_cohort, simulate_fmri_run)

SMALL = {"shape": (16, 16, 8), "frames": 6, "voxel_size": (12.0, 12.0, 12.0)}


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a = simulate_fmri_cohort(tmp_path / "a" / "c", subjects_per_group=2, seed=5, **SMALL)
    b = simulate_fmri_cohort(tmp_path / "b" / "c", subjects_per_group=2, seed=5, n_jobs=2,
                             **SMALL)
    files_a, files_b = _files(a), _files(b)
    # participants.tsv, README, simulation.json, atlas.nii.gz + 2 files per subject
    assert len(files_a) == 4 + 4 * 2 and files_a == files_b
    c = simulate_fmri_cohort(tmp_path / "c" / "c", subjects_per_group=2, seed=6, **SMALL)
    run = "sub-HC01/func/sub-HC01_task-rest_bold.nii.gz"
    assert not np.array_equal(np.asarray(read_volume(a / run).dataobj),
                              np.asarray(read_volume(c / run).dataobj))


def test_cohort_layout_and_synthetic_marks(tmp_path):
    out = simulate_fmri_cohort(tmp_path / "fmri", ("HC", "MA"), 2, seed=1, tr=2.5,
                               quantum=4.0, **SMALL)
    table = pd.read_csv(out / "participants.tsv", sep="\t", dtype=str)
    assert list(table.columns) == ["participant_id", "group", "age", "sex", "synthetic", "path"]
    assert table["participant_id"].tolist() == ["sub-HC01", "sub-HC02", "sub-MA01", "sub-MA02"]
    assert set(table["synthetic"]) == {"yes"}
    img = nib.load(out / table["path"][0])
    assert img.shape == (16, 16, 8, 6) and img.get_data_dtype() == np.int16
    assert img.dataobj.slope == 4.0 and img.header.get_zooms()[3] == 2.5
    assert "".join(nib.aff2axcodes(img.affine)) == "RAS"
    sidecar = json.loads((out / table["path"][0].replace(".nii.gz", ".json")).read_text())
    assert sidecar["RepetitionTime"] == 2.5 and sidecar["SyntheticData"] is True
    assert "SYNTHETIC" in (out / "README.md").read_text()
    assert "simulate_fmri_cohort('fmri'" in (out / "README.md").read_text()
    meta = json.loads((out / "simulation.json").read_text())
    assert meta["synthetic"] is True and meta["seed"] == 1 and "neurodx_version" in meta
    ma, hc = meta["subjects"]["sub-MA01"], meta["subjects"]["sub-HC01"]
    assert (ma["coupling_factor"], ma["lesion_factor"]) == (0.5, 3.0)
    assert (hc["coupling_factor"], hc["lesion_factor"]) == (1.0, 1.0)
    assert hc["coupling"] == 0.7 and ma["coupling"] == 0.35


KW = {"shape": (32, 32, 16), "voxel_size": (7.5, 7.5, 7.75), "seed": 3}
FOV = np.array([32 * 7.5, 32 * 7.5, 16 * 7.75])


def _changed(a, b):
    diff = np.asarray(b.dataobj, float) - np.asarray(a.dataobj, float)
    changed = np.argwhere(np.abs(diff).max(axis=-1) > 0)
    return diff, changed, nib.affines.apply_affine(a.affine, changed)


def test_coupling_effect_lives_only_in_the_fronto_striatal_network():
    ref, truth = simulate_fmri_run(coupling_factor=1.0, frames=20, **KW)
    less, _ = simulate_fmri_run(coupling_factor=0.5, frames=20, **KW)
    _, changed, world = _changed(ref, less)
    assert changed.size
    centres = list(truth["node_centres_mm"].values())
    semis = [np.asarray(node["semi_axes"]) * FOV for node in (STRIATUM, STRIATUM,
                                                              PREFRONTAL, PREFRONTAL)]
    near = [np.all(np.abs(world - c) <= s * 1.3 + 7.75, axis=1) for c, s in zip(centres, semis)]
    assert np.all(np.any(near, axis=0))               # nowhere else
    assert all(n.any() for n in near)                 # all four nodes


def test_reduced_coupling_lowers_the_nodes_correlation():
    from nilearn.maskers import NiftiLabelsMasker

    atlas = ground_truth_atlas(KW["shape"], KW["voxel_size"])
    r = {}
    for factor in (1.0, 0.0):                         # almost no noise: the model itself
        img, _ = simulate_fmri_run(coupling_factor=factor, frames=120, noise=0.001, **KW)
        series = NiftiLabelsMasker(atlas, detrend=True, standardize="zscore_sample",
                                   high_pass=0.01, t_r=2.0).fit_transform(img)
        c = np.corrcoef(series[:, :4].T)
        r[factor] = c[np.triu_indices(4, 1)].mean()
    assert r[1.0] > r[0.0] + 0.3


def test_lesions_are_static_bright_foci_in_the_white_matter():
    none, _ = simulate_fmri_run(lesion_factor=0.0, lesion_rate=3.0, frames=3, **KW)
    some, truth = simulate_fmri_run(lesion_factor=1.0, lesion_rate=3.0, frames=3, **KW)
    assert truth["lesions_mm"]                        # this seed draws at least one
    diff, changed, world = _changed(none, some)
    assert np.all(diff >= -4) and diff.max() > 0      # brighter (int16 steps of 4 aside)
    dist = np.min([np.linalg.norm(world - np.asarray(p), axis=1)
                   for p in truth["lesions_mm"]], axis=0)
    assert np.all(dist < 4 * 5.0 + 7.75)              # within 4 sigma (+ a voxel) of a focus


def test_null_cohort_and_bad_parameters(tmp_path):
    out = simulate_fmri_cohort(tmp_path / "null", subjects_per_group=1, effect_size=0.0,
                               seed=2, **SMALL)
    meta = json.loads((out / "simulation.json").read_text())
    assert {(s["coupling_factor"], s["lesion_factor"])
            for s in meta["subjects"].values()} == {(1.0, 1.0)}
    with pytest.raises(ConfigError, match="frames"):
        simulate_fmri_cohort(tmp_path / "x", frames=1, shape=(8, 8, 4))
    with pytest.raises(ConfigError, match="distinct"):
        simulate_fmri_cohort(tmp_path / "x", groups=("HC", "HC"), **SMALL)
    with pytest.raises(ConfigError, match="effect_size"):
        simulate_fmri_cohort(tmp_path / "x", effect_size=-1, **SMALL)


def test_ground_truth_atlas_matches_the_runs_grid_and_striatum():
    kw = {"shape": (32, 32, 16), "voxel_size": (7.5, 7.5, 7.75)}
    atlas = ground_truth_atlas(**kw)
    run, truth = simulate_fmri_run(frames=4, seed=0, **kw)
    np.testing.assert_allclose(atlas.affine, run.affine)
    labels = np.asarray(atlas.dataobj)
    assert atlas.shape == (32, 32, 16)
    assert set(np.unique(labels)) == set(range(len(ATLAS_LABELS) + 1))
    # label 1 (left) at negative x, label 2 (right) at positive x, near the nominal centres
    for label, sign in ((1, -1), (2, 1)):
        centre = nib.affines.apply_affine(atlas.affine, np.argwhere(labels == label)).mean(0)
        assert np.sign(centre[0]) == sign
        assert abs(abs(centre[0]) - STRIATUM["centre_x"] * 32 * 7.5) < 7.5
