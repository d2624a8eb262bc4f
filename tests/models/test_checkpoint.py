import json

import pytest
import torch

from neurodx.errors import ConfigError, NeurodxError
from neurodx.models import (EEGWindowCNN, PerPositionSliceEnsemble, SharedSliceCNN, SliceCNN,
                            build_network, load_network, read_checkpoint, save_checkpoint,
                            save_network, seeded_network)
from neurodx.models.checkpoint import optimizer_from_tensors, optimizer_to_tensors

NETS = {
    "slice": (lambda: SliceCNN(3, input_size=(16, 16), depth=2, width=4),
              lambda: (torch.randn(4, 1, 16, 16), None)),
    "ensemble": (lambda: PerPositionSliceEnsemble(2, 3, input_size=(16, 16), depth=2, width=4),
                 lambda: (torch.randn(4, 1, 16, 16), torch.tensor([0, 2, 1, 2]))),
    "shared": (lambda: SharedSliceCNN(2, 3, input_size=(16, 16), depth=2, width=4),
               lambda: (torch.randn(4, 1, 16, 16), torch.tensor([0, 2, 1, 2]))),
    "eeg": (lambda: EEGWindowCNN(2, 4, 64, n_filters_time=3, n_filters_spat=3,
                                 block_filters=(4, 4), filter_length=3, pool_length=2,
                                 pool_stride=2),
            lambda: (torch.randn(4, 4, 64), None)),
}


@pytest.mark.parametrize("name", NETS)
def test_save_load_round_trip_gives_identical_outputs(name, tmp_path):
    make, inputs = NETS[name]
    net = seeded_network(make, 0)
    net.train()
    x, pos = inputs()
    net(x, pos)                      # move batch-norm statistics away from their defaults
    net.eval()
    save_network(tmp_path / "m", net, classes=["HC", "MA"])
    loaded, manifest = load_network(tmp_path / "m")
    assert manifest["network"] == type(net).__name__ and manifest["classes"] == ["HC", "MA"]
    assert torch.equal(net(x, pos), loaded(x, pos))
    assert not list(tmp_path.glob("m/*.pkl")) and (tmp_path / "m/model.safetensors").is_file()


def test_manifest_checks(tmp_path):
    net = SliceCNN(2, input_size=(8, 8), depth=1)
    save_network(tmp_path / "m", net)
    with open(tmp_path / "m/model.safetensors", "r+b") as fh:     # corrupt one weight byte
        fh.seek(-3, 2)
        fh.write(b"\x7f")
    with pytest.raises(NeurodxError, match="checksum"):
        load_network(tmp_path / "m")
    with pytest.raises(NeurodxError, match="no manifest.json"):
        load_network(tmp_path)
    manifest = json.loads((tmp_path / "m/manifest.json").read_text())
    manifest["format_version"] = 99
    (tmp_path / "m/manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(NeurodxError, match="newer"):
        load_network(tmp_path / "m")
    with pytest.raises(ConfigError, match="unknown network"):
        build_network("ResNet", {})


def test_optimizer_state_round_trip(tmp_path):
    net = SliceCNN(2, input_size=(8, 8), depth=1, width=2)
    opt = torch.optim.AdamW(net.parameters(), lr=0.01, betas=(0.8, 0.95))
    for _ in range(3):
        opt.zero_grad()
        net(torch.randn(4, 1, 8, 8)).sum().backward()
        opt.step()
    tensors, meta = optimizer_to_tensors(opt)
    save_checkpoint(tmp_path / "c.safetensors", tensors, {"optimizer": meta, "epoch": 3})
    read_tensors, read_meta = read_checkpoint(tmp_path / "c.safetensors")
    assert read_meta["epoch"] == 3
    other = torch.optim.AdamW(net.parameters(), lr=0.5)
    optimizer_from_tensors(other, read_tensors, read_meta["optimizer"])
    a, b = opt.state_dict(), other.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for idx in a["state"]:
        for key, value in a["state"][idx].items():
            assert torch.equal(value, b["state"][idx][key])


def test_read_checkpoint_refuses_plain_weights(tmp_path):
    save_network(tmp_path / "m", SliceCNN(2, input_size=(8, 8), depth=1))
    with pytest.raises(NeurodxError, match="not a neurodx training checkpoint"):
        read_checkpoint(tmp_path / "m/model.safetensors")
    with pytest.raises(NeurodxError, match="not found"):
        read_checkpoint(tmp_path / "missing.safetensors")
