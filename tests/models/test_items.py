import nibabel as nib
import numpy as np
import pytest

from neurodx.models import (DatasetItems, SliceCNN, SliceStackItems, TrainConfig, WindowItems,
                            predict_items, seeded_network, train_network)
from neurodx.preprocessing import sliding_windows


def test_slice_stack_items_index_positions_frames_and_subjects():
    rng = np.random.default_rng(0)
    stacks = [rng.standard_normal((3, 2, 1, 4, 4)).astype(np.float32),
              rng.standard_normal((3, 1, 1, 4, 4)).astype(np.float32)]
    items = SliceStackItems(stacks, ["a", "b"], [1, 0])
    assert len(items) == 9
    assert items.groups.tolist() == ["a"] * 6 + ["b"] * 3
    assert items.labels.tolist() == [1] * 6 + [0] * 3
    assert items.positions.tolist() == [0, 0, 1, 1, 2, 2, 0, 1, 2]
    batch = items.get(np.array([8, 0, 3]))
    assert np.array_equal(batch[0], stacks[1][2, 0])
    assert np.array_equal(batch[1], stacks[0][0, 0])
    assert np.array_equal(batch[2], stacks[0][1, 1])


def test_window_items_are_the_data_layer_windows():
    rng = np.random.default_rng(0)
    recs = [rng.standard_normal((3, 50)), rng.standard_normal((3, 30))]
    items = WindowItems(recs, window=10, step=5, groups=["a", "b"], labels=[0, 1])
    assert len(items) == 9 + 5 and items.positions is None
    assert np.allclose(items.get(np.array([10]))[0], sliding_windows(recs[1], 10, 5)[1])
    assert items.get(np.array([0])).dtype == np.float32


def test_dataset_items_adapt_the_volume_layer_slice_dataset(tmp_path):
    slicing = pytest.importorskip("neurodx.preprocessing.slicing")
    rng = np.random.default_rng(0)
    records = []
    for i in range(4):
        vol = rng.standard_normal((12, 12, 3, 2)).astype(np.float32)
        if i % 2:
            vol[2:6, 3:7] += 3
        nib.save(nib.Nifti1Image(vol, np.eye(4)), tmp_path / f"s{i}.nii.gz")
        records.append((f"s{i}", tmp_path / f"s{i}.nii.gz", ["HC", "MA"][i % 2]))
    dataset = slicing.SliceDataset(records)
    items = DatasetItems(dataset)
    assert len(items) == 4 * 2 * 3
    assert items.labels.tolist()[:6] == [0] * 6 and set(items.positions) == {0, 1, 2}
    index = np.array([7, 2, 20])
    batch = items.get(index)
    for row, i in zip(batch, index):
        assert np.array_equal(row, dataset[int(i)].image.numpy())
    net = seeded_network(lambda: SliceCNN(2, input_size=(12, 12), depth=2, width=4), 0)
    train_network(net, items, TrainConfig(epochs=8, lr=5e-3, batch_size=8, val_fraction=0,
                                          progress=False))
    assert np.mean(predict_items(net, items).argmax(1) == items.labels) >= 0.9
