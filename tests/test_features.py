"""`neurodx features`: one row per subject, named LES and cleaned-covariance columns."""
import numpy as np
import pandas as pd

from neurodx.cli import main

# Two bands keep the test fast; names and layout do not depend on the count.
BANDS = "windows.bands={alpha: [8, 13], beta: [13, 30]}"


def test_features_table_has_one_named_row_per_subject(small_eeg_cohort, tmp_path, capsys):
    out = tmp_path / "f.csv"
    assert main(["features", str(small_eeg_cohort), "--out", str(out), "--set", BANDS,
                 "--quiet"]) == 0
    table = pd.read_csv(out)
    participants = pd.read_csv(small_eeg_cohort / "participants.tsv", sep="\t")
    assert sorted(table["participant_id"]) == sorted(participants["participant_id"])
    assert list(table.columns[:3]) == ["participant_id", "group", "site"]
    for name in ("alpha_vne_mean", "beta_logdet_sd", "alpha_stein_iqr", "beta_vne_median",
                 "alpha_msr_l1_mean", "beta_msr_l5_mean"):    # ring-law indicators
        assert name in table.columns
    logcov = [c for c in table.columns if "_logcov_" in c]
    assert len(logcov) == 2 * 64 * 65 // 2                  # upper triangles of 2 bands
    assert table.filter(like="_").notna().all().all()
    assert np.isfinite(table.iloc[:, 3:].to_numpy(float)).all()
    assert "wrote 6 subjects" in capsys.readouterr().out


def test_a_failing_file_is_reported_and_skipped(eeg_cohort_copy, tmp_path, capsys):
    participants = pd.read_csv(eeg_cohort_copy / "participants.tsv", sep="\t")
    bad = eeg_cohort_copy / participants["path"][0]
    bad.write_bytes(bad.read_bytes()[:1000])                  # truncated EDF
    out = tmp_path / "f.csv"
    code = main(["features", str(eeg_cohort_copy), "--out", str(out), "--set", BANDS,
                 "--covariance", "none", "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert participants["participant_id"][0] in err and "left out" in err
    table = pd.read_csv(out)
    assert len(table) == len(participants) - 1
    assert not any("_logcov_" in c for c in table.columns)


def test_unknown_output_format_is_refused(small_eeg_cohort, tmp_path, capsys):
    assert main(["features", str(small_eeg_cohort), "--out", str(tmp_path / "f.xlsx"),
                 "--set", BANDS, "--covariance", "none", "--quiet"]) == 2
    assert "unknown output format" in capsys.readouterr().err


def test_bids_derivatives_one_tsv_and_sidecar_per_subject(small_eeg_cohort, tmp_path):
    import json

    import mne

    table_path, root = tmp_path / "f.tsv", tmp_path / "bids"
    assert main(["features", str(small_eeg_cohort), "--out", str(table_path),
                 "--bids-derivatives", str(root), "--set", BANDS, "--quiet"]) == 0
    deriv = root / "derivatives" / "neurodx"
    desc = json.loads((deriv / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative" and desc["GeneratedBy"][0]["Name"] == "neurodx"
    assert desc["Name"].startswith("SYNTHETIC") and desc["SourceDatasets"]
    table = pd.read_csv(table_path, sep="\t")
    written = sorted(deriv.glob("sub-*/eeg/*_desc-rmtfeatures_features.tsv"))
    assert [p.name.split("_")[0] for p in written] == sorted(table["participant_id"])
    planted = []
    for rel in pd.read_csv(small_eeg_cohort / "participants.tsv", sep="\t")["path"]:
        info = mne.io.read_raw_edf(small_eeg_cohort / rel).info["subject_info"]
        planted += [info["first_name"], info["last_name"]]
    for tsv in written:
        assert "_task-rest_" in tsv.name
        row = pd.read_csv(tsv, sep="\t")
        sidecar = json.loads(tsv.with_suffix(".json").read_text())
        pid = tsv.name.split("_")[0]
        expected = table[table["participant_id"] == pid].iloc[:, 3:]
        assert len(row) == 1 and list(row.columns) == list(expected.columns)
        np.testing.assert_allclose(row.to_numpy(float), expected.to_numpy(float), rtol=1e-8)
        assert all(c in sidecar for c in row.columns)          # every column described
        assert sidecar["alpha_vne_mean"]["Statistic"] == "mean"
        assert sidecar["alpha_vne_mean"]["FrequencyRange"] == [8, 13]
        logcov = next(c for c in row.columns if c.startswith("beta_logcov_"))
        assert sidecar[logcov]["Band"] == "beta"
        assert sidecar["Sources"] == [f"bids:raw:{pid}/eeg/{pid}_task-rest_eeg.edf"]
        text = tsv.read_text() + tsv.with_suffix(".json").read_text()
        assert not any(secret in text for secret in planted)


def test_features_needs_an_output(small_eeg_cohort, capsys):
    assert main(["features", str(small_eeg_cohort), "--quiet"]) == 2
    assert "--bids-derivatives" in capsys.readouterr().err


def test_parquet_without_pyarrow_fails_before_any_work(small_eeg_cohort, tmp_path, capsys,
                                                       monkeypatch):
    import sys

    import neurodx.features

    def no_extraction(*args, **kwargs):
        raise AssertionError("features were extracted before the output format was checked")

    monkeypatch.setitem(sys.modules, "pyarrow", None)        # `import pyarrow` -> ImportError
    monkeypatch.setattr(neurodx.features, "extract_features", no_extraction)
    out = tmp_path / "f.parquet"
    assert main(["features", str(small_eeg_cohort), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "pip install neurodx[parquet]" in err and "f.parquet" in err
    assert not out.exists()
