import pytest
from torch import nn

from neurodx.errors import ConfigError
from neurodx.models import (PRESETS, SliceVotingClassifier, WindowVotingClassifier, get_preset,
                            make_estimator)


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_builds_its_estimator(name):
    est = make_estimator(name, epochs=1)
    cls = SliceVotingClassifier if PRESETS[name][0] == "SliceVotingClassifier" \
        else WindowVotingClassifier
    assert isinstance(est, cls) and est.epochs == 1


def test_full_and_fast_study_settings():
    fmri = get_preset("fmri_ma")
    assert fmri["mode"] == "ensemble" and fmri["frame_stride"] == 1
    assert fmri["voting"] == "two_level"           # each position votes, then the 31 vote
    assert get_preset("fmri_ma_fast")["frame_stride"] > 1
    assert get_preset("fmri_ma_fast")["voting"] == "two_level"
    ct7 = make_estimator("ct7")                       # the published 7-layer design
    assert ct7.depth == 7 and ct7.slice_shape == (256, 256) and ct7.voting == "soft"
    ct = make_estimator("ct")
    assert ct.slice_shape == (256, 256) and ct.mode == "pooled" and ct.pooling == "max"
    # one recipe for neurodx's CT network and the peers: only the network differs
    recipe = {k: v for k, v in get_preset("ct_fast").items() if k != "transform"}
    for peer in ("ct_plain", "ct_resnet18"):
        settings = get_preset(peer)
        assert all(settings[k] == v for k, v in recipe.items()
                   if k in settings and k not in ("depth", "width", "max_width", "growth",
                                                  "norm", "dropout", "pooling",
                                                  "precise_bn", "epochs"))
    zeros = __import__("numpy").zeros((4, 4))
    assert len(ct.transform.for_unit("HU")(zeros)) == 3                  # 3 HU windows
    assert len(ct.transform.for_unit("display")(zeros)) == 3             # same network input
    deep7 = make_estimator("eeg_deep7")       # the published design stays available by name
    deep7.n_channels_, deep7.window_samples_ = 64, 1000
    layers = [m for m in deep7._build_network(3).modules()
              if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 7 and deep7.head == "dense"   # 2 first-layer convs + 4 blocks + dense
    for name, samples in (("eeg_hc_fes_chr", 1000), ("eeg_fast", 256)):
        eeg = make_estimator(name)              # shallow log-power design (issue 22)
        assert eeg.head == "logpower" and tuple(eeg.block_filters) == ()
        eeg.n_channels_, eeg.window_samples_ = 64, samples
        assert eeg._build_network(3)(__import__("torch").zeros(2, 64, samples)).shape == (2, 3)
    full = get_preset("eeg_hc_fes_chr")
    assert {k: v for k, v in get_preset("eeg_deep7").items() if k in full and k not in
            {"n_filters_time", "n_filters_spat", "filter_time_length", "block_filters",
             "pool_length", "pool_stride", "head"}} == \
        {k: v for k, v in full.items() if k in get_preset("eeg_deep7") and k not in
         {"n_filters_time", "n_filters_spat", "filter_time_length", "block_filters",
          "pool_length", "pool_stride", "head"}}        # one training recipe for both
    with pytest.raises(ConfigError, match="unknown preset"):
        get_preset("fmri")
