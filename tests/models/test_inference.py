"""The inference copy (batch norm folded, channels_last) gives the plain forward's outputs."""
import numpy as np
import pytest
import torch
from torch import nn

from neurodx.errors import ConfigError
from neurodx.models import (EEGWindowCNN, PerPositionSliceEnsemble, SharedSliceCNN, SliceCNN,
                            SliceVotingClassifier, predict_items, seeded_network, train_network)
from neurodx.models.inference import InferenceNetwork, fold_batch_norm, inference_batch_size

SLICE = dict(input_size=(12, 12), depth=2, width=8)


def _plain(net, items):
    """The reference: the network itself, evaluation mode, NCHW float32, one batch."""
    net.eval()
    x = torch.from_numpy(items.get(np.arange(len(items))))
    pos = None if not net.uses_position else torch.from_numpy(np.asarray(items.positions))
    with torch.no_grad():
        return torch.softmax(net(x, pos), 1).double().numpy()


@pytest.mark.parametrize("factory, kind", [
    (lambda: SliceCNN(2, **SLICE), "slices"),
    (lambda: PerPositionSliceEnsemble(2, 3, **SLICE), "slices"),
    (lambda: SharedSliceCNN(2, 3, position_mode="plane", **SLICE), "slices"),
    (lambda: EEGWindowCNN(2, 4, 64, n_filters_time=4, n_filters_spat=4, filter_time_length=5,
                          block_filters=(8, 8), filter_length=3, pool_length=2, pool_stride=2),
     "windows"),
])
def test_trained_network_gives_the_plain_outputs_within_1e5(factory, kind, slice_items,
                                                           window_items, fast_config):
    items = slice_items() if kind == "slices" else window_items()
    net = seeded_network(factory, 0)
    train_network(net, items, fast_config(epochs=3))     # running statistics far from 0/1
    state = {k: v.clone() for k, v in net.state_dict().items()}
    reference = _plain(net, items)
    fast = predict_items(net, items, batch_size=5)        # several batches, inference copy
    assert np.abs(fast - reference).max() <= 1e-5
    assert np.array_equal(fast.argmax(1), reference.argmax(1))
    # the trained network itself is untouched: still its batch norms, same weights
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_batch_norm_is_folded_into_the_convolutions():
    net = SliceCNN(2, **SLICE).eval()
    copy = InferenceNetwork(net)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in copy.modules())
    convs = [m for m in copy.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 and all(c.bias is not None for c in convs)
    assert copy.channels_last and convs[0].weight.is_contiguous(memory_format=torch.channels_last)
    # a batch norm that does not follow a convolution stays
    seq = fold_batch_norm(nn.Sequential(nn.ReLU(), nn.BatchNorm2d(3)).eval())
    assert isinstance(seq[1], nn.BatchNorm2d)


def test_batch_size_is_sized_for_the_caches_and_capped():
    assert inference_batch_size((1, 64, 64), 256) == 64
    assert inference_batch_size((3, 256, 256), 256) == 4
    assert inference_batch_size((1, 8, 8), 256) == 256
    assert inference_batch_size((1, 2048, 2048), 256) == 1


def test_bfloat16_is_off_by_default_and_only_an_option(volumes):
    subjects, y = volumes
    est = SliceVotingClassifier(depth=2, width=4, epochs=2, progress=False, num_threads=1,
                                val_fraction=0.25, patience=None, normalize=None,
                                augment=False, voting="soft").fit(subjects, y)
    assert est.inference_dtype == "float32"
    default = est.predict_proba(subjects)
    half = est.set_params(inference_dtype="bfloat16").predict_proba(subjects)
    assert np.abs(half - default).max() < 0.05           # close, not the same numbers
    with pytest.raises(ConfigError, match="inference_dtype must be one of"):
        est.set_params(inference_dtype="float16").predict_proba(subjects)


def test_inference_copy_is_reused_until_the_weights_change(volumes):
    subjects, y = volumes
    est = SliceVotingClassifier(depth=2, width=4, epochs=1, progress=False, num_threads=1,
                                val_fraction=0.25, patience=None, normalize=None,
                                augment=False, voting="soft").fit(subjects, y)
    first = est.predict_proba(subjects)
    copy = est._inference_network()
    assert est._inference_network() is copy                # built once, not per call
    with torch.no_grad():                                   # an in-place weight change
        next(est.network_.parameters()).mul_(3.0)
    assert est._inference_network() is not copy
    changed = est.predict_proba(subjects)
    assert not np.allclose(changed, first)                  # the new weights are used
    est.fit(subjects, y)                                    # a refit: a new network
    assert est._inference_network() is not copy
    assert est.set_params(inference_dtype="bfloat16")._inference_network().dtype == "bfloat16"


@pytest.fixture
def volumes(volume):
    rng = np.random.default_rng(0)
    y = np.array(["HC", "MA"] * 3)
    return [(f"sub-{i:02d}", volume(int(lab == "MA"), rng, frames=3))
            for i, lab in enumerate(y)], y


def test_slice_stack_holds_the_per_frame_zscored_slices():
    from neurodx.preprocessing.intensity import zscore_frames

    vol = np.random.default_rng(0).normal(3.0, 2.0, (10, 12, 5, 4)).astype(np.float32)
    vol[..., 2] = 7.0                                         # a constant frame becomes 0
    stack = SliceVotingClassifier()._slicer(None).stack(vol, "sub-01")
    expected = np.moveaxis(zscore_frames(vol), (2, 3), (0, 1))[:, :, None]
    assert stack.shape == (5, 4, 1, 10, 12) and stack.dtype == np.float32
    assert stack.flags.c_contiguous and np.array_equal(stack, expected)
