"""Estimator settings for the studies: full size, and small fast versions for the samples.

Each preset is the keyword arguments of :class:`~neurodx.models.SliceVotingClassifier`
or :class:`~neurodx.models.WindowVotingClassifier`; :func:`make_estimator` builds
the estimator, with overrides::

    est = make_estimator("eeg_fast", epochs=3)

Full-size presets reproduce the studies' designs (expect hours on a CPU, minutes
on a GPU); ``*_fast`` presets run the sample cohorts end to end in a few minutes
on 2 CPU cores (frame stride, small widths, few epochs) and are for smoke tests
and demos, not for accuracy claims. Full-size presets compute the random-matrix
diagnostics of their networks after each fit (``diagnostics=True``, see
:mod:`neurodx.models.diagnostics`); the fast ones do not (config
``routes.<name>.diagnostics: true`` turns them on).

=================  ==========================================================================
preset             design
=================  ==========================================================================
fmri_ma            31 CNNs, one per 64x64 axial slice position, every one of 240 frames;
                   each network's frames vote for one result per position, then the 31
                   results vote (``voting="two_level"``; methamphetamine fMRI study;
                   ``voting="hard"`` is the flat vote over all slices and frames)
fmri_ma_shared     one shared CNN with a learned slice-position embedding, 240 frames
fmri_ma_fast       31 tiny CNNs, every 2nd frame, 4 epochs, two-level vote
fmri_ma_shared_fast  one small shared CNN, every 2nd frame, 4 epochs
ct                 lesion-detection recipe (issue 20): 4 conv layers (16-64 filters) with
                   global max pooling on 256x256 slices, brain/subdural/bone HU windows as
                   channels (PNG/JPEG: grey in [0, 1] on the 3 channels), aspect kept and
                   padded; trained on slice labels when the cohort has them (slices.tsv),
                   8 slices per patient and epoch, 30 epochs (cosine rate from 3e-3),
                   batches of 16; the 2 most lesion-like slices of a patient vote
                   (``voting="topk"``) on logistic-calibrated slice probabilities, with a
                   threshold fitted on the inner validation patients. Measured in
                   README "What the demo shows" (Head CT)
ct_fast            the same recipe on 128x128 slices (demo, validation runs). Cost: about
                   55 CPU-s per split for 60 training patients x 4 slices (SYNTHETIC,
                   3-fold CV); 1026 s wall for 2 CT-ICH splits on a shared 2-core machine
ct7                the study's published design: 7 conv layers (16-128 filters, global
                   average pooling), 256x256 slices, soft vote over slices, 40 epochs
ct_resnet18        peer: torchvision's ResNet-18 architecture from scratch, trained with
                   ct_fast's recipe (128x128 slices, slice labels, top-k vote) but 12
                   epochs (its CPU cost: about 5x ours per epoch)
ct_plain           peer: the same recipe with a plain 3-layer CNN (PyTorch tutorial size)
eeg_hc_fes_chr     shallow log-power CNN (``EEG_SHALLOW``: 40 temporal filters of 100 ms,
                   40 spatial filters, batch norm, log of the mean power over the window,
                   linear classifier), 4-s windows at 250 Hz, 50 % overlap (recordings at
                   another rate are resampled to 250 Hz inside the route); 6 windows per
                   subject and epoch, up to 15 epochs (cosine learning rate, early
                   stopping after 6), batch-norm statistics re-estimated before each
                   validation, soft vote on logistic-calibrated window probabilities.
                   Cost: an epoch trains 6 x n_subjects windows and evaluates every window
                   of the validation subjects; measured on the 120-subject ADHD cohort
                   (90 training subjects, 19 channels at 128 Hz, 2 shared CPU cores):
                   about 4 min per fold, of which 1 min is the RMT diagnostics
                   (``diagnostics: false`` skips them; validation/README.md)
eeg_deep7          the study's 7-layer Deep4Net-style CNN (``EEG_DEEP7``, dense head over
                   time) with the same recipe; about 2 min per fold on the same cohort
                   (1 min of it diagnostics)
eeg_fast           the shallow log-power CNN with 20 filters of 13 samples, 2-s windows,
                   6 epochs, hard vote, at the recordings' own rate (sample_data)
=================  ==========================================================================
"""
from __future__ import annotations

from ..errors import ConfigError

__all__ = ["PRESETS", "get_preset", "make_estimator"]


def _ct_intensity():
    # HU scans get the brain/subdural/bone windows, PNG/JPEG exports the display path
    # (grey in [0, 1] on 3 channels): chosen per scan by its unit (neurodx.io.units).
    from ..preprocessing.intensity import CTIntensity
    return CTIntensity(("brain", "subdural", "bone"))


# The CT recipe (issue 20), measured on SYNTHETIC cohorts (sample_data/README.md) and
# applied unchanged to the real CT-ICH cohort (validation/README.md): slice labels where the
# cohort has them (a lesion patient's lesion-free slices trained as normal), global max
# pooling (a small lesion is the maximum of a feature map, not its mean), enough steps for
# the network to leave chance (30 epochs, batches of 16, cosine rate from 3e-3: the runs
# left chance after 10-17 epochs), no patience (validation loss is flat until then; the
# best-loss epoch is kept), and the patient decided by its most lesion-like slices.
_CT_RECIPE = dict(
    mode="pooled", voting="topk", vote_k=2, calibration="logistic", slice_axis=2,
    normalize=None, transform=_ct_intensity, slice_shape=(128, 128), epochs=30,
    batch_size=16, lr=3e-3, weight_decay=5e-4, lr_schedule="cosine", items_per_subject=8,
    val_fraction=0.2, patience=None, augment=dict(flip_prob=0.5, max_rotation=5.0),
    random_state=0, progress=False, diagnostics=False)
_CT_NETWORK = dict(depth=4, width=16, growth=2.0, max_width=64, norm="batch", dropout=0.0,
                   pooling="max")
_CT_PEER = dict(_CT_RECIPE, precise_bn=True)

# The EEG training recipe shared by the full-size EEG presets (issue 22).
_EEG_RECIPE = dict(
    voting="soft", calibration="logistic", sfreq=250.0, window=4.0, overlap=0.5,
    normalize="channel", epochs=15, batch_size=32, lr=1e-3, weight_decay=5e-4,
    lr_schedule="cosine", items_per_subject=6, precise_bn=True, val_fraction=0.2, patience=6,
    augment=True, random_state=0, diagnostics=True)

# name -> (estimator class name, settings); callables are evaluated on use (fresh objects).
PRESETS: dict[str, tuple[str, dict]] = {
    "fmri_ma": ("SliceVotingClassifier", dict(
        mode="ensemble", voting="two_level", slice_axis=2, frame_stride=1, normalize="frame",
        depth=4, width=16, growth=2.0, max_width=128, norm="batch", dropout=0.3,
        epochs=30, batch_size=128, lr=1e-3, val_fraction=0.2, patience=8,
        augment=dict(flip_prob=0.5, max_rotation=8.0, intensity_scale=0.1,
                     intensity_shift=0.1), random_state=0, diagnostics=True)),
    "fmri_ma_shared": ("SliceVotingClassifier", dict(
        mode="shared", position_mode="embedding", position_dim=8, voting="hard", slice_axis=2,
        frame_stride=1, normalize="frame", depth=4, width=32, growth=2.0, max_width=256,
        norm="batch", dropout=0.3, epochs=30, batch_size=128, lr=1e-3, val_fraction=0.2,
        patience=8, augment=dict(flip_prob=0.5, max_rotation=8.0), random_state=0,
        diagnostics=True)),
    "fmri_ma_fast": ("SliceVotingClassifier", dict(
        mode="ensemble", voting="two_level", slice_axis=2, frame_stride=2, normalize="frame",
        depth=3, width=4, growth=2.0, max_width=16, norm="batch", dropout=0.2,
        epochs=4, batch_size=128, lr=3e-3, val_fraction=0.2, patience=None,
        augment=dict(flip_prob=0.5, max_rotation=0.0), random_state=0, progress=False,
        diagnostics=False)),
    "fmri_ma_shared_fast": ("SliceVotingClassifier", dict(
        mode="shared", position_mode="embedding", position_dim=4, voting="hard", slice_axis=2,
        frame_stride=2, normalize="frame", depth=3, width=8, growth=2.0, max_width=32,
        norm="batch", dropout=0.2, epochs=4, batch_size=128, lr=3e-3, val_fraction=0.2,
        patience=None, augment=dict(flip_prob=0.5, max_rotation=0.0), random_state=0,
        progress=False, diagnostics=False)),
    "ct": ("SliceVotingClassifier", dict(
        _CT_RECIPE, **_CT_NETWORK, slice_shape=(256, 256), progress=True, diagnostics=True)),
    "ct_fast": ("SliceVotingClassifier", dict(_CT_RECIPE, **_CT_NETWORK)),
    # The published 7-layer design, kept for reproduction (at chance on the SYNTHETIC and
    # real cohorts with patient labels: validation/README.md).
    "ct7": ("SliceVotingClassifier", dict(
        mode="pooled", voting="soft", calibration="logistic", slice_axis=2, normalize=None,
        transform=_ct_intensity, slice_shape=(256, 256), depth=7, width=16, growth=2.0,
        max_width=128, norm="batch", dropout=0.5, epochs=40, batch_size=32, lr=1e-3, val_fraction=0.2, patience=10,
        augment=dict(flip_prob=0.5, max_rotation=10.0, intensity_scale=0.05,
                     intensity_shift=0.05), random_state=0, diagnostics=True)),
    # CT peers (issue 22): the field's networks, trained from scratch by neurodx's engine
    # with ct_fast's recipe (precise batch-norm statistics for ResNet-18's many layers).
    # 12 epochs, not 30: an epoch of ResNet-18 costs about 5x ours on a CPU (1.5 s per
    # batch of 16 at 128 px on one core), 30 would take half an hour per fold.
    "ct_resnet18": ("SliceVotingClassifier", dict(_CT_PEER, architecture="resnet18",
                                                  epochs=12)),
    "ct_plain": ("SliceVotingClassifier", dict(_CT_PEER, architecture="plain")),
    # Small-cohort recipe (issue 22): 6 windows per subject and epoch (mixed-subject
    # batches, every subject weighs the same, an epoch costs 6 x n_subjects windows),
    # cosine learning rate, weight decay 5e-4, early stopping on the validation
    # subjects, and the vote on probabilities calibrated on those subjects. The network
    # is the shallow log-power design (EEG_SHALLOW: 100-ms temporal filters, spatial
    # filters, log of the mean power over the window): on SYNTHETIC cohorts whose
    # effect is band power (validation/README.md, issue 22) it learnt where the 7-layer
    # network did not; the 7-layer network is eeg_deep7.
    "eeg_hc_fes_chr": ("WindowVotingClassifier", dict(
        _EEG_RECIPE, n_filters_time=40, n_filters_spat=40, filter_time_length=25,
        block_filters=(), pool_length=1, pool_stride=1, dropout=0.5, head="logpower")),
    "eeg_deep7": ("WindowVotingClassifier", dict(
        _EEG_RECIPE, n_filters_time=25, n_filters_spat=25, filter_time_length=10,
        block_filters=(50, 100, 200, 200), filter_length=10, pool_length=3, pool_stride=3,
        dropout=0.5, block_padding="same", head="dense")),
    "eeg_fast": ("WindowVotingClassifier", dict(
        voting="hard", sfreq=None, window=2.0, overlap=0.5, normalize="channel",
        n_filters_time=20, n_filters_spat=20, filter_time_length=13, block_filters=(),
        pool_length=1, pool_stride=1, dropout=0.3, head="logpower", epochs=6, batch_size=64,
        lr=2e-3, val_fraction=0.2, patience=None, augment=True, random_state=0,
        progress=False, diagnostics=False)),
}


def get_preset(name: str, **overrides) -> dict:
    """The keyword arguments of preset ``name`` (fresh objects), updated with ``overrides``."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    _, settings = PRESETS[name]
    out = {k: (v() if callable(v) else v) for k, v in settings.items()}
    out.update(overrides)
    return out


def make_estimator(name: str, **overrides):
    """An unfitted estimator configured by preset ``name`` (see the module table)."""
    from . import estimators

    cls_name, _ = PRESETS[name] if name in PRESETS else (None, None)
    settings = get_preset(name, **overrides)
    return getattr(estimators, cls_name)(**settings)
