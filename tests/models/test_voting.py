import numpy as np
import pytest

from neurodx.models import hard_vote, logodds_vote, soft_vote, vote
from neurodx.models.voting import lexicographic_argmax


def test_hard_vote_counts_margins_and_subject_order():
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8],      # "b": 2 votes class 0, 1 class 1
                      [0.3, 0.7], [0.4, 0.6]])                 # "a": 2 votes class 1
    v = hard_vote(proba, ["b", "b", "b", "a", "a"])
    assert v.subjects.tolist() == ["b", "a"]                    # order of first appearance
    assert v.counts.tolist() == [[2, 1], [0, 2]]
    assert v.n_items.tolist() == [3, 2]
    assert v.predicted.tolist() == [0, 1]
    assert np.allclose(v.proba, [[2 / 3, 1 / 3], [0, 1]])
    assert np.allclose(v.margin, [1 / 3, 1.0])
    assert not v.tied.any()


def test_hard_tie_is_broken_by_mean_probability_then_class_order():
    # 2 votes each; class 1 has the higher mean probability -> class 1.
    proba = np.array([[0.55, 0.45], [0.51, 0.49], [0.1, 0.9], [0.2, 0.8]])
    v = hard_vote(proba, [0, 0, 0, 0])
    assert v.counts.tolist() == [[2, 2]] and v.tied.tolist() == [True]
    assert v.predicted.tolist() == [1] and v.margin.tolist() == [0.0]
    # Same votes and same mean probability -> the first class.
    v = hard_vote(np.array([[0.7, 0.3], [0.3, 0.7]]), ["s", "s"])
    assert v.predicted.tolist() == [0] and v.tied.tolist() == [True]
    # Three classes: 0 and 2 tie on votes; 2 has the higher mean probability.
    proba = np.array([[0.5, 0.2, 0.3], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3],
                      [0.45, 0.1, 0.45], [0.3, 0.1, 0.6]])
    v = hard_vote(proba, np.zeros(5))
    assert v.counts.tolist() == [[2, 1, 2]]
    assert v.predicted.tolist() == [2]


def test_item_with_tied_probabilities_votes_for_the_first_class():
    v = hard_vote(np.array([[0.5, 0.5]]), ["x"])
    assert v.counts.tolist() == [[1, 0]] and v.predicted.tolist() == [0]


def test_soft_vote_uses_mean_probability_and_breaks_ties_by_votes():
    proba = np.array([[0.9, 0.1], [0.45, 0.55], [0.4, 0.6]])     # 1 vote vs 2; mean 0.583 vs 0.417
    v = soft_vote(proba, ["s"] * 3)
    assert v.predicted.tolist() == [0]
    assert np.allclose(v.proba, [[0.5833333, 0.4166667]])
    assert hard_vote(proba, ["s"] * 3).predicted.tolist() == [1]  # majority disagrees
    # Exact tie in mean probability (0.5 / 0.5): class 1 has two votes of three.
    proba = np.array([[0.8, 0.2], [0.35, 0.65], [0.35, 0.65]])
    v = soft_vote(proba, ["s"] * 3)
    assert v.tied.tolist() == [True] and v.predicted.tolist() == [1]


def test_logodds_vote():
    proba = np.array([[0.99, 0.01], [0.4, 0.6], [0.4, 0.6]])
    v = logodds_vote(proba, [1, 1, 1])
    logit = np.log(0.99 / 0.01) + 2 * np.log(0.4 / 0.6)
    expected = 1 / (1 + np.exp(-logit / 3))
    assert v.predicted.tolist() == [0]
    assert np.allclose(v.proba[0], [expected, 1 - expected])
    assert np.allclose(v.proba.sum(1), 1)
    assert np.isclose(v.margin[0], 2 * expected - 1)


def test_to_frame_lists_votes_and_probabilities_per_class():
    v = vote(np.array([[0.2, 0.8], [0.9, 0.1], [0.3, 0.7]]), ["a", "b", "a"], "hard")
    frame = v.to_frame(["HC", "MA"])
    assert frame["subject"].tolist() == ["a", "b"]
    assert frame["predicted"].tolist() == ["MA", "HC"]
    assert frame["votes_MA"].tolist() == [2, 0] and frame["votes_HC"].tolist() == [0, 1]
    assert frame[["proba_HC", "proba_MA"]].to_numpy().sum(1) == pytest.approx([1, 1])


def test_lexicographic_argmax():
    win, tied = lexicographic_argmax(np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]]),
                                     np.array([[0.1, 0.3, 0.9], [0.0, 0.0, 0.0]]))
    assert win.tolist() == [1, 1] and tied.tolist() == [True, False]


@pytest.mark.parametrize("proba, groups, message", [
    (np.ones((2, 1)), [0, 0], "n_classes >= 2"),
    (np.full((2, 2), 0.5), [0], "one entry per item"),
    (np.array([[np.nan, 1.0]]), [0], "NaN"),
    (np.empty((0, 2)), [], "without items"),
])
def test_bad_inputs(proba, groups, message):
    with pytest.raises(ValueError, match=message):
        vote(proba, groups)
    with pytest.raises(ValueError, match="voting method"):
        vote(np.full((1, 2), 0.5), [0], "median")
