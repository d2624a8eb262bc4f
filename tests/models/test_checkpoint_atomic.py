"""Checkpoints and saved networks are written by the one atomic writer (fsync, rename)."""
import os

import torch

from neurodx.models import (SliceCNN, read_checkpoint, save_checkpoint, save_network,
                            seeded_network)


def _count_fsyncs(monkeypatch):
    calls = []
    real = os.fsync

    def fsync(fd):
        calls.append(fd)
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


def test_a_checkpoint_is_fsynced_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    calls = _count_fsyncs(monkeypatch)
    tensors = {"model.w": torch.arange(6.0).reshape(2, 3)}
    path = save_checkpoint(tmp_path / "ck.safetensors", tensors, {"epoch": 3, "loss": 0.5})
    assert len(calls) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ck.safetensors"]
    read, meta = read_checkpoint(path)
    assert torch.equal(read["model.w"], tensors["model.w"]) and meta["epoch"] == 3
    # Rewritten in place (resume writes every epoch): the new content replaces the old.
    save_checkpoint(path, {"model.w": torch.zeros(2, 3)}, {"epoch": 4})
    assert read_checkpoint(path)[1]["epoch"] == 4 and len(calls) == 2


def test_a_saved_network_writes_weights_and_manifest_atomically(tmp_path, monkeypatch):
    calls = _count_fsyncs(monkeypatch)
    net = seeded_network(lambda: SliceCNN(2, input_size=(8, 8), depth=1, width=2), 0)
    save_network(tmp_path / "m", net)
    assert len(calls) == 2                                     # weights, then manifest
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["manifest.json",
                                                                 "model.safetensors"]
