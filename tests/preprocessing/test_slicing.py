import gc
import pickle
import tracemalloc

import nibabel as nib
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from neurodx.errors import ConfigError, RecordingError
from neurodx.io.volumes import read_volume
from neurodx.preprocessing.intensity import CTWindows, window, zscore_frames, zscore_voxels
from neurodx.preprocessing.slicing import (SliceDataset, frame_indices, iter_slices,
                                           nonempty_slices)


def _run(path, shape=(8, 7, 5, 6), seed=0, affine=None, dtype=np.int16, offset=100.0):
    rng = np.random.default_rng(seed)
    data = (offset + 10 * rng.normal(size=shape)).astype(dtype)
    img = nib.Nifti1Image(data, np.diag([3.0, 3.0, 4.0, 1.0]) if affine is None else affine)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, path)
    return path, data


def test_frame_indices_selection_and_stride():
    np.testing.assert_array_equal(frame_indices(10, stride=3), [0, 3, 6, 9])
    np.testing.assert_array_equal(frame_indices(10, slice(4, None), 2), [4, 6, 8])
    np.testing.assert_array_equal(frame_indices(10, [9, 1]), [9, 1])
    with pytest.raises(ConfigError, match=r"\[12\] out of range for 10"):
        frame_indices(10, [1, 12])
    with pytest.raises(ConfigError, match="stride"):
        frame_indices(10, stride=0)


def test_31_axial_slices_per_frame_of_a_64x64x31_run(tmp_path):
    path, data = _run(tmp_path / "run.nii.gz", shape=(64, 64, 31, 4))
    slices = list(iter_slices(read_volume(path)))
    assert len(slices) == 31 * 4
    assert [(s.frame_index, s.slice_index) for s in slices[30:33]] == [(0, 30), (1, 0), (1, 1)]
    assert slices[0].data.shape == (64, 64)
    np.testing.assert_array_equal(slices[40].data, data[:, :, 9, 1])
    ds = SliceDataset([("sub-01", path, "HC"), ("sub-02", path, "MA")], frame_stride=2)
    assert len(ds) == 2 * 31 * 2
    sample = ds[31 * 2 + 31 + 5]   # second subject, second kept frame (2), slice 5
    assert (sample.subject_id, sample.frame_index, sample.slice_index, sample.label) == \
        ("sub-02", 2, 5, 1)
    assert sample.image.shape == (1, 64, 64) and sample.image.dtype == torch.float32
    np.testing.assert_array_equal(sample.image[0].numpy(), data[:, :, 5, 2])


def test_slices_follow_canonical_orientation(tmp_path):
    flipped = np.diag([-3.0, 3.0, -4.0, 1.0])   # stored L->R and S->I
    path, data = _run(tmp_path / "flip.nii", shape=(6, 5, 4, 2), affine=flipped)
    ds = SliceDataset([("s", path, None)])
    first = ds[0]
    assert first.slice_index == 0 and first.label == -1
    # Canonical slice 0 is the most inferior: stored slice 3, x reversed.
    np.testing.assert_array_equal(first.image[0].numpy(), data[::-1, :, 3, 0])
    raw = SliceDataset([("s", path, None)], canonical=False)
    np.testing.assert_array_equal(raw[0].image[0].numpy(), data[:, :, 0, 0])
    along_x = SliceDataset([("s", path, None)], axis=0)
    assert len(along_x) == 6 * 2 and along_x[0].image.shape == (1, 5, 4)


def test_drop_empty_keeps_original_indices(tmp_path):
    data = np.zeros((10, 10, 6, 3), np.float32)
    data[2:8, 2:8, 1:4] = 100.0 + np.random.default_rng(0).normal(size=(6, 6, 3, 3))
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "r.nii")
    np.testing.assert_array_equal(nonempty_slices(data[..., 0]), [1, 2, 3])
    ds = SliceDataset([("s", tmp_path / "r.nii", "a")], drop_empty=True)
    assert len(ds) == 3 * 3
    assert [ds[i].slice_index for i in range(3)] == [1, 2, 3]
    np.testing.assert_array_equal(ds[4].image[0].numpy(), data[:, :, 2, 1])
    frame = ds.index_frame()
    assert list(frame.columns) == ["subject_id", "volume_index", "path", "frame_index",
                                   "slice_index", "label"]
    assert frame["slice_index"].tolist() == [1, 2, 3] * 3


def test_normalisations_match_in_memory_versions(tmp_path):
    path, data = _run(tmp_path / "r.nii.gz", shape=(6, 5, 4, 20))
    voxel = SliceDataset([("s", path, "a")], normalize="voxel", chunk_frames=3)
    expected = zscore_voxels(data.astype(np.float32))
    for i in (0, 23, len(voxel) - 1):
        s = voxel[i]
        np.testing.assert_allclose(s.image[0].numpy(), expected[:, :, s.slice_index,
                                                                s.frame_index], atol=1e-4)
    frame = SliceDataset([("s", path, "a")], normalize="frame")
    s = frame[4 * 7 + 2]
    np.testing.assert_allclose(s.image[0].numpy(),
                               zscore_frames(data.astype(np.float32))[:, :, 2, 7], atol=1e-4)
    three_d, _ = _run(tmp_path / "t1.nii", shape=(6, 5, 4))
    with pytest.raises(RecordingError, match=r"t1.nii: normalize='voxel' .* needs a 4-D run"):
        SliceDataset([("s", three_d, "a")], normalize="voxel")


def test_ct_windows_transform_and_mask_file(tmp_path):
    hu = np.full((8, 8, 3), -1000, np.int16)
    hu[2:6, 2:6] = 40
    hu[3, 3] = 1200
    nib.save(nib.Nifti1Image(hu, np.eye(4)), tmp_path / "ct.nii.gz")
    mask = np.zeros((8, 8, 3), np.uint8)
    mask[2:6, 2:6] = 1
    nib.save(nib.Nifti1Image(mask, np.eye(4)), tmp_path / "mask.nii.gz")
    ds = SliceDataset([("p1", tmp_path / "ct.nii.gz", "normal")],
                      transform=CTWindows(("brain", "bone")))
    img = ds[1].image
    assert img.shape == (2, 8, 8)
    np.testing.assert_allclose(img[0].numpy(), window(hu[:, :, 1], 40, 80))
    masked = SliceDataset([("p1", tmp_path / "ct.nii.gz", "normal")],
                          mask=tmp_path / "mask.nii.gz")
    out = masked[0].image[0].numpy()
    assert np.all(out[mask[:, :, 0] == 0] == 0) and np.all(out[2:6, 2:6] != 0)


def test_in_plane_shape_mismatch_refused_or_resampled(tmp_path):
    a, _ = _run(tmp_path / "a.nii", shape=(8, 8, 3, 2))
    b, _ = _run(tmp_path / "b.nii", shape=(10, 8, 3, 2))
    with pytest.raises(RecordingError, match=r"b.nii: slices along axis 2 are 10x8, those of "
                                             r"sub-a \(a.nii\) are 8x8; set slice_shape"):
        SliceDataset([("sub-a", a, 0), ("sub-b", b, 1)])
    ds = SliceDataset([("sub-a", a, 0), ("sub-b", b, 1)], slice_shape=(16, 16))
    assert {tuple(ds[i].image.shape) for i in range(len(ds))} == {(1, 16, 16)}


def test_several_recordings_per_subject_and_labels(tmp_path):
    a, _ = _run(tmp_path / "a.nii", shape=(4, 4, 2, 3))
    b, _ = _run(tmp_path / "b.nii", shape=(4, 4, 2, 2), seed=1)
    ds = SliceDataset([("s1", [a, b], "MA"), ("s2", a, "HC")], classes=["HC", "MA"])
    assert len(ds) == (6 + 4) + 6
    assert ds[6].volume_index == 1 and ds[6].subject_id == "s1" and ds[6].label == 1
    assert ds[-1].subject_id == "s2" and ds[-1].label == 0
    assert list(ds.subject_ids[:11]) == ["s1"] * 10 + ["s2"]
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(ConfigError, match="not in classes"):
        SliceDataset([("s1", a, "CHR")], classes=["HC", "MA"])


def test_dataloader_workers_get_a_picklable_dataset(tmp_path):
    path, data = _run(tmp_path / "r.nii.gz", shape=(6, 6, 4, 3))
    ds = SliceDataset([("s", path, "a")])
    _ = ds[0]  # opens the file and fills the caches
    clone = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(clone[5].image, ds[5].image)
    batches = list(DataLoader(ds, batch_size=5, num_workers=2))
    assert sum(len(b.subject_id) for b in batches) == len(ds) == 12
    np.testing.assert_array_equal(batches[0].slice_index, [0, 1, 2, 3, 0])
    np.testing.assert_array_equal(batches[0].image[4, 0].numpy(), data[:, :, 0, 1])


def test_dataset_streams_without_materialising_the_cohort(tmp_path):
    # 6 runs of 32x32x16x100 int16: 20 MB on disk, 40 MB as float32 in memory.
    records = []
    for k in range(6):
        path, _ = _run(tmp_path / f"sub-{k}.nii", shape=(32, 32, 16, 100), seed=k)
        records.append((f"sub-{k}", path, k % 2))
    cohort_bytes = 6 * 32 * 32 * 16 * 100 * 4
    allowance = cohort_bytes // 10
    # The probe sees numpy allocations: loading one run alone already exceeds the allowance.
    tracemalloc.start()
    np.asarray(nib.load(records[0][1]).get_fdata(dtype=np.float32))
    one_run_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert one_run_peak > allowance
    gc.collect()
    tracemalloc.start()
    ds = SliceDataset(records, normalize="frame", chunk_frames=4)
    n, total = 0, 0.0
    for i in range(len(ds)):
        sample = ds[i]
        n += 1
        total += float(sample.image[0, 0, 0])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == 6 * 100 * 16
    assert peak < allowance, f"peak {peak / 2**20:.1f} MB for a {cohort_bytes / 2**20:.0f} MB cohort"


# ----------------------------------------------------------------------------- one slicer
@pytest.mark.parametrize("normalize", [None, "frame", "voxel"])
@pytest.mark.parametrize("chunk_frames", [1, 3, 8])
@pytest.mark.parametrize("first", [0, 2])
def test_streamed_and_in_memory_slices_are_identical(tmp_path, normalize, chunk_frames, first):
    from neurodx.models import SliceVotingClassifier

    # Stored L->R and S->I (canonical reorientation on both paths); 13 frames, all of
    # them (the in-memory array as read) or frames 2.. (a selected copy, another memory
    # layout): 3-frame blocks end with a one- or two-frame rest.
    flipped = np.diag([-3.0, 3.0, -4.0, 1.0])
    path, _ = _run(tmp_path / "run.nii", shape=(9, 7, 5, 13), affine=flipped)
    options = dict(frames=slice(first, None) if first else None, normalize=normalize,
                   slice_shape=(8, 8))
    streamed = SliceDataset([("s", path, "a")], chunk_frames=chunk_frames, **options)
    est = SliceVotingClassifier(mode="pooled", **options)
    est._reset_input()
    in_memory = est._prepare(path, "s", fitting=True)          # (position, frame, C, H, W)
    assert in_memory.shape == (5, 13 - first, 1, 8, 8)
    assert len(streamed) == 5 * (13 - first)
    for i in range(len(streamed)):
        sample = streamed[i]
        f = sample.frame_index - first
        assert np.array_equal(sample.image.numpy(), in_memory[sample.slice_index, f]), i


def test_streamed_and_in_memory_slices_agree_with_a_mask_and_a_transform(tmp_path):
    from neurodx.preprocessing.intensity import foreground_mask
    from neurodx.preprocessing.slicing import VolumeSlicer

    path, data = _run(tmp_path / "ct.nii", shape=(10, 8, 4), offset=20.0)
    data = data.astype(np.float32)
    data[:2] = -1000.0                                           # air
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.0, 5.0, 1.0])), path)
    windows = CTWindows(["brain", "bone"])
    streamed = SliceDataset([("p", path, None)], normalize="frame", mask="auto",
                            transform=windows)
    slicer = VolumeSlicer(normalize="frame", transform=windows)
    stack = slicer.stack(data, "p", mask=foreground_mask(data))
    assert stack.shape == (4, 1, 2, 10, 8)
    for k in range(4):
        assert np.array_equal(streamed[k].image.numpy(), stack[k, 0])
    with pytest.raises(RecordingError, match=r"^p: slice indices \[4\] out of range"):
        VolumeSlicer(slices=[0, 4]).stack(data, "p")
