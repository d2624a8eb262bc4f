import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from neurodx.errors import ConfigError
from neurodx.io.volumes import read_volume
from neurodx.simulate.fmri import (ATLAS_LABELS, STRIATUM, ground_truth_atlas,
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
    assert meta["subjects"]["sub-MA01"]["amplitude_factor"] == 2.0
    assert meta["subjects"]["sub-HC01"]["amplitude_factor"] == 1.0


def test_group_effect_lives_only_in_the_striatum():
    kw = {"shape": (32, 32, 16), "frames": 20, "voxel_size": (7.5, 7.5, 7.75), "seed": 3}
    ref, truth = simulate_fmri_run(amplitude_factor=1.0, **kw)
    more, _ = simulate_fmri_run(amplitude_factor=3.0, **kw)
    diff = np.asarray(more.dataobj, float) - np.asarray(ref.dataobj, float)
    changed = np.argwhere(np.abs(diff).max(axis=-1) > 0)
    assert changed.size
    world = nib.affines.apply_affine(ref.affine, changed)
    fov = np.array([32 * 7.5, 32 * 7.5, 16 * 7.75])
    reach = np.asarray(STRIATUM["semi_axes"]) * fov * 1.3 + 7.75
    centres = np.array(truth["striatum_centres_mm"])
    near = [np.all(np.abs(world - c) <= reach, axis=1) for c in centres]
    assert np.all(near[0] | near[1])             # nowhere else
    assert near[0].any() and near[1].any()       # both sides
    # More amplitude means more temporal variance there.
    voxels = tuple(changed[np.argmax(np.abs(diff[tuple(changed.T)]).max(axis=-1))])
    assert np.asarray(more.dataobj)[voxels].std() > np.asarray(ref.dataobj)[voxels].std()


def test_null_cohort_and_bad_parameters(tmp_path):
    out = simulate_fmri_cohort(tmp_path / "null", subjects_per_group=1, effect_size=0.0,
                               seed=2, **SMALL)
    meta = json.loads((out / "simulation.json").read_text())
    assert {s["amplitude_factor"] for s in meta["subjects"].values()} == {1.0}
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
