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

``"topk"``
    Lesion detection (CT): most slices of a patient with a lesion show none, so a
    mean over slices dilutes the few that do. The ``k`` items least like the
    *background* class (the normal class, ``background=``; ranked by ``1 -
    p_background``) are soft-voted: the subject's probabilities are their mean
    probability vector. ``k=1`` is the max rule (the most lesion-like slice decides);
    a patient is normal when even its most lesion-like slices look normal. Subjects
    with fewer than ``k`` items use all of them. Ties as for ``"soft"``.

In every method the predicted class has the largest subject probability, and
``margin`` is its probability minus the best other class's (0 for a tie).

Vote calibration
----------------
A network trained on a few dozen subjects can come out biased towards one class:
every window of every test subject then leans the same way and the vote collapses
onto that class (recall 0.92 / 0.38 on a balanced real cohort). :class:`VoteCalibration`
maps item probabilities to calibrated ones *before* the vote, fitted on the items of
the **inner validation subjects only** (the subjects the training engine held out;
never a test subject):

``"logistic"``
    Multinomial logistic regression on the centred item log-probabilities (for two
    classes, Platt scaling of the item log-odds: a slope and an intercept). The fit
    weighs every subject equally (its items share one unit of weight) and both classes
    equally, so the intercept removes the network's bias towards one class.
``"temperature"``
    One temperature ``T`` dividing the log-probabilities (Guo et al. 2017), fitted by
    the same weighted log-loss; it sharpens or softens, never shifts the class balance.

**Decision threshold**: the calibrated item probabilities are voted as above; for two
classes the subject is predicted positive when its calibrated vote probability exceeds
0.5 -- with class-balanced weights in the calibration fit that is the threshold of a
balanced prior, not of the training cohort's class ratio.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["VOTING_METHODS", "CALIBRATION_METHODS", "VoteCalibration",
           "POSITION_VOTING_METHODS", "BACKGROUND_VOTING_METHODS", "SUBJECT_CALIBRATED_VOTES",
           "SubjectVotes", "margins", "item_votes", "vote",
           "hard_vote", "soft_vote", "logodds_vote", "two_level_vote", "topk_vote",
           "lexicographic_argmax"]

VOTING_METHODS = ("hard", "soft", "logodds", "two_level", "topk")
#: Methods that need the background (normal) class of the items.
BACKGROUND_VOTING_METHODS = ("topk",)
#: Methods whose subject probabilities are calibrated again, on the validation subjects'
#: votes (a maximum over slices is not a probability of the patient's class).
SUBJECT_CALIBRATED_VOTES = ("topk",)
#: Methods that need the slice position of every item.
POSITION_VOTING_METHODS = ("two_level",)
_EPS = 1e-6
_RTOL = 1e-9
#: ``calibration`` settings of the CNN routes (None: the network's own probabilities).
CALIBRATION_METHODS = ("logistic", "temperature")


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


def margins(score: np.ndarray, winner: np.ndarray) -> np.ndarray:
    """Score of each row's winner minus the best other score (0 for a tie)."""
    rows = np.arange(score.shape[0])
    others = score.copy()
    others[rows, winner] = -np.inf
    return np.maximum(score[rows, winner] - others.max(axis=1), 0.0)


def vote(proba: np.ndarray, groups: Sequence, method: str = "hard",
         positions: Sequence[int] | None = None, *, k: int = 1,
         background: int | None = None) -> SubjectVotes:
    """Vote items into subjects with ``method`` in :data:`VOTING_METHODS` (see module).

    ``positions`` (the slice position of each item) is needed by ``"two_level"``
    and ignored by the flat methods; ``k`` and ``background`` (class index) are
    ``"topk"``'s.
    """
    if method not in VOTING_METHODS:
        raise ValueError(f"voting method must be one of {', '.join(VOTING_METHODS)}, "
                         f"got {method!r}")
    if method == "topk":
        return topk_vote(proba, groups, k, background)
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
                        predicted=predicted, margin=margins(subject_proba, predicted),
                        tied=tied, method=method)


def topk_vote(proba: np.ndarray, groups: Sequence, k: int, background: int) -> SubjectVotes:
    """Soft vote of each subject's ``k`` items least like class ``background`` (module)."""
    proba, groups = _check(proba, groups)
    if background is None or not 0 <= int(background) < proba.shape[1]:
        raise ValueError(f"topk voting needs the background class index in "
                         f"[0, {proba.shape[1]}), got {background!r}")
    if int(k) < 1:
        raise ValueError(f"topk voting needs k >= 1, got {k!r}")
    subjects, n_items, counts, mean_proba, mean_logodds = _aggregate(proba, groups)
    subject_proba = np.empty_like(mean_proba)
    for row, subject in enumerate(subjects):
        block = proba[groups == subject]
        # stable sort: among equally lesion-like items the first ones are kept
        top = np.argsort(block[:, int(background)], kind="stable")[:int(k)]
        subject_proba[row] = block[top].mean(axis=0)
    predicted, tied = lexicographic_argmax(subject_proba, counts.astype(float))
    return SubjectVotes(subjects=subjects, n_items=n_items, counts=counts,
                        mean_proba=mean_proba, mean_logodds=mean_logodds, proba=subject_proba,
                        predicted=predicted, margin=margins(subject_proba, predicted),
                        tied=tied, method="topk")


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
                        predicted=predicted, margin=margins(subject_proba, predicted),
                        tied=tied, method="two_level")


def _log_proba(proba: np.ndarray) -> np.ndarray:
    logp = np.log(np.clip(np.asarray(proba, dtype=np.float64), _EPS, 1.0))
    return logp - logp.mean(axis=1, keepdims=True)      # centred: softmax-invariant


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _balanced_weights(labels: np.ndarray, groups: np.ndarray, n_classes: int) -> np.ndarray:
    """Item weights: every subject weighs 1 (split over its items), every class equally."""
    subjects, inverse, n_items = np.unique(groups, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    subject_label = np.zeros(len(subjects), dtype=np.int64)
    subject_label[inverse] = labels
    per_class = np.bincount(subject_label, minlength=n_classes).astype(float)
    present = per_class > 0
    class_weight = np.where(present, len(subjects) / (present.sum() * np.maximum(per_class, 1)),
                            0.0)
    return class_weight[labels] / n_items[inverse]


class VoteCalibration:
    """Calibration of item probabilities before the subject vote (see the module docstring).

    Parameters
    ----------
    method : {"logistic", "temperature"}
    C : float
        Inverse L2 penalty of the logistic calibration (scikit-learn's ``C``).

    Attributes
    ----------
    temperature_ : float
        ``"temperature"`` only.
    coef_, intercept_ : ndarray
        ``"logistic"`` only: ``(n_classes, n_classes)`` and ``(n_classes,)``, applied to
        the centred item log-probabilities.
    subjects_ : list of str
        The subjects the calibration was fitted on (inner validation subjects).
    n_items_ : int
    """

    def __init__(self, method: str = "logistic", C: float = 1.0):
        self.method = method
        self.C = C

    def fit(self, proba: np.ndarray, labels: Sequence[int], groups: Sequence) -> VoteCalibration:
        """Fit on the items of held-out subjects: ``proba`` (n_items, n_classes), class indices.

        Raises
        ------
        ValueError
            Unknown method, or the subjects cover fewer than two classes.
        """
        if self.method not in CALIBRATION_METHODS:
            raise ValueError(f"calibration must be one of {', '.join(CALIBRATION_METHODS)} "
                             f"or null, got {self.method!r}")
        proba, groups = _check(proba, groups)
        labels = np.asarray(labels, dtype=np.int64)
        if labels.shape != groups.shape:
            raise ValueError(f"labels must have one entry per item ({groups.shape[0]})")
        n_classes = proba.shape[1]
        if np.unique(labels).size < 2:
            raise ValueError("vote calibration needs held-out subjects of at least two classes")
        x = _log_proba(proba)
        weights = _balanced_weights(labels, groups, n_classes)
        if self.method == "temperature":
            from scipy.optimize import minimize_scalar

            rows = np.arange(len(labels))

            def loss(log_t):
                logp = np.log(_softmax(x / np.exp(log_t))[rows, labels] + 1e-300)
                return -float(np.sum(weights * logp))

            self.temperature_ = float(np.exp(minimize_scalar(loss, bounds=(-4.0, 4.0),
                                                             method="bounded").x))
        else:
            from sklearn.linear_model import LogisticRegression

            model = LogisticRegression(C=self.C, max_iter=1000)
            model.fit(x, labels, sample_weight=weights)
            coef, intercept = model.coef_, model.intercept_
            if coef.shape[0] == 1:           # binary: one decision function for class 1
                coef = np.vstack([-coef / 2, coef / 2])
                intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
            if coef.shape[0] != n_classes:
                raise ValueError("vote calibration needs held-out subjects of every class")
            self.coef_, self.intercept_ = coef, intercept
        self.subjects_ = [str(s) for s in dict.fromkeys(groups.tolist())]
        self.n_items_ = int(len(labels))
        return self

    def transform(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated item probabilities (rows sum to 1)."""
        x = _log_proba(proba)
        if self.method == "temperature":
            return _softmax(x / self.temperature_)
        return _softmax(x @ np.asarray(self.coef_).T + np.asarray(self.intercept_))

    def to_dict(self) -> dict:
        """JSON-able parameters (stored in a model's manifest; no pickle)."""
        out = {"method": self.method, "C": self.C, "subjects": self.subjects_,
               "n_items": self.n_items_}
        if self.method == "temperature":
            out["temperature"] = self.temperature_
        else:
            out["coef"] = np.asarray(self.coef_).tolist()
            out["intercept"] = np.asarray(self.intercept_).tolist()
        return out

    @classmethod
    def from_dict(cls, spec: dict) -> VoteCalibration:
        """Rebuild a fitted calibration from :meth:`to_dict`."""
        cal = cls(spec["method"], spec.get("C", 1.0))
        cal.subjects_, cal.n_items_ = list(spec["subjects"]), int(spec["n_items"])
        if cal.method == "temperature":
            cal.temperature_ = float(spec["temperature"])
        else:
            cal.coef_ = np.asarray(spec["coef"], dtype=np.float64)
            cal.intercept_ = np.asarray(spec["intercept"], dtype=np.float64)
        return cal
