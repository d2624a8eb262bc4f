"""From item-level class probabilities (slices, frames, windows) to one label per subject.

Pure functions on arrays. ``proba`` is ``(n_items, n_classes)`` (rows sum to 1),
``groups`` gives the subject of each item. Subjects come out in the order of their
first item, so stacking subjects one after the other keeps their order.

Methods
-------
``"hard"``
    Majority vote: each item votes for its most probable class (an item whose
    top probabilities tie votes for the first of them in class order). The
    subject's probabilities are the vote fractions. **Ties** between classes with
    the same number of votes are broken by the higher mean probability, then by
    class order (the first class wins).
``"soft"``
    Mean probability over items. Ties (equal within ``rtol=1e-9``) are broken by
    the larger number of hard votes, then by class order.
``"logodds"``
    Mean log-odds ``log(p / (1 - p))`` per class (``p`` clipped to
    ``[1e-6, 1 - 1e-6]``), i.e. a geometric-mean style vote that lets confident
    items weigh more; the subject's probabilities are ``sigmoid(mean log-odds)``
    renormalised to sum to 1 (for two classes, exactly the sigmoid). Ties are broken
    by the larger number of hard votes, then by class order.

``"two_level"``
    The fMRI study's per-position ensemble: **each slice position's network gives one
    result, and the position results vote.** Level 1: the items (frames) of each
    (subject, position) pair are majority-voted as in ``"hard"`` (ties: higher mean
    probability, then class order), giving one class per position. Level 2: the
    positions are majority-voted; the subject's probabilities are the fractions of
    positions voting for each class and ``counts`` holds position votes. **Ties**
    between classes with the same number of positions are broken by the larger
    number of item (frame) votes, then the higher mean item probability, then class
    order. Needs the position of every item (``positions=``). This can disagree with
    ``"hard"``, the flat vote over all items: 3 positions won 6-4 by class A and 2
    positions won 10-0 by class B give A (3 positions to 2) under ``"two_level"``
    but B (32 items to 18) under ``"hard"``.

In every method the predicted class has the largest subject probability, and
``margin`` is its probability minus the best other class's (0 for a tie).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["VOTING_METHODS", "POSITION_VOTING_METHODS", "SubjectVotes", "item_votes", "vote",
           "hard_vote", "soft_vote", "logodds_vote", "two_level_vote", "lexicographic_argmax"]

VOTING_METHODS = ("hard", "soft", "logodds", "two_level")
#: Methods that need the slice position of every item.
POSITION_VOTING_METHODS = ("two_level",)
_EPS = 1e-6
_RTOL = 1e-9


@dataclass(frozen=True)
class SubjectVotes:
    """Per-subject result of a vote (arrays have one row per subject).

    Attributes
    ----------
    subjects : ndarray (n_subjects,)
        Subject of each row, in order of first appearance.
    n_items : ndarray of int (n_subjects,)
    counts : ndarray of int (n_subjects, n_classes)
        Hard votes per class (of items; of positions for ``"two_level"``).
    mean_proba : ndarray (n_subjects, n_classes)
    mean_logodds : ndarray (n_subjects, n_classes)
    proba : ndarray (n_subjects, n_classes)
        Subject-level probabilities under ``method`` (rows sum to 1).
    predicted : ndarray of int (n_subjects,)
        Index of the predicted class (ties broken as documented in the module).
    margin : ndarray (n_subjects,)
        ``proba`` of the predicted class minus the best other class.
    tied : ndarray of bool (n_subjects,)
        The primary score was tied and a tie-break rule decided.
    method : str
    """

    subjects: np.ndarray
    n_items: np.ndarray
    counts: np.ndarray
    mean_proba: np.ndarray
    mean_logodds: np.ndarray
    proba: np.ndarray
    predicted: np.ndarray
    margin: np.ndarray
    tied: np.ndarray
    method: str

    def to_frame(self, classes: Sequence | None = None) -> pd.DataFrame:
        """One row per subject: prediction, margin, tie flag, votes and scores per class."""
        n_classes = self.counts.shape[1]
        classes = list(range(n_classes)) if classes is None else list(classes)
        if len(classes) != n_classes:
            raise ValueError(f"{len(classes)} class names for {n_classes} classes")
        frame = pd.DataFrame({"subject": self.subjects,
                              "predicted": [classes[i] for i in self.predicted],
                              "n_items": self.n_items, "margin": self.margin,
                              "tied": self.tied})
        for k, name in enumerate(classes):
            frame[f"votes_{name}"] = self.counts[:, k]
        for k, name in enumerate(classes):
            frame[f"proba_{name}"] = self.proba[:, k]
        frame.attrs["voting"] = self.method
        return frame


def item_votes(proba: np.ndarray) -> np.ndarray:
    """Class index each item votes for (its most probable class; ties: first class)."""
    return np.asarray(proba).argmax(axis=1)


def _close_to_max(score: np.ndarray) -> np.ndarray:
    top = score.max(axis=1, keepdims=True)
    return np.isclose(score, top, rtol=_RTOL, atol=1e-12)


def lexicographic_argmax(*scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise argmax of the first score, ties broken by the next scores, then class order.

    Returns the winning column of each row and whether the first score was tied.
    Scores are equal when within ``rtol=1e-9`` of the row maximum.
    """
    candidates = _close_to_max(scores[0])
    tied = candidates.sum(axis=1) > 1
    for score in scores[1:]:
        masked = np.where(candidates, score, -np.inf)
        candidates &= _close_to_max(masked)
    return candidates.argmax(axis=1), tied   # argmax of booleans: first candidate


def _check(proba, groups):
    proba = np.asarray(proba, dtype=np.float64)
    groups = np.asarray(groups)
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(f"proba must be (n_items, n_classes >= 2), got shape {proba.shape}")
    if groups.shape != (proba.shape[0],):
        raise ValueError(f"groups must have one entry per item ({proba.shape[0]}), "
                         f"got shape {groups.shape}")
    if proba.shape[0] == 0:
        raise ValueError("cannot vote without items")
    if not np.all(np.isfinite(proba)):
        raise ValueError("proba contains NaN or infinite values")
    return proba, groups


def _aggregate(proba, groups):
    _, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")          # subjects by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    row = rank[inverse.ravel()]
    n_subjects, n_classes = order.size, proba.shape[1]
    n_items = np.bincount(row, minlength=n_subjects)
    counts = np.zeros((n_subjects, n_classes), dtype=np.int64)
    np.add.at(counts, (row, item_votes(proba)), 1)
    sums = np.zeros((n_subjects, n_classes))
    np.add.at(sums, row, proba)
    p = np.clip(proba, _EPS, 1 - _EPS)
    logit_sums = np.zeros((n_subjects, n_classes))
    np.add.at(logit_sums, row, np.log(p) - np.log1p(-p))
    subjects = groups[first[order]]
    return subjects, n_items, counts, sums / n_items[:, None], logit_sums / n_items[:, None]


def _margin(score, winner):
    rows = np.arange(score.shape[0])
    others = score.copy()
    others[rows, winner] = -np.inf
    return np.maximum(score[rows, winner] - others.max(axis=1), 0.0)


def vote(proba: np.ndarray, groups: Sequence, method: str = "hard",
         positions: Sequence[int] | None = None) -> SubjectVotes:
    """Vote items into subjects with ``method`` in :data:`VOTING_METHODS` (see module).

    ``positions`` (the slice position of each item) is needed by ``"two_level"``
    and ignored by the flat methods.
    """
    if method not in VOTING_METHODS:
        raise ValueError(f"voting method must be one of {', '.join(VOTING_METHODS)}, "
                         f"got {method!r}")
    if method == "two_level":
        if positions is None:
            raise ValueError("two_level voting needs the slice position of every item")
        return two_level_vote(proba, groups, positions)
    proba, groups = _check(proba, groups)
    subjects, n_items, counts, mean_proba, mean_logodds = _aggregate(proba, groups)
    if method == "hard":
        subject_proba = counts / n_items[:, None]
        predicted, tied = lexicographic_argmax(counts.astype(float), mean_proba)
    elif method == "soft":
        subject_proba = mean_proba
        predicted, tied = lexicographic_argmax(mean_proba, counts.astype(float))
    else:
        squashed = 1.0 / (1.0 + np.exp(-mean_logodds))
        subject_proba = squashed / squashed.sum(axis=1, keepdims=True)
        predicted, tied = lexicographic_argmax(mean_logodds, counts.astype(float))
    return SubjectVotes(subjects=subjects, n_items=n_items, counts=counts,
                        mean_proba=mean_proba, mean_logodds=mean_logodds, proba=subject_proba,
                        predicted=predicted, margin=_margin(subject_proba, predicted),
                        tied=tied, method=method)


def hard_vote(proba: np.ndarray, groups: Sequence) -> SubjectVotes:
    """Majority vote (see :func:`vote`)."""
    return vote(proba, groups, "hard")


def soft_vote(proba: np.ndarray, groups: Sequence) -> SubjectVotes:
    """Mean-probability vote (see :func:`vote`)."""
    return vote(proba, groups, "soft")


def logodds_vote(proba: np.ndarray, groups: Sequence) -> SubjectVotes:
    """Mean log-odds vote (see :func:`vote`)."""
    return vote(proba, groups, "logodds")


def two_level_vote(proba: np.ndarray, groups: Sequence, positions: Sequence[int]) -> SubjectVotes:
    """Majority vote within each slice position, then over positions (``"two_level"``).

    Parameters
    ----------
    proba : ndarray (n_items, n_classes)
    groups : sequence (n_items,)
        Subject of each item.
    positions : sequence of int (n_items,)
        Slice position of each item; items of one subject and position are its frames.

    Returns
    -------
    SubjectVotes
        ``counts``: positions voting for each class; ``proba``: their fractions;
        ``n_items``, ``mean_proba`` and ``mean_logodds``: over all items, as for the
        flat methods. Ties are broken as documented in the module.
    """
    proba, groups = _check(proba, groups)
    positions = np.asarray(positions)
    if positions.shape != groups.shape:
        raise ValueError(f"positions must have one entry per item ({groups.shape[0]}), "
                         f"got shape {positions.shape}")
    subjects, n_items, item_counts, mean_proba, mean_logodds = _aggregate(proba, groups)
    if positions.size and (not np.issubdtype(positions.dtype, np.integer) or positions.min() < 0):
        raise ValueError("positions must be non-negative integers")
    # Level 1: one hard vote per (subject, position) pair, keyed subject * stride + position.
    codes, subject_code = np.unique(groups, return_inverse=True)
    stride = int(positions.max()) + 1
    level1 = vote(proba, subject_code.ravel().astype(np.int64) * stride + positions, "hard")
    pair_subject = codes[level1.subjects // stride]
    # Level 2: the position decisions, as one-hot "items" of each subject.
    n_classes = proba.shape[1]
    rank = {s: k for k, s in enumerate(subjects.tolist())}
    row = np.array([rank[s] for s in pair_subject.tolist()], dtype=np.int64)
    counts = np.zeros((len(subjects), n_classes), dtype=np.int64)
    np.add.at(counts, (row, level1.predicted), 1)
    subject_proba = counts / counts.sum(axis=1, keepdims=True)
    predicted, tied = lexicographic_argmax(counts.astype(float), item_counts.astype(float),
                                           mean_proba)
    return SubjectVotes(subjects=subjects, n_items=n_items, counts=counts,
                        mean_proba=mean_proba, mean_logodds=mean_logodds, proba=subject_proba,
                        predicted=predicted, margin=_margin(subject_proba, predicted),
                        tied=tied, method="two_level")
