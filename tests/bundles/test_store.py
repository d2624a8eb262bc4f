"""Bundles: what the manifest records, round trips, and refusing tampered or untrusted bundles."""
import hashlib
import json
import os

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from neurodx.bundles import load_bundle, load_checked_input, save_bundle
from neurodx.errors import BundleError
from neurodx.io import load_cohort


def test_manifest_records_route_input_and_hashes(eeg_bundle):
    m = json.loads((eeg_bundle / "manifest.json").read_text())
    # stateless prefix = window spectra only: the LES step is fitted on the training subjects
    assert m["route"]["name"] == "rmt_les" and m["route"]["stateless_steps"] == 1
    assert m["study"] == "hc_fes_chr_eeg" and m["classes"] == ["CHR", "FES", "HC"]
    inp = m["input"]
    assert inp["modality"] == "eeg" and inp["n_channels"] == 64 and inp["sfreq"] == 128.0
    assert len(inp["channel_names"]) == 64 and inp["sfreq_policy"] == "resample"
    assert m["preprocessing"]["l_freq"] == 1.0 and m["seed"] == 0
    assert m["training"]["n_subjects"] == 6 and m["training"]["synthetic_data"] is True
    assert len(m["training"]["inputs_sha256"]) == 7          # 6 EDF files + participants.tsv
    assert {"numpy", "scikit-learn", "pyriemann", "skops", "safetensors"} <= set(m["versions"])
    assert "git_commit" in m and m["created"].endswith("+00:00")
    assert m["parts"] == {"skops": "estimator.skops", "torch": {}}
    for rel, digest in m["files"].items():
        assert hashlib.sha256((eeg_bundle / rel).read_bytes()).hexdigest() == digest
    assert load_bundle(eeg_bundle).model_id == m["manifest_sha256"][:16]


def test_loaded_bundle_predicts_a_training_subject(eeg_bundle, small_eeg_cohort):
    bundle = load_bundle(eeg_bundle)
    subject = load_cohort(small_eeg_cohort).subjects[0]
    out = bundle.predict(load_checked_input(subject.paths[0], bundle))
    assert out["predicted"] in bundle.classes and out["vote_margin"] is None
    assert list(out["proba"]) == bundle.classes
    assert np.isclose(sum(out["proba"].values()), 1.0)


def test_a_changed_byte_is_refused(bundle_copy):
    path = bundle_copy / "estimator.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="estimator.skops was modified .* tampered"):
        load_bundle(bundle_copy)


def test_an_edited_manifest_is_refused(bundle_copy):
    m = json.loads((bundle_copy / "manifest.json").read_text())
    m["classes"] = ["HC", "FES", "CHR"]
    (bundle_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="manifest was modified"):
        load_bundle(bundle_copy)


def test_added_or_missing_files_are_refused(bundle_copy):
    (bundle_copy / "extra.py").write_text("print('hi')\n")
    with pytest.raises(BundleError, match="not listed in the manifest: extra.py"):
        load_bundle(bundle_copy)
    (bundle_copy / "extra.py").unlink()
    (bundle_copy / "estimator.skops").unlink()
    with pytest.raises(BundleError, match="estimator.skops is missing"):
        load_bundle(bundle_copy)


def test_an_unknown_type_is_refused_even_with_valid_hashes(bundle_copy, forge):
    # A forged bundle whose hashes all match but whose skops file calls os.system.
    evil = Pipeline([("f", FunctionTransformer(os.system)), ("clf", LogisticRegression())])
    forge(bundle_copy, sio.dumps(evil))
    with pytest.raises(BundleError, match=r"refusing to load: .*posix.system"):
        load_bundle(bundle_copy)


def test_saving_an_untrusted_route_fails_at_training(eeg_bundle, tmp_path):
    bundle = load_bundle(eeg_bundle)
    route = bundle.route
    route.estimator.steps[-1] = ("clf", Pipeline([("f", FunctionTransformer(os.system)),
                                                  ("lr", route.estimator.steps[-1][1])]))
    with pytest.raises(BundleError, match="posix.system"):
        save_bundle(route, bundle.context(), bundle.context().config, tmp_path / "m")
    assert not (tmp_path / "m").exists() and not list(tmp_path.glob(".m.tmp-*"))


def test_resaving_replaces_a_bundle_but_never_other_folders(eeg_bundle, tmp_path):
    bundle = load_bundle(eeg_bundle)
    ctx = bundle.context()
    save_bundle(bundle.route, ctx, ctx.config, tmp_path / "m")
    save_bundle(bundle.route, ctx, ctx.config, tmp_path / "m")    # replaced in place
    assert load_bundle(tmp_path / "m").route.name == "rmt_les"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]    # no temporary left
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("x")
    with pytest.raises(BundleError, match="not a neurodx bundle"):
        save_bundle(bundle.route, ctx, ctx.config, tmp_path / "data")
    assert (tmp_path / "data" / "keep.txt").read_text() == "x"


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="bundle folder not found"):
        load_bundle(tmp_path / "nope")
    with pytest.raises(BundleError, match="no manifest.json"):
        load_bundle(tmp_path)
