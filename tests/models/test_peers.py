"""The field's networks as peers: ResNet-18 / plain CNN for slices, braindecode for EEG."""
import logging

import numpy as np
import pytest
import torch

from neurodx.errors import ConfigError
from neurodx.evaluation import build_braindecode_route
from neurodx.models import SliceVotingClassifier, WindowVotingClassifier, load_estimator
from neurodx.models.peers import PlainCNN, ResNet18, braindecode_available

from .test_estimators import TINY_EEG, TINY_SLICE, eeg_subject

needs_braindecode = pytest.mark.skipif(not braindecode_available(),
                                       reason="the braindecode extra does not import")


def test_resnet18_has_torchvisions_parameter_count():
    # torchvision's resnet18 has 11,689,512 parameters (3 input channels, 1000 classes);
    # with 1 input channel and 2 classes: - 2 * 64 * 7 * 7 + (512 * 2 + 2) - (512 * 1000 + 1000).
    net = ResNet18(2, (64, 64), in_channels=1)
    expected = 11_689_512 - 2 * 64 * 49 + (512 * 2 + 2) - (512 * 1000 + 1000)
    assert net.n_parameters() == expected
    assert net(torch.zeros(3, 1, 64, 64)).shape == (3, 2)
    with pytest.raises(ConfigError, match="32 x 32"):
        ResNet18(2, (16, 16))


def test_plain_cnn_shapes():
    net = PlainCNN(3, (32, 40), in_channels=3)
    assert net(torch.zeros(2, 3, 32, 40)).shape == (2, 3)
    assert net.get_config() == dict(n_classes=3, input_size=[32, 40], in_channels=3)


@pytest.mark.parametrize("architecture", ["plain", "resnet18"])
def test_slice_peers_train_with_neurodx_engine_and_round_trip(architecture, volume, tmp_path):
    rng = np.random.default_rng(0)
    y = np.array(["HC", "MA"] * 4)
    subjects = [(f"sub-{i}", volume(int(lab == "MA"), rng, shape=(32, 32, 3)))
                for i, lab in enumerate(y)]
    est = SliceVotingClassifier(mode="pooled", architecture=architecture,
                                **{**TINY_SLICE, "epochs": 2}).fit(subjects, y)
    assert type(est.network_).__name__ == {"plain": "PlainCNN", "resnet18": "ResNet18"}[
        architecture]
    est.save(tmp_path / "m")
    assert np.array_equal(load_estimator(tmp_path / "m").predict_proba(subjects[:2]),
                          est.predict_proba(subjects[:2]))
    with pytest.raises(ConfigError, match="mode to pooled"):
        SliceVotingClassifier(mode="ensemble", architecture=architecture).fit(subjects, y)


def test_unknown_architectures_are_config_errors():
    with pytest.raises(ConfigError, match="architecture must be one of"):
        WindowVotingClassifier(sfreq=64.0, architecture="EEGNetv9")._check_params()
    with pytest.raises(ConfigError, match="architecture must be one of"):
        SliceVotingClassifier(architecture="vgg")._check_params()
    with pytest.raises(ConfigError, match="routes.x.model"):
        build_braindecode_route("x", {"kind": "braindecode", "model": "EEGNetv9"}, seed=0)


def test_braindecode_route_is_skipped_with_a_warning_without_the_extra(monkeypatch, caplog):
    import neurodx.models.peers as peers

    monkeypatch.setattr(peers, "braindecode_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="neurodx"):
        route = build_braindecode_route("shallow", {"kind": "braindecode",
                                                    "model": "ShallowFBCSPNet"}, seed=0)
    assert route is None
    assert "route shallow skipped" in caplog.text and "neurodx[braindecode]" in caplog.text


@needs_braindecode
@pytest.mark.parametrize("model", ["ShallowFBCSPNet", "EEGNet", "Deep4Net"])
def test_braindecode_networks_train_vote_and_round_trip(model, tmp_path):
    rng = np.random.default_rng(2)
    y = np.array(["HC", "FES"] * 4)
    data = [eeg_subject(int(lab == "FES"), rng, sfreq=128.0, seconds=12) for lab in y]
    settings = {**TINY_EEG, "window": 4.0, "epochs": 1}
    est = WindowVotingClassifier(sfreq=128.0, architecture=model, calibration="logistic",
                                 **settings).fit(data, y)
    assert type(est.network_).__name__ == "BraindecodeNetwork"
    assert est.network_.get_config()["model"] == model
    est.save(tmp_path / "m")
    assert np.array_equal(load_estimator(tmp_path / "m").predict_proba(data),
                          est.predict_proba(data))


@needs_braindecode
def test_braindecode_route_from_config_uses_the_preset_recipe():
    route = build_braindecode_route("shallow", {"kind": "braindecode", "model": "EEGNet",
                                                "preset": "eeg_fast", "epochs": 2}, seed=3)
    est = route.estimator
    assert est.architecture == "EEGNet" and est.epochs == 2 and est.random_state == 3
    assert est.window == 2.0                     # eeg_fast's windows
