import logging

import pytest
import torch
from torch import nn

from neurodx.models import SliceCNN, TrainConfig, seeded_network, train_network
from neurodx.models.callbacks import (Callback, EarlyStopping, HistoryLogger, LRSchedule,
                                      ProgressBar, TrainingState, fire)


def tiny_cnn(n_classes=2):
    return SliceCNN(n_classes, input_size=(12, 12), depth=2, width=4, dropout=0.3)


def weights(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_early_stopping_stops_after_patience_and_puts_the_best_weights_back():
    net = nn.Linear(2, 2)
    state = TrainingState()
    stop = EarlyStopping(state, patience=2)
    snapshots = {}
    for epoch, loss in enumerate([1.0, 0.5, 0.7, 0.6], start=1):
        with torch.no_grad():
            net.weight.fill_(epoch)
        snapshots[epoch] = weights(net)
        stop.on_epoch_end(net, {"epoch": epoch, "val_loss": loss})
        assert state.stopped == (epoch == 4)
    assert (state.best_epoch, state.best_loss, state.bad_epochs) == (2, 0.5, 2)
    stop.on_train_end(net, None)
    assert same(weights(net), snapshots[2])


def test_early_stopping_without_patience_or_validation_never_stops():
    state = TrainingState()
    stop = EarlyStopping(state, patience=None)
    for epoch, loss in enumerate([1.0, 2.0, 3.0, 4.0], start=1):
        stop.on_epoch_end(nn.Linear(1, 1), {"epoch": epoch, "val_loss": loss})
    assert not state.stopped and state.best_epoch == 1
    quiet = TrainingState()
    EarlyStopping(quiet, patience=1).on_epoch_end(nn.Linear(1, 1), {"epoch": 1})
    assert quiet.best_weights is None and not quiet.stopped


def test_engine_stops_early_through_its_callback(slice_items):
    result = train_network(seeded_network(tiny_cnn, 0), slice_items(),
                           TrainConfig(epochs=40, lr=0.05, batch_size=8, patience=1,
                                       val_fraction=0.25, progress=False))
    losses = [h["val_loss"] for h in result.history]
    assert result.stopped_early and len(losses) < 40
    assert losses[-1] >= min(losses[:-1])             # the last epoch did not improve


class Interrupt(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, network, record):
        if record["epoch"] == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("settings", [dict(), dict(lr_schedule="cosine", items_per_subject=3,
                                                     precise_bn=True, patience=None)])
def test_checkpoint_resume_gives_the_weights_of_an_uninterrupted_run(slice_items, tmp_path,
                                                                     settings):
    items = slice_items()
    config = dict(epochs=5, batch_size=8, val_fraction=0.25, progress=False, seed=2, **settings)
    whole = seeded_network(tiny_cnn, 2)
    reference = train_network(whole, items, TrainConfig(**config))
    first = seeded_network(tiny_cnn, 2)
    with pytest.raises(KeyboardInterrupt):
        train_network(first, items, TrainConfig(checkpoint_dir=tmp_path, **config),
                      callbacks=[Interrupt(at=2)])
    resumed_net = seeded_network(tiny_cnn, 2)
    resumed = train_network(resumed_net, items, TrainConfig(checkpoint_dir=tmp_path, **config))
    assert resumed.resumed_from_epoch == 2
    assert same(weights(whole), weights(resumed_net))
    assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in reference.history]
    assert resumed.best_epoch == reference.best_epoch


def test_progress_bar_is_quiet_when_stderr_is_not_a_terminal(capsys):
    bar = ProgressBar(3, TrainingState(), enabled=True)
    bar.on_train_begin(None, None)
    assert bar.bar.disable                       # pytest's captured stderr is no terminal
    bar.on_epoch_end(None, {"epoch": 1, "train_loss": 0.5, "seconds": 0.1})
    bar.on_train_end(None, None)
    assert bar.bar is None and capsys.readouterr().err == ""


def test_progress_bar_draws_on_a_terminal_unless_disabled(monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    state = TrainingState(epoch=1)
    drawn = ProgressBar(3, state, enabled=True)
    drawn.on_train_begin(None, None)
    assert not drawn.bar.disable and drawn.bar.n == 1     # a resumed run starts where it was
    drawn.on_exception(None, KeyboardInterrupt())
    off = ProgressBar(3, state, enabled=False)
    off.on_train_begin(None, None)
    assert off.bar.disable
    off.on_train_end(None, None)


def test_history_logger_logs_one_line_per_epoch(caplog):
    with caplog.at_level(logging.INFO, logger="neurodx"):
        HistoryLogger(30).on_epoch_end(None, {"epoch": 3, "train_loss": 0.25, "val_loss": 0.5})
    assert "epoch 3/30 train_loss=0.2500 val_loss=0.5000" in caplog.text


def test_lr_schedule_sets_the_rate_of_each_epoch():
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    schedule = LRSchedule(optimizer, lambda epoch: 0.1 * (epoch + 1))
    schedule.on_epoch_begin(None, 4)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5)


def test_callbacks_begin_in_order_and_end_in_reverse():
    calls = []

    class Named:
        def __init__(self, name):
            self.name = name

        def on_train_begin(self, network, result):
            calls.append(("begin", self.name))

        def on_train_end(self, network, result):
            calls.append(("end", self.name))

    both = [Named("a"), Named("b"), object()]       # an object without events is skipped
    fire(both, "on_train_begin", None, None)
    fire(both, "on_train_end", None, None)
    assert calls == [("begin", "a"), ("begin", "b"), ("end", "b"), ("end", "a")]
