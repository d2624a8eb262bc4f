"""Bundle integrity that means something: an HMAC signature under a user key, and a pinned model id.

The forger in these tests edits a bundle and recomputes every SHA-256 (the manifest's
own too), which the hashes alone cannot detect; the signature and the pin can.
"""
import json

import numpy as np
import pytest
import skops.io as sio

from neurodx.bundles import load_bundle, read_key, save_bundle
from neurodx.bundles.signing import KEY_ENV, SIGNATURE
from neurodx.cli import main
from neurodx.errors import BundleError, ConfigError

KEY = b"0123456789abcdef0123456789abcdef"


@pytest.fixture
def signed(eeg_bundle, tmp_path):
    """The session bundle written again, signed with KEY."""
    bundle = load_bundle(eeg_bundle)
    ctx = bundle.context()
    return save_bundle(bundle.route, ctx, ctx.config, tmp_path / "signed", sign_key=KEY)


def _invert(root, reseal):
    """The issue's attack: turn the classifier around (HC scored as FES...) and reseal."""
    estimator = load_bundle(root).route.estimator
    clf = estimator[-1]
    clf.classes_ = np.roll(clf.classes_, 1)
    (root / "estimator.skops").write_bytes(sio.dumps(estimator))
    return reseal(root)


def _score(model, cohort, out, *extra):
    return main(["score", str(model), str(cohort), "--out", str(out), "--no-progress", *extra])


def test_a_signed_bundle_loads_with_its_key_and_only_with_it(signed):
    body = json.loads((signed / SIGNATURE).read_text())
    assert body["algorithm"] == "hmac-sha256" and len(body["mac"]) == 64
    assert load_bundle(signed, key=KEY).route.name == "rmt_les"
    assert load_bundle(signed).route.name == "rmt_les"       # without a key: not checked
    with pytest.raises(BundleError, match="signature does not match"):
        load_bundle(signed, key=KEY[::-1])


def test_an_unsigned_bundle_is_refused_when_a_key_is_given(eeg_bundle):
    with pytest.raises(BundleError, match="not signed"):
        load_bundle(eeg_bundle, key=KEY)


def test_the_hashes_alone_do_not_catch_a_resealed_edit_but_the_signature_does(
        signed, small_eeg_cohort, tmp_path, capsys, reseal):
    original = load_bundle(signed).model_id
    forged_id = _invert(signed, reseal)
    assert forged_id != original
    # What the SHA-256 values cannot prove: the forged bundle loads and scores (exit 0).
    assert _score(signed, small_eeg_cohort, tmp_path / "a.csv") == 0
    capsys.readouterr()
    # With the key: refused before anything is scored, one line, exit 2.
    (tmp_path / "key").write_bytes(KEY + b"\n")
    assert _score(signed, small_eeg_cohort, tmp_path / "b.csv", "--key-file",
                  str(tmp_path / "key")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "signature does not match" in err
    assert not (tmp_path / "b.csv").exists()
    # Pinned to the id `neurodx train` printed: refused as well.
    assert _score(signed, small_eeg_cohort, tmp_path / "c.csv", "--expect-model-id",
                  original) == 2
    assert f"model id {forged_id}, expected {original}" in capsys.readouterr().err


def test_the_signature_is_checked_before_any_other_file_is_read(signed, forge, craft, tmp_path,
                                                                monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    forge(signed, craft("sklearn.datasets._covtype", "GzipFile", (str(victim), "wb")))
    seen = []
    monkeypatch.setattr(sio, "get_untrusted_types", lambda **kw: seen.append(kw) or [])
    with pytest.raises(BundleError, match="signature does not match"):
        load_bundle(signed, key=KEY)
    assert not seen and victim.read_text() == "precious"


def test_the_model_id_pin(signed):
    bundle = load_bundle(signed)
    full = bundle.manifest["manifest_sha256"]
    assert load_bundle(signed, expect_model_id=bundle.model_id).model_id == bundle.model_id
    assert load_bundle(signed, expect_model_id=full.upper()).model_id == bundle.model_id
    with pytest.raises(BundleError, match="refusing another bundle"):
        load_bundle(signed, expect_model_id="0" * 16)
    with pytest.raises(ConfigError, match="--expect-model-id 'abc': expected the 16-digit"):
        load_bundle(signed, expect_model_id="abc")


def test_keys_come_from_the_file_else_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert read_key() is None
    monkeypatch.setenv(KEY_ENV, KEY.decode())
    assert read_key() == KEY
    (tmp_path / "k").write_bytes(b"  " + KEY[::-1] + b"\n")
    assert read_key(tmp_path / "k") == KEY[::-1]        # the file wins, whitespace stripped
    (tmp_path / "short").write_text("secret\n")
    with pytest.raises(ConfigError, match=r"--key-file .*short: a bundle key must be at "
                                          r"least 16 bytes \(make one with: openssl"):
        read_key(tmp_path / "short")
    with pytest.raises(ConfigError, match="--sign-key-file .*nope: cannot read the key file"):
        read_key(tmp_path / "nope", option="--sign-key-file")


def test_the_environment_key_makes_score_require_a_signature(eeg_bundle, small_eeg_cohort,
                                                             tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(KEY_ENV, KEY.decode())
    assert _score(eeg_bundle, small_eeg_cohort, tmp_path / "s.csv") == 2
    assert "not signed" in capsys.readouterr().err


def test_train_signs_with_a_key_file(small_eeg_cohort, tmp_path, monkeypatch, capsys):
    from pathlib import Path

    monkeypatch.delenv(KEY_ENV, raising=False)
    (tmp_path / "key").write_bytes(KEY)
    config = Path(__file__).resolve().parents[2] / "configs" / "region_timeseries.yaml"
    cohort = Path(__file__).resolve().parents[2] / "sample_data" / "regions"
    model = tmp_path / "m"
    assert main(["train", str(config), "--route", "rmt_les", "--cohort", str(cohort),
                 "--out", str(model), "--sign-key-file", str(tmp_path / "key")]) == 0
    assert "signed)" in capsys.readouterr().out
    bundle = load_bundle(model, key=KEY)
    assert (model / SIGNATURE).is_file() and SIGNATURE not in bundle.manifest["files"]
