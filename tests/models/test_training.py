import numpy as np
import pytest
import torch

from neurodx.errors import ConfigError, NeurodxError
from neurodx.models import (ArrayItems, EEGWindowCNN, SliceAugment, SliceCNN, TrainConfig,
                            class_weights, inner_split, save_network, seeded_network,
                            train_network)
from neurodx.models.training import CHECKPOINT_NAME


def tiny_cnn(n_classes=2):
    return SliceCNN(n_classes, input_size=(12, 12), depth=2, width=4, dropout=0.3)


def state(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# ----------------------------------------------------------------------------- inner split
def test_inner_split_is_stratified_deterministic_and_inside_the_given_subjects():
    subjects = [f"s{i:02d}" for i in range(20)]
    labels = [0] * 10 + [1] * 6 + [2] * 3 + [3]
    train, val = inner_split(subjects, labels, 0.2, seed=3)
    assert set(val) <= set(subjects) and not set(train) & set(val)
    assert set(train) | set(val) == set(subjects)
    by_label = dict(zip(subjects, labels))
    assert sorted(by_label[s] for s in val) == [0, 0, 1, 2]     # round(.2n), >= 1, class of 1 kept
    rev_train, rev_val = inner_split(subjects[::-1], labels[::-1], 0.2, seed=3)
    assert (rev_train, rev_val) == (train, val)                  # input order does not matter
    assert inner_split(subjects, labels, 0.2, seed=4)[1] != val
    assert inner_split(subjects, labels, 0.0, seed=3) == (sorted(subjects), [])


def test_class_weights_are_balanced():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert np.allclose(w, [4 / 9, 4 / 3, 0.0])


# ----------------------------------------------------------------------------- determinism
def test_two_cpu_runs_with_the_same_seed_give_identical_weights(slice_items):
    items = slice_items()
    config = TrainConfig(epochs=3, batch_size=8, val_fraction=0.25, progress=False, seed=5)
    runs = []
    for _ in range(2):
        net = seeded_network(tiny_cnn, 5)
        train_network(net, items, config, augment=SliceAugment(noise_std=0.1))
        runs.append(state(net))
    assert same(*runs)
    other = seeded_network(tiny_cnn, 5)
    train_network(other, items, TrainConfig(**{**config.__dict__, "seed": 6}),
                  augment=SliceAugment(noise_std=0.1))
    assert not same(runs[0], state(other))
    assert torch.get_num_threads() >= 1 and not torch.are_deterministic_algorithms_enabled()


# ----------------------------------------------------------------------------- leakage
class RecordingItems(ArrayItems):
    """Logs the subjects of every batch the engine reads."""

    def __post_init__(self):
        super().__post_init__()
        self.batches = []

    def get(self, index):
        self.batches.append(set(self.groups[index]))
        return super().get(index)


def test_validation_subjects_come_from_the_training_subjects_and_never_mix(slice_items):
    base = slice_items(n_subjects=10)
    items = RecordingItems(base.data, base.labels, base.groups, base.positions)
    test_subjects = {"sub-98", "sub-99"}                         # never passed to the engine
    result = train_network(seeded_network(tiny_cnn, 0), items,
                           TrainConfig(epochs=2, batch_size=8, val_fraction=0.2, progress=False))
    given = set(base.groups)
    assert result.val_subjects and set(result.val_subjects) <= given
    assert set(result.train_subjects) | set(result.val_subjects) == given
    assert not set(result.train_subjects) & set(result.val_subjects)
    assert not (set(result.val_subjects) | set(result.train_subjects)) & test_subjects
    for batch in items.batches:                                  # a batch is train or val
        assert batch <= set(result.train_subjects) or batch <= set(result.val_subjects)
    assert any(batch <= set(result.val_subjects) for batch in items.batches)


def test_items_of_one_subject_must_share_a_label(slice_items):
    items = slice_items()
    items.labels[0] = 1 - items.labels[0]
    with pytest.raises(NeurodxError, match="sub-00: items of one subject carry different"):
        train_network(tiny_cnn(), items, TrainConfig(epochs=1, progress=False))


# ----------------------------------------------------------------------------- divergence
def test_nan_loss_stops_training_with_a_clear_error(slice_items):
    items = slice_items()
    items.data[5, 0, 0, 0] = np.nan
    with pytest.raises(NeurodxError, match=r"loss became nan at epoch 1, batch \d"):
        train_network(tiny_cnn(), items, TrainConfig(epochs=2, batch_size=8, val_fraction=0,
                                                     progress=False))


# ----------------------------------------------------------------------------- checkpoints
class Interrupt(Exception):
    pass


class FlakyAugment(SliceAugment):
    """Raises after ``fail_at`` calls, like a crash in the middle of an epoch."""

    def __init__(self, fail_at):
        super().__init__(noise_std=0.05)
        self.calls, self.fail_at = 0, fail_at

    def __call__(self, x, generator):
        self.calls += 1
        if self.calls == self.fail_at:
            raise Interrupt()
        return super().__call__(x, generator)


def test_resume_after_interruption_gives_the_uninterrupted_weights(slice_items, tmp_path):
    items = slice_items()
    config = dict(epochs=4, batch_size=16, val_fraction=0.25, patience=None, progress=False,
                  seed=2)
    reference = seeded_network(tiny_cnn, 2)
    ref_result = train_network(reference, items, TrainConfig(**config),
                               augment=FlakyAugment(fail_at=-1))
    # 36 training items / 16 = 3 batches per epoch: call 8 is in the middle of epoch 3.
    ckpt = tmp_path / "ckpt"
    crashed = seeded_network(tiny_cnn, 2)
    with pytest.raises(Interrupt):
        train_network(crashed, items, TrainConfig(**config, checkpoint_dir=ckpt),
                      augment=FlakyAugment(fail_at=8))
    assert (ckpt / CHECKPOINT_NAME).is_file()
    restarted = seeded_network(lambda: tiny_cnn(), 99)            # a fresh process: other init
    result = train_network(restarted, items, TrainConfig(**config, checkpoint_dir=ckpt),
                           augment=FlakyAugment(fail_at=-1))
    assert result.resumed_from_epoch == 2
    assert [h["train_loss"] for h in result.history] == \
        [h["train_loss"] for h in ref_result.history]
    assert same(state(reference), state(restarted))
    assert result.best_epoch == ref_result.best_epoch


def test_resume_refuses_a_checkpoint_of_other_settings(slice_items, tmp_path):
    items = slice_items()
    config = dict(epochs=1, batch_size=16, progress=False, checkpoint_dir=tmp_path)
    train_network(seeded_network(tiny_cnn, 0), items, TrainConfig(**config))
    with pytest.raises(ConfigError, match="differs in: lr"):
        train_network(seeded_network(tiny_cnn, 0), items, TrainConfig(**config, lr=0.1))
    # resume=False starts again and overwrites.
    train_network(seeded_network(tiny_cnn, 0), items, TrainConfig(**config, lr=0.1,
                                                                  resume=False))


def test_early_stopping_keeps_the_best_epoch(slice_items):
    items = slice_items()
    result = train_network(seeded_network(tiny_cnn, 0), items,
                           TrainConfig(epochs=30, lr=0.05, batch_size=8, patience=2,
                                       val_fraction=0.25, progress=False))
    losses = [h["val_loss"] for h in result.history]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert result.stopped_early == (len(losses) < 30)
    if result.stopped_early:
        assert len(losses) - result.best_epoch == 2


# ----------------------------------------------------------------------------- transfer
class Capture:
    def on_train_begin(self, network, result):
        self.initial = state(network)


def test_fine_tuning_starts_from_the_saved_weights_and_frozen_layers_stay(slice_items,
                                                                          tmp_path):
    source = seeded_network(tiny_cnn, 0)
    train_network(source, slice_items(seed=0), TrainConfig(epochs=2, progress=False))
    save_network(tmp_path / "model", source)
    trained = state(source)
    new_cohort = slice_items(seed=7, n_subjects=4)

    capture = Capture()
    tuned = seeded_network(tiny_cnn, 123)
    assert not same(state(tuned), trained)
    result = train_network(tuned, new_cohort, TrainConfig(epochs=3, lr=0.01, progress=False),
                           init_from=tmp_path / "model", freeze_features=True,
                           callbacks=[capture])
    assert same(capture.initial, trained)                      # equal before the first step
    after = state(tuned)
    features = [k for k in after if k.startswith("features.")]
    assert any(k.endswith("running_mean") for k in features)
    assert all(torch.equal(after[k], trained[k]) for k in features)   # incl. BN statistics
    assert not all(torch.equal(after[k], trained[k]) for k in after if k.startswith("classifier"))
    assert set(result.frozen_parameters) == {k for k in features
                                             if k.endswith(("weight", "bias"))}
    # Without freezing, the convolutional layers move.
    free = seeded_network(tiny_cnn, 123)
    train_network(free, new_cohort, TrainConfig(epochs=3, lr=0.01, progress=False),
                  init_from=tmp_path / "model")
    assert not all(torch.equal(state(free)[k], trained[k]) for k in features)


def test_fine_tuning_a_three_class_model_on_two_classes_reinitialises_the_head(tmp_path,
                                                                                slice_items):
    save_network(tmp_path / "m3", seeded_network(lambda: tiny_cnn(3), 0))
    net = seeded_network(tiny_cnn, 1)
    result = train_network(net, slice_items(), TrainConfig(epochs=1, progress=False),
                           init_from=tmp_path / "m3")
    assert sorted(result.init_from["reinitialised"]) == ["classifier.1.bias",
                                                         "classifier.1.weight"]
    with pytest.raises(ConfigError, match="does not match"):
        train_network(SliceCNN(2, input_size=(12, 12), depth=3, width=4), slice_items(),
                      TrainConfig(epochs=1, progress=False), init_from=tmp_path / "m3")


# ------------------------------------------------------------------ small-cohort recipe
def test_items_per_subject_draws_at_most_k_of_every_subject_deterministically():
    from neurodx.models.training import _draw_per_subject

    groups = np.repeat(np.array(["a", "b", "c"]), [5, 2, 9])
    index = np.arange(len(groups))
    drawn = _draw_per_subject(index, groups, 3, seed=7)
    counts = {g: int(np.sum(groups[drawn] == g)) for g in "abc"}
    assert counts == {"a": 3, "b": 2, "c": 3}
    assert np.array_equal(drawn, _draw_per_subject(index, groups, 3, seed=7))
    assert any(not np.array_equal(drawn, _draw_per_subject(index, groups, 3, seed=s))
               for s in range(8, 12))
    with pytest.raises(ConfigError, match="items_per_subject"):
        TrainConfig(items_per_subject=0)


def test_cosine_schedule_and_items_per_subject_train_deterministically(window_items):
    from neurodx.models.training import epoch_lr

    config = TrainConfig(epochs=10, lr=1e-2, lr_schedule="cosine")
    assert epoch_lr(config, 0) == pytest.approx(1e-2)
    assert epoch_lr(config, 5) == pytest.approx(1e-2 * (0.05 + 0.95 * 0.5))
    assert epoch_lr(config, 9) < epoch_lr(config, 5) < epoch_lr(config, 1)
    with pytest.raises(ConfigError, match="lr_schedule"):
        TrainConfig(lr_schedule="step")
    items = window_items()
    weights = []
    for _ in range(2):
        net = seeded_network(lambda: EEGWindowCNN(2, 4, 64, n_filters_time=4, n_filters_spat=4,
                                                  filter_time_length=5, block_filters=(8,),
                                                  filter_length=3, pool_length=2,
                                                  pool_stride=2), 0)
        train_network(net, items, TrainConfig(epochs=2, batch_size=8, lr_schedule="cosine",
                                              items_per_subject=2, val_fraction=0.25,
                                              progress=False, num_threads=1))
        weights.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_precise_bn_recomputes_running_statistics_from_the_items(window_items):
    from neurodx.models.training import recalibrate_batchnorm

    items = window_items()
    net = seeded_network(lambda: EEGWindowCNN(2, 4, 64, n_filters_time=4, n_filters_spat=4,
                                              filter_time_length=5, block_filters=(8,),
                                              filter_length=3, pool_length=2, pool_stride=2,
                                              dropout=0.5), 0)
    index = np.arange(20)
    captured = []
    hook = net.features.conv_spat.register_forward_hook(lambda m, i, o: captured.append(o))
    with torch.no_grad():
        net.eval()(torch.from_numpy(items.get(index)))
    expected = captured[0].mean(dim=(0, 2, 3))
    hook.remove()
    n = recalibrate_batchnorm(net, items, index, torch.device("cpu"), batch_size=64)
    assert n == 2 and not net.training
    assert torch.allclose(net.features.bnorm.running_mean, expected, atol=1e-5)
    # Frozen modules keep their statistics.
    before = net.features.bnorm.running_mean.clone()
    recalibrate_batchnorm(net, items, np.arange(20, 40), torch.device("cpu"), 64,
                          skip=[net.features])
    assert torch.equal(net.features.bnorm.running_mean, before)
