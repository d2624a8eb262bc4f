"""Training routes into bundles: the CT CNN route (tiny settings) end to end with scoring."""
import re
from pathlib import Path

import pandas as pd
import pydicom
import pytest

from neurodx.bundles import load_bundle, train_route
from neurodx.cli import main
from neurodx.config import load_config
from neurodx.scoring import journal_path
from neurodx.simulate import simulate_ct_cohort

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def ct_cohort(tmp_path_factory):
    """SYNTHETIC: 2 x 3 DICOM head CTs of 32 x 32 x 3 voxels (fake identities in the headers)."""
    return simulate_ct_cohort(tmp_path_factory.mktemp("ct") / "cohort",
                              groups=("normal", "hemorrhage"), subjects_per_group=3,
                              shape=(32, 32, 3), seed=3)


def _dicom_identities(cohort) -> list[str]:
    out = []
    for f in sorted(cohort.rglob("*.dcm")):
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        out += [*str(ds.PatientName).split("^"), str(ds.PatientID), str(ds.PatientBirthDate)]
    return sorted(set(out))


def test_a_tuned_route_is_trained_by_one_grid_search(small_eeg_cohort, tmp_path):
    config = load_config(str(CONFIGS / "hc_fes_chr_eeg.yaml"), overrides={
        "cohort": {"path": str(small_eeg_cohort)}, "eeg": {"min_duration": 0.0},
        "routes": {"rmt_les": {"kind": "rmt_les", "classifier": "logreg",
                               "tune": {"param_grid": {"clf__C": [0.01, 1.0]},
                                        "inner_splits": 2}}}})
    bundle = train_route(config, "rmt_les", tmp_path / "tuned")
    assert bundle.manifest["best_params"]["clf__C"] in (0.01, 1.0)
    assert bundle.route.estimator[-1].C == bundle.manifest["best_params"]["clf__C"]


def test_ct_cnn_route_trains_scores_and_keeps_identities_out(ct_cohort, tmp_path, capsys):
    model = tmp_path / "ct_model"
    assert main(["train", str(CONFIGS / "brain_ct.yaml"), "--route", "cnn7", "--cohort",
                 str(ct_cohort), "--out", str(model), "--set", "routes.cnn7.preset=ct_fast",
                 "--set", "routes.cnn7.epochs=1", "--set", "routes.cnn7.depth=3",
                 "--set", "routes.cnn7.slice_shape=[32, 32]",
                 "--set", "routes.cnn7.num_threads=1"]) == 0
    bundle = load_bundle(model)
    m = bundle.manifest
    assert m["parts"] == {"skops": None, "torch": {"estimator": "torch/estimator"}}
    assert m["input"]["modality"] == "volume" and m["input"]["volume_shape"] == [32, 32, 3]
    assert sorted(m["files"]) == ["torch/estimator/manifest.json",
                                  "torch/estimator/model.safetensors"]
    # a damaged series and a file of another modality next to the cohort's scans
    bad = tmp_path / "bad" / "dicom"
    bad.mkdir(parents=True)
    for f in sorted((ct_cohort / "sub-normal01/ct/dicom").iterdir()):
        bad.joinpath(f.name).write_bytes(f.read_bytes()[:400])
    (tmp_path / "bad" / "rec.edf").write_bytes(b"0" * 300)
    scores = tmp_path / "scores.csv"
    assert main(["score", str(model), str(ct_cohort), str(tmp_path / "bad"), "--out",
                 str(scores), "--no-progress"]) == 1
    captured = capsys.readouterr()
    df = pd.read_csv(scores, keep_default_na=False)
    ok = df[df["status"] == "ok"]
    assert sorted(ok["participant_id"]) == sorted(pd.read_csv(
        ct_cohort / "participants.tsv", sep="\t")["participant_id"])
    assert (ok["vote_margin"].astype(float) >= 0).all()
    assert set(ok["predicted"]) <= {"normal", "hemorrhage"}
    errors = df[df["status"] == "error"].set_index("participant_id")["error"]
    assert errors["rec"].startswith("an eeg file; this model takes volume")
    assert len(errors) == 2 and errors["dicom"]
    secrets = _dicom_identities(ct_cohort)
    assert len(secrets) >= 12
    texts = [scores.read_text(), journal_path(scores).read_text(), captured.out, captured.err,
             *(p.read_text() for p in model.rglob("*.json"))]
    for text in texts:
        assert not [s for s in secrets if re.search(rf"\b{re.escape(s)}\b", text)]
