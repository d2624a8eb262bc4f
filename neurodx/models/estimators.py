"""Subject-level scikit-learn classifiers for the CNN routes.

:class:`SliceVotingClassifier` (fMRI / CT volumes) and :class:`WindowVotingClassifier`
(EEG) hide slicing/windowing, training and voting behind ``fit(subjects, y)``,
``predict(subjects)`` and ``predict_proba(subjects)``, so the comparison harness
treats a CNN route like any scikit-learn estimator (``clone``, ``cross_val_score``,
``GridSearchCV`` work; ``__init__`` only stores parameters).

What a *subject* is
-------------------
``subjects`` is a list with one entry per subject. An entry is either the data or
a pair ``(subject_id, data)``, the one way IDs reach the estimators
(:mod:`neurodx.models.subjects` says why). Ids name subjects in error messages and
in :meth:`vote_details`, and are the units of the inner validation split (the ids
used are kept in ``train_subjects_`` and ``val_subjects_``). Without ids, a path's
name is used, else ``"subject#<i>"``.

* Slices (:class:`SliceVotingClassifier`): a path to a volume (NIfTI, DICOM series,
  PNG/JPEG slices; read with :func:`neurodx.io.volumes.read_volume`), a nibabel
  image, or an ndarray ``(x, y, z)`` / ``(x, y, z, t)``. Images are reoriented to
  RAS+ (``canonical=True``) so ``slice_axis=2`` gives axial slices; ndarrays are
  taken as they are. Slice ``k`` is ``volume[:, :, k]`` (for ``slice_axis=2``), one
  item per selected slice and frame. Every volume has an intensity unit
  (:mod:`neurodx.io.units`: HU, display grey levels, unknown); display images are
  scaled to [0, 1], the CT presets' transform is chosen by the unit, and the
  model keeps the unit it was fit on (``input_unit_``).
* Windows (:class:`WindowVotingClassifier`): an :class:`mne.io.Raw` (its EEG
  channels), a path to an EEG file (read with :func:`neurodx.io.read_eeg`), or an
  ndarray ``(n_channels, n_times)`` at ``sfreq`` Hz. Windows of ``window`` seconds
  with ``overlap`` are the items.

The code lives in one module per concern: :mod:`~neurodx.models.voting_estimator`
(shared parameters, fit, vote), :mod:`~neurodx.models.slice_voting`,
:mod:`~neurodx.models.window_voting`, :mod:`~neurodx.models.subjects` and
:mod:`~neurodx.models.persistence`; this module gathers the public names.

Inputs are checked against what the model was fit on (intensity unit, in-plane
shape, number of slice positions, channels, sampling rate, length); a mismatch raises
:class:`~neurodx.errors.RecordingError` naming the subject.
"""
from .slice_voting import SLICE_ARCHITECTURES, SLICE_MODES, SliceVotingClassifier
from .voting_estimator import VotingClassifierBase, load_estimator
from .window_voting import WINDOW_ARCHITECTURES, WindowVotingClassifier

__all__ = ["SliceVotingClassifier", "WindowVotingClassifier", "load_estimator", "SLICE_MODES",
           "SLICE_ARCHITECTURES", "WINDOW_ARCHITECTURES", "VotingClassifierBase"]
