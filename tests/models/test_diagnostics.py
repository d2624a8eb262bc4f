"""Random-matrix diagnostics of networks checked against known cases."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from neurodx.errors import ConfigError
from neurodx.models import SliceVotingClassifier, WindowVotingClassifier, get_preset
from neurodx.models.diagnostics import (fit_power_law, hessian_spectrum, layer_matrices,
                                        layer_spectrum, summarize_diagnostics, weight_spectra)
from neurodx.models.diagnostics.hessian import loss_closure
from neurodx.rmt.marchenko_pastur import bbp_threshold, marchenko_pastur_edges, spike_location


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gaussian_matrix_fits_mp_with_no_spike(seed):
    rng = np.random.default_rng(seed)
    w = 0.3 * rng.standard_normal((600, 150))
    layer = layer_spectrum(w)
    mp = layer["mp"]
    assert mp["sigma2"] == pytest.approx(0.09, rel=0.03)
    assert mp["lambda_plus"] == pytest.approx(marchenko_pastur_edges(0.25, 0.09)[1], rel=0.03)
    assert mp["ks"] < 0.05
    assert mp["n_spikes"] == 0
    # the transposed matrix has the same ESD (orientation N >= M is chosen for us)
    assert layer_spectrum(w.T)["eigenvalues"] == pytest.approx(layer["eigenvalues"])


@pytest.mark.parametrize("theta", [2.0, 4.0])
def test_planted_rank_one_gives_one_spike_at_the_bbp_location(theta):
    n, m = 2000, 400
    c = m / n
    assert theta > bbp_threshold(c)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((n, m))
    u = rng.standard_normal(m)
    u /= np.linalg.norm(u)
    # population covariance I + theta u u^T: rows z (I + theta u u^T)^(1/2)
    z = z + (np.sqrt(1 + theta) - 1) * np.outer(z @ u, u)
    mp = layer_spectrum(z)["mp"]
    assert mp["n_spikes"] == 1
    assert mp["spikes"][0] == pytest.approx(float(spike_location(theta, c)), rel=0.08)
    assert mp["sigma2"] == pytest.approx(1.0, rel=0.05)


def test_below_bbp_threshold_no_spike():
    n, m = 2000, 400
    rng = np.random.default_rng(1)
    z = rng.standard_normal((n, m))
    z[:, 0] *= np.sqrt(1 + 0.5 * bbp_threshold(m / n))
    assert layer_spectrum(z)["mp"]["n_spikes"] == 0


@pytest.mark.parametrize("alpha", [2.0, 3.5])
def test_power_law_mle_recovers_alpha_of_pareto_samples(alpha):
    rng = np.random.default_rng(3)
    xmin = 2.0
    tail = xmin * (1 - rng.random(4000)) ** (-1 / (alpha - 1))
    body = rng.uniform(0.1, xmin, 2000)          # not a power law below xmin
    fit = fit_power_law(np.concatenate([body, tail]))
    assert fit["alpha"] == pytest.approx(alpha, abs=4 * fit["alpha_se"] + 0.05)
    assert fit["xmin"] == pytest.approx(xmin, rel=0.25)
    assert fit["ks"] < 0.05
    assert np.isnan(fit_power_law([1.0, 2.0])["alpha"])


def test_conv_weights_unfold_to_one_matrix_per_kernel_position():
    conv = nn.Conv2d(3, 8, (2, 5))
    mats = layer_matrices(conv.weight)
    assert mats.shape == (10, 8, 3)
    w = conv.weight.detach().numpy()
    assert np.allclose(mats[7], w[:, :, 1, 2])          # position (1, 2) of the 2x5 kernel
    layers = weight_spectra(nn.Sequential(conv, nn.Flatten(), nn.Linear(8, 2)))
    assert [(la["kind"], la["n_matrices"], la["N"], la["M"]) for la in layers] == \
        [("Conv2d", 10, 8, 3), ("Linear", 1, 8, 2)]
    assert len(layers[0]["eigenvalues"]) == 30
    assert layers[1]["mp"] is None and layers[1]["note"]     # too small: said, not faked


@pytest.fixture
def one_thread():
    # tiny autograd graphs: thread start-up would dominate on a shared machine
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _tiny_mlp_problem():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = torch.randn(32, 3)
    y = (x[:, 0] > 0).long()
    return net, [(x, None, y)]


def test_lanczos_top_eigenvalue_matches_the_explicit_hessian(one_thread):
    net, batches = _tiny_mlp_problem()
    loss = loss_closure(net, batches, nn.CrossEntropyLoss())
    params = list(net.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params]).double()
    shapes = [p.shape for p in params]

    def loss_of(v):
        chunks, k = [], 0
        for s in shapes:
            n = int(np.prod(s))
            chunks.append(v[k:k + n].reshape(s))
            k += n
        out = torch.func.functional_call(net.double(), {n: c for (n, _), c in
                                                        zip(net.named_parameters(), chunks)},
                                         (batches[0][0].double(),))
        return nn.functional.cross_entropy(out, batches[0][2])

    exact = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss_of, flat)).numpy()
    net.float()
    res = hessian_spectrum(loss, params, n_steps=len(flat), n_vectors=2, seconds=60, seed=0)
    assert res["n_parameters"] == len(flat) == 26
    assert res["top_eigenvalues"][0] == pytest.approx(exact[-1], rel=1e-3)
    assert res["top_eigenvalues"][1] == pytest.approx(exact[-2], rel=1e-2)
    assert sum(res["slq_weights"][0]) == pytest.approx(1.0)
    assert not res["stopped_early"]
    # a zero budget stops after the first product and says so
    quick = hessian_spectrum(loss, params, n_steps=20, n_vectors=3, seconds=0.0)
    assert quick["stopped_early"] and quick["n_products"] == 1


def _volumes(n=6, shape=(16, 16, 3)):
    """SYNTHETIC volumes: class 1 has a bright block."""
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * (n // 2))
    vols = []
    for i, lab in enumerate(y):
        v = rng.standard_normal(shape).astype(np.float32)
        if lab:
            v[2:6, 2:6] += 2.0
        vols.append((f"sub-{i:02d}", v))
    return vols, y


def test_estimator_with_diagnostics_stores_a_json_able_record():
    subjects, y = _volumes()
    # the published CT network (7 convolutional stages, 16-128 filters) on small slices
    params = get_preset("ct7", transform=None, slice_shape=(32, 32), epochs=1,
                        num_threads=1, val_fraction=0.0, calibration=None, progress=False,
                        diagnostics={"hessian_seconds": 20, "hessian_items": 16,
                                     "lanczos_steps": 8, "slq_vectors": 2})
    est = SliceVotingClassifier(**params).fit(subjects, y)
    diag = est.diagnostics_
    json.dumps(diag, allow_nan=True)
    json.dumps(summarize_diagnostics(diag))
    kinds = [la["kind"] for la in diag["networks"][0]["layers"]]
    assert kinds.count("Conv2d") == 7 and kinds[-1] == "Linear"
    h = diag["hessian"]
    assert len(h["top_eigenvalues"]) == 8 and h["n_parameters"] == est.network_.n_parameters()
    assert h["top_eigenvalues"] == sorted(h["top_eigenvalues"], reverse=True)
    # deterministic: the same fit gives the same diagnostics
    again = SliceVotingClassifier(**params).fit(subjects, y).diagnostics_
    assert again["hessian"]["top_eigenvalues"] == pytest.approx(h["top_eigenvalues"])
    assert not hasattr(SliceVotingClassifier(**{**params, "diagnostics": False})
                       .fit(subjects, y), "diagnostics_")


def test_ensemble_diagnostics_cover_every_member():
    subjects, y = _volumes(n=4)
    est = SliceVotingClassifier(mode="ensemble", depth=2, width=4, epochs=1, batch_size=16,
                                val_fraction=0.0, progress=False, num_threads=1,
                                augment=None, diagnostics={"hessian": False}).fit(subjects, y)
    names = [n["name"] for n in est.diagnostics_["networks"]]
    assert names == ["position 0", "position 1", "position 2"]
    assert est.diagnostics_["hessian"] is None


def test_bad_diagnostics_setting_is_a_config_error():
    subjects, y = _volumes(n=4)
    with pytest.raises(ConfigError, match="diagnostics"):
        WindowVotingClassifier(diagnostics="yes").fit([np.zeros((2, 100))] * 2, [0, 1])
    with pytest.raises(ConfigError, match="unknown option"):
        SliceVotingClassifier(mode="pooled", depth=2, width=4, epochs=1, progress=False,
                              val_fraction=0.0, diagnostics={"budget": 3}).fit(subjects, y)


def test_window_classifier_diagnostics(one_thread):
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 3)
    subjects = [rng.standard_normal((4, 2048)) + (lab * np.sin(np.arange(2048) / 2.0))
                for lab in y]
    params = get_preset("eeg_deep7", sfreq=64.0, window=4.0, epochs=1, num_threads=1,
                        val_fraction=0.0, n_filters_time=4, n_filters_spat=4,
                        block_filters=(8, 8, 8, 8), calibration=None, precise_bn=False,
                        diagnostics={"hessian_items": 8, "lanczos_steps": 3,
                                     "slq_vectors": 1})
    est = WindowVotingClassifier(**params).fit(subjects, y)
    layers = est.diagnostics_["networks"][0]["layers"]
    assert len([la for la in layers if la["kind"].startswith("Conv")]) >= 6
    assert est.diagnostics_["hessian"]["n_parameters"] == est.network_.n_parameters()
    json.dumps(est.diagnostics_)
