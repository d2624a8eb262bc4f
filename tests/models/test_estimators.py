import mne
import nibabel as nib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score

from neurodx.errors import ConfigError, RecordingError
from neurodx.models import (SliceVotingClassifier, WindowVotingClassifier, load_estimator,
                            read_manifest)

TINY_SLICE = dict(depth=2, width=4, epochs=8, batch_size=32, lr=5e-3, progress=False,
                  num_threads=1, val_fraction=0.25, patience=None, normalize=None,
                  augment=dict(max_rotation=0.0))
TINY_EEG = dict(window=1.0, overlap=0.5, n_filters_time=4, n_filters_spat=4,
                filter_time_length=5, block_filters=(8, 8), filter_length=3, pool_length=2,
                pool_stride=2, dropout=0.1, epochs=10, batch_size=32, lr=5e-3, progress=False,
                num_threads=1, val_fraction=0.25, patience=None)


@pytest.fixture
def volumes(volume):
    rng = np.random.default_rng(0)
    y = np.array(["HC", "MA"] * 5)
    return [(f"sub-{i:02d}", volume(int(lab == "MA"), rng, frames=3)) for i, lab in enumerate(y)], y


def eeg_subject(label, rng, n_channels=4, sfreq=64.0, seconds=8):
    n = int(sfreq * seconds)
    x = rng.standard_normal((n_channels, n))
    if label:
        x[:2] += 3 * np.sin(2 * np.pi * 8 * np.arange(n) / sfreq)
    return x * 1e-5


@pytest.fixture
def recordings():
    rng = np.random.default_rng(1)
    y = np.array(["HC", "FES"] * 5)
    return [eeg_subject(int(lab == "FES"), rng) for lab in y], y


# ----------------------------------------------------------------------------- sklearn contract
def test_init_only_stores_parameters_and_clone_works():
    est = SliceVotingClassifier(mode="shared", depth=3, augment={"flip_prob": 0.2})
    assert est.get_params()["depth"] == 3 and est.get_params()["augment"] == {"flip_prob": 0.2}
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    est.set_params(depth=5, voting="soft")
    assert est.depth == 5 and est.voting == "soft"
    assert not hasattr(SliceVotingClassifier(mode="nonsense"), "network_")   # no validation yet
    with pytest.raises(ConfigError, match="mode must be one of"):
        SliceVotingClassifier(mode="nonsense").fit([np.zeros((4, 4, 2))] * 2, [0, 1])
    assert clone(WindowVotingClassifier(sfreq=128.0)).sfreq == 128.0


@pytest.mark.parametrize("mode", ["ensemble", "shared", "pooled"])
def test_slice_classifier_learns_separable_volumes(mode, volumes, volume):
    subjects, y = volumes
    est = SliceVotingClassifier(mode=mode, **TINY_SLICE).fit(subjects, y)
    assert est.classes_.tolist() == ["HC", "MA"]
    assert est.n_positions_ == (None if mode == "pooled" else 4)
    rng = np.random.default_rng(5)
    test = [(f"new-{i}", volume(i % 2, rng)) for i in range(4)]     # 3-D volumes are fine too
    assert est.predict(test).tolist() == ["HC", "MA", "HC", "MA"]
    proba = est.predict_proba(test)
    assert proba.shape == (4, 2) and np.allclose(proba.sum(1), 1)


def test_no_leakage_and_vote_details(volumes, volume):
    subjects, y = volumes
    est = SliceVotingClassifier(mode="pooled", **TINY_SLICE).fit(subjects, y)
    fit_ids = {sid for sid, _ in subjects}
    assert set(est.val_subjects_) <= fit_ids and est.val_subjects_
    assert set(est.train_subjects_) | set(est.val_subjects_) == fit_ids
    assert not set(est.train_subjects_) & set(est.val_subjects_)
    rng = np.random.default_rng(9)
    test = [volume(0, rng), volume(1, rng)]
    details = est.vote_details(list(zip(["test-1", "test-2"], test)))
    assert not set(details["subject"]) & (set(est.train_subjects_) | set(est.val_subjects_))
    assert details["seen_in_training"].tolist() == [False, False]
    assert details["n_items"].tolist() == [4, 4]                      # 4 slices x 1 frame
    assert (details["votes_HC"] + details["votes_MA"]).tolist() == [4, 4]
    assert {"predicted", "margin", "tied", "proba_HC", "proba_MA"} <= set(details.columns)
    again = est.vote_details([subjects[0]])
    assert again["seen_in_training"].tolist() == [True]


def test_ensemble_two_level_vote_gives_one_result_per_position(volumes, volume):
    subjects, y = volumes
    est = SliceVotingClassifier(mode="ensemble", voting="two_level", **TINY_SLICE).fit(
        subjects, y)
    rng = np.random.default_rng(3)
    test = [volume(i % 2, rng, frames=3) for i in range(4)]
    details = est.vote_details(list(zip("abcd", test)))
    # 4 positions x 3 frames = 12 items, but 4 votes: one per position network.
    assert details["n_items"].tolist() == [12] * 4
    assert (details["votes_HC"] + details["votes_MA"]).tolist() == [4] * 4
    assert np.allclose(est.predict_proba(test) * 4, np.round(est.predict_proba(test) * 4))
    flat = est.set_params(voting="hard").vote_details(list(zip("abcd", test)))
    assert (flat["votes_HC"] + flat["votes_MA"]).tolist() == [12] * 4
    with pytest.raises(ConfigError, match="votes per slice position; EEG windows have none"):
        WindowVotingClassifier(voting="two_level", sfreq=64.0, **TINY_EEG).fit(
            [np.zeros((4, 512))] * 2, ["a", "b"])


def test_fits_are_deterministic(volumes):
    subjects, y = volumes
    a = SliceVotingClassifier(mode="ensemble", **TINY_SLICE).fit(subjects, y)
    b = SliceVotingClassifier(mode="ensemble", **TINY_SLICE).fit(subjects, y)
    sa, sb = a.network_.state_dict(), b.network_.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert np.array_equal(a.predict_proba(subjects), b.predict_proba(subjects))
    c = SliceVotingClassifier(mode="ensemble", **{**TINY_SLICE, "random_state": 1}).fit(
        subjects, y)
    assert not all(torch.equal(sa[k], c.network_.state_dict()[k]) for k in sa)


def test_nifti_paths_and_images_are_read_and_reoriented(volumes, tmp_path):
    subjects, y = volumes
    paths, flipped = [], []
    for sid, vol in subjects:
        lps = np.diag([-2.0, -2.0, 3.0, 1.0])                      # stored LPS: flipped x, y
        img = nib.Nifti1Image(vol[::-1, ::-1].copy(), lps)
        nib.save(img, tmp_path / f"{sid}.nii.gz")
        paths.append(tmp_path / f"{sid}.nii.gz")
        flipped.append(img)
    est = SliceVotingClassifier(mode="pooled", **TINY_SLICE).fit(subjects, y)
    from_arrays = est.predict_proba(subjects)
    assert np.allclose(est.predict_proba(paths), from_arrays, atol=1e-5)
    assert np.allclose(est.predict_proba(flipped), from_arrays, atol=1e-5)
    assert est.vote_details(paths)["subject"].tolist()[0] == "sub-00.nii.gz"


def test_mismatched_volumes_are_refused_naming_the_subject(volumes):
    subjects, y = volumes
    bad = list(subjects)
    bad[3] = ("sub-03", np.zeros((12, 10, 4, 3), np.float32))
    with pytest.raises(RecordingError, match=r"^sub-03: slices are 1x12x10 .* those of sub-00"):
        SliceVotingClassifier(mode="pooled", **TINY_SLICE).fit(bad, y)
    est = SliceVotingClassifier(mode="ensemble", **TINY_SLICE).fit(subjects, y)
    with pytest.raises(RecordingError, match=r"^odd: 5 slice positions .* have 4"):
        est.predict([("odd", np.zeros((12, 12, 5)))])
    with pytest.raises(RecordingError, match="^nan-subject: volume contains NaN"):
        est.predict([("nan-subject", np.full((12, 12, 4), np.nan))])
    with pytest.raises(ConfigError, match="unique"):
        est.predict([("a", subjects[0][1]), ("a", subjects[1][1])])


def test_save_load_round_trip(volumes, tmp_path):
    subjects, y = volumes
    est = SliceVotingClassifier(mode="shared", voting="soft", **TINY_SLICE).fit(subjects, y)
    est.save(tmp_path / "model")
    manifest = read_manifest(tmp_path / "model")
    assert manifest["estimator"] == "SliceVotingClassifier"
    assert manifest["input"]["input_shape"] == [1, 12, 12]
    loaded = load_estimator(tmp_path / "model")
    assert isinstance(loaded, SliceVotingClassifier) and loaded.voting == "soft"
    assert np.array_equal(loaded.predict_proba(subjects), est.predict_proba(subjects))
    assert loaded.val_subjects_ == est.val_subjects_ and loaded.classes_.tolist() == ["HC", "MA"]
    with pytest.raises(Exception, match="not a WindowVotingClassifier"):
        WindowVotingClassifier.load(tmp_path / "model")


def test_fine_tune_a_saved_estimator_on_a_new_cohort(volumes, volume, tmp_path):
    subjects, y = volumes
    source = SliceVotingClassifier(mode="pooled", **TINY_SLICE).fit(subjects, y)
    source.save(tmp_path / "model")
    rng = np.random.default_rng(3)
    small = [(f"new-{i}", volume(i % 2, rng)) for i in range(4)]
    tuned = SliceVotingClassifier(mode="pooled", init_from=tmp_path / "model",
                                  freeze_features=True, **{**TINY_SLICE, "epochs": 2})
    tuned.fit(small, ["HC", "MA", "HC", "MA"])
    a, b = source.network_.state_dict(), tuned.network_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith("features."))
    assert tuned.training_.init_from["reinitialised"] == []
    with pytest.raises(ConfigError, match="freeze_features: true needs init_from"):
        SliceVotingClassifier(freeze_features=True).fit(small, [0, 1, 0, 1])


def test_resume_from_checkpoint_dir(volumes, tmp_path):
    subjects, y = volumes

    class Stop:
        def on_epoch_end(self, network, record):
            if record["epoch"] == 3:
                raise KeyboardInterrupt

    params = dict(mode="pooled", checkpoint_dir=tmp_path, **TINY_SLICE)
    reference = SliceVotingClassifier(**{**params, "checkpoint_dir": None}).fit(subjects, y)
    with pytest.raises(KeyboardInterrupt):
        SliceVotingClassifier(callbacks=[Stop()], **params).fit(subjects, y)
    resumed = SliceVotingClassifier(**params).fit(subjects, y)
    assert resumed.training_.resumed_from_epoch == 3
    a, b = reference.network_.state_dict(), resumed.network_.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_works_inside_cross_validation(volumes):
    subjects, y = volumes
    est = SliceVotingClassifier(mode="pooled", **{**TINY_SLICE, "epochs": 20, "val_fraction": 0})
    scores = cross_val_score(est, subjects, y, cv=StratifiedKFold(2, shuffle=True, random_state=0))
    assert scores.shape == (2,) and np.all(scores >= 0.8)


# ----------------------------------------------------------------------------- EEG
def test_window_classifier_learns_arrays_and_raws(recordings):
    data, y = recordings
    est = WindowVotingClassifier(sfreq=64.0, **TINY_EEG).fit(data, y)
    assert est.window_samples_ == 64 and est.step_samples_ == 32 and est.n_channels_ == 4
    rng = np.random.default_rng(8)
    test = [eeg_subject(i % 2, rng) for i in range(4)]
    assert est.predict(test).tolist() == ["HC", "FES", "HC", "FES"]
    names = ["Fz", "Cz", "Pz", "Oz"]
    raws = [mne.io.RawArray(x, mne.create_info(names, 64.0, "eeg"), verbose="ERROR")
            for x in data]
    est_raw = WindowVotingClassifier(**TINY_EEG).fit(raws, y)
    assert est_raw.ch_names_ == names and est_raw.sfreq_ == 64.0
    # Channels are lined up by name: a re-ordered recording gives the same answer.
    shuffled = raws[1].copy().reorder_channels(["Oz", "Pz", "Cz", "Fz"])
    assert np.allclose(est_raw.predict_proba([shuffled]), est_raw.predict_proba([raws[1]]))
    details = est_raw.vote_details(list(zip("ab", raws[:2])))
    assert details["n_items"].tolist() == [15, 15]                 # 8 s, 1-s windows, 50 %


def test_window_mismatches_are_refused_naming_the_subject(recordings):
    data, y = recordings
    est = WindowVotingClassifier(sfreq=64.0, **TINY_EEG).fit(data, y)
    rng = np.random.default_rng(0)
    with pytest.raises(RecordingError, match="^sub-X: 5 channels, the model's training data "
                                             "has 4"):
        est.predict([("sub-X", rng.standard_normal((5, 512)))])
    with pytest.raises(RecordingError, match="^short: recording is 0.5 s long"):
        est.predict([("short", rng.standard_normal((4, 32)))])
    est_raw = WindowVotingClassifier(**TINY_EEG).fit(
        [mne.io.RawArray(x, mne.create_info(4, 64.0, "eeg"), verbose="ERROR") for x in data], y)
    other_names = mne.io.RawArray(rng.standard_normal((4, 512)),
                                  mne.create_info(["A", "B", "C", "D"], 64.0, "eeg"),
                                  verbose="ERROR")
    with pytest.raises(RecordingError, match="^abcd: 4 EEG channels, missing 4"):
        est_raw.predict([("abcd", other_names)])
    with pytest.raises(ConfigError, match="sfreq is required"):
        WindowVotingClassifier(**TINY_EEG).fit(data, y)
    with pytest.raises(RecordingError, match="^sub-03: 3 channels, sub-00 has 4"):
        WindowVotingClassifier(sfreq=64.0, **TINY_EEG).fit(
            [(f"sub-{i:02d}", x[:3] if i == 3 else x) for i, x in enumerate(data)], y)


def test_recordings_are_resampled_to_the_network_rate_one_by_one(recordings):
    data, y = recordings
    raws = [mne.io.RawArray(x, mne.create_info(4, 64.0, "eeg"), verbose="ERROR") for x in data]
    up = [r.copy().resample(128.0, verbose="ERROR") for r in raws]
    # The network works at sfreq: Raw subjects at another rate are resampled by MNE,
    # each alone, so fitting on 128-Hz copies equals fitting on the 64-Hz originals.
    est = WindowVotingClassifier(sfreq=64.0, **TINY_EEG).fit(up, y)
    ref = WindowVotingClassifier(sfreq=64.0, **TINY_EEG).fit(raws, y)
    assert est.sfreq_ == 64.0 and est.window_samples_ == 64
    expected = [r.copy().resample(64.0, verbose="ERROR") for r in up]
    assert np.allclose(est.predict_proba(up), ref.predict_proba(expected))
    assert est.predict_proba(up[:1]).tolist() == est.predict_proba(up[:3])[:1].tolist()
    # Without sfreq the first training recording sets the rate; later ones follow it.
    mixed = WindowVotingClassifier(**TINY_EEG).fit([raws[0], *up[1:]], y)
    assert mixed.sfreq_ == 64.0 and mixed.predict([up[4]]).shape == (1,)


def test_windows_shorter_than_the_receptive_field_name_the_setting(recordings):
    data, y = recordings
    est = WindowVotingClassifier(sfreq=64.0, **{**TINY_EEG, "window": 0.125})
    need = est.min_window_samples()
    assert need > 8
    with pytest.raises(ConfigError, match=rf"^window: 0.125-s windows are 8 samples at 64 Hz, "
                                          rf"fewer than the {need} samples .* set window to at "
                                          r"least 0\.\d+ \(seconds\)$"):
        est.fit(data, y)
    with pytest.raises(ConfigError, match=r"^routes\.eeg_cnn\.window: "):
        WindowVotingClassifier(**{**TINY_EEG, "window": 0.125}).check_window(
            64.0, setting="routes.eeg_cnn.window")
    assert WindowVotingClassifier(**TINY_EEG).check_window(64.0) == 64
    # The limit is the network's: one sample fewer is refused, the limit itself builds.
    ok = WindowVotingClassifier(sfreq=float(need), **{**TINY_EEG, "window": 1.0})
    ok._check_params()
    ok.n_channels_, ok.window_samples_ = 4, need
    ok._build_network(2)
    with pytest.raises(ConfigError):
        WindowVotingClassifier(sfreq=float(need - 1), **{**TINY_EEG, "window": 1.0}
                               )._check_params()


def test_window_classifier_save_load(recordings, tmp_path):
    data, y = recordings
    est = WindowVotingClassifier(sfreq=64.0, voting="logodds", **TINY_EEG).fit(data, y)
    est.save(tmp_path / "eeg")
    loaded = load_estimator(tmp_path / "eeg")
    assert loaded.block_filters == (8, 8) and loaded.window_samples_ == 64
    assert np.array_equal(loaded.predict_proba(data), est.predict_proba(data))


def test_window_classifier_logpower_head_clones_learns_and_round_trips(recordings, tmp_path):
    data, y = recordings
    shallow = dict(TINY_EEG, block_filters=(), pool_length=1, pool_stride=1, head="logpower")
    est = WindowVotingClassifier(sfreq=64.0, voting="soft", **shallow)
    assert clone(est).get_params()["head"] == "logpower"
    est.fit(data, y)
    twin = clone(est).fit(data, y)
    assert np.array_equal(est.predict_proba(data), twin.predict_proba(data))   # deterministic
    rng = np.random.default_rng(8)
    assert est.predict([eeg_subject(i % 2, rng) for i in range(4)]).tolist() == \
        ["HC", "FES", "HC", "FES"]
    est.save(tmp_path / "eeg")
    loaded = load_estimator(tmp_path / "eeg")
    assert loaded.head == "logpower" and loaded.block_filters == ()
    assert np.array_equal(loaded.predict_proba(data), est.predict_proba(data))
    with pytest.raises(ConfigError, match=r"head must be one of .*routes.<name>.head"):
        WindowVotingClassifier(sfreq=64.0, **{**TINY_EEG, "head": "max"}).fit(data, y)
