"""How subjects, and their IDs, reach the CNN estimators: one entry per subject.

An entry is a pair ``(subject_id, data)`` or the data alone. The pair is the one
way IDs reach :class:`~neurodx.models.SliceVotingClassifier` and
:class:`~neurodx.models.WindowVotingClassifier`, in ``fit``, ``predict``,
``predict_proba`` and ``vote_details`` alike. IDs travel *inside* ``X`` because the
comparison harness, scikit-learn's ``cross_val_score``, ``GridSearchCV`` and
``Pipeline`` index ``X`` per fold and pass it on unchanged: an ID can never be
separated from its data or reach the wrong fold, and ``predict`` (which takes no
``groups``) gets them too. A ``groups=``/``subject_ids=`` argument would need
metadata routing through every meta-estimator and still not reach ``predict``.

Without a pair, a path's name is used (an MNE ``Raw``'s or nibabel image's file
name), else ``"subject#<i>"`` (then ``explicit`` is false: positions are not names).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError

__all__ = ["subject_entries"]


def _default_id(data, i: int) -> tuple[str, bool]:
    if isinstance(data, (str, os.PathLike)):
        return Path(data).name, True
    filenames = getattr(data, "filenames", None)           # mne Raw
    if filenames and filenames[0] is not None:
        return Path(filenames[0]).name, True
    get_filename = getattr(data, "get_filename", None)      # nibabel image
    if callable(get_filename) and get_filename():
        return Path(get_filename()).name, True
    return f"subject#{i}", False


def subject_entries(subjects) -> tuple[list[str], list, bool]:
    """Split ``subjects`` into ids and data; says whether every id is a real name.

    Parameters
    ----------
    subjects : sequence
        One entry per subject: ``(subject_id, data)`` or the data alone (module
        docstring).

    Returns
    -------
    ids : list of str
    data : list
    explicit : bool
        Every id is a name (given, or a file name), not a position.

    Raises
    ------
    ConfigError
        A single subject instead of a list, or repeated ids.
    """
    if isinstance(subjects, (str, os.PathLike)) or hasattr(subjects, "dataobj") \
            or hasattr(subjects, "info"):
        raise ConfigError("subjects must be a list with one entry per subject, got a single "
                          f"{type(subjects).__name__}")
    subjects = list(subjects)
    ids, data, explicit = [], [], True
    for i, entry in enumerate(subjects):
        sid = None
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
            sid, entry = entry
        if sid is None:
            sid, real = _default_id(entry, i)
            explicit &= real
        ids.append(str(sid))
        data.append(entry)
    seen = set()
    dupes = sorted({s for s in ids if s in seen or seen.add(s)})
    if dupes:
        raise ConfigError(f"subject ids must be unique; repeated: {', '.join(dupes[:5])}")
    return ids, data, explicit

