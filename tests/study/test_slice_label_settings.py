"""A cohort's slices.tsv reaches the slice CNN routes unless volume.slice_labels says none."""
from neurodx.study.modalities import get_modality


def test_cohort_slice_labels_reach_slice_routes(tmp_path):
    volume = get_modality("volume")
    config = {"volume": {"intensity": "auto", "slice_labels": "auto"}}
    assert "slice_labels" not in volume.slice_settings(config, tmp_path)     # no file
    (tmp_path / "slices.tsv").write_text("participant_id\tslice\tlabel\n")
    assert volume.slice_settings(config, tmp_path)["slice_labels"] == str(tmp_path / "slices.tsv")
    config["volume"]["slice_labels"] = "none"
    assert "slice_labels" not in volume.slice_settings(config, tmp_path)
    assert volume.slice_settings(config, None) == {"intensity": "auto"}
