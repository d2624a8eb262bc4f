import numpy as np
import pytest

from neurodx.models import hard_vote, logodds_vote, soft_vote, two_level_vote, vote
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


def _position_case():
    """One subject, 5 positions x 10 frames: positions 0-2 won 6-4 by class 0,
    positions 3-4 won 10-0 by class 1 (18 frame votes for 0, 32 for 1)."""
    close = np.tile([[0.6, 0.4]] * 6 + [[0.4, 0.6]] * 4, (3, 1))
    sure = np.tile([[0.1, 0.9]], (20, 1))
    proba = np.vstack([close, sure])
    positions = np.repeat(np.arange(5), 10)
    return proba, positions


def test_two_level_vote_can_disagree_with_the_flat_vote():
    proba, positions = _position_case()
    groups = np.zeros(len(proba))
    flat = vote(proba, groups, "hard")
    two = vote(proba, groups, "two_level", positions=positions)
    assert flat.counts.tolist() == [[18, 32]] and flat.predicted.tolist() == [1]
    assert two.counts.tolist() == [[3, 2]] and two.predicted.tolist() == [0]
    assert np.allclose(two.proba, [[0.6, 0.4]]) and np.isclose(two.margin[0], 0.2)
    assert two.n_items.tolist() == [50] and two.method == "two_level"
    assert np.allclose(two.mean_proba, flat.mean_proba)
    # Shuffling the items changes nothing: positions, not item order, define the levels.
    order = np.random.default_rng(0).permutation(len(proba))
    again = two_level_vote(proba[order], groups[order], positions[order])
    assert again.counts.tolist() == [[3, 2]] and again.predicted.tolist() == [0]


def test_two_level_vote_keeps_subjects_apart_and_in_order():
    proba, positions = _position_case()
    flipped = proba[:, ::-1]
    v = two_level_vote(np.vstack([proba, flipped]), ["s2"] * 50 + ["s1"] * 50,
                       np.concatenate([positions, positions]))
    assert v.subjects.tolist() == ["s2", "s1"]
    assert v.counts.tolist() == [[3, 2], [2, 3]] and v.predicted.tolist() == [0, 1]


def test_two_level_ties_are_broken_by_frame_votes_then_probability_then_class():
    # Two positions, one won by each class: 1-1. Frame votes 3 vs 5 -> class 1.
    proba = np.array([[0.9, 0.1]] * 3 + [[0.2, 0.8]] * 2 + [[0.3, 0.7]] * 3)
    v = two_level_vote(proba, np.zeros(8), [0, 0, 0, 1, 1, 1, 1, 1])
    assert v.counts.tolist() == [[1, 1]] and v.tied.tolist() == [True]
    assert v.predicted.tolist() == [1] and v.margin.tolist() == [0.0]
    # Positions 1-1 and frames 2-2: the higher mean probability (class 0) wins.
    proba = np.array([[0.95, 0.05], [0.9, 0.1], [0.4, 0.6], [0.45, 0.55]])
    v = two_level_vote(proba, np.zeros(4), [0, 0, 1, 1])
    assert v.counts.tolist() == [[1, 1]] and v.predicted.tolist() == [0]
    # Everything equal: the first class.
    v = two_level_vote(np.array([[0.7, 0.3], [0.3, 0.7]]), ["s", "s"], [0, 1])
    assert v.predicted.tolist() == [0] and v.tied.tolist() == [True]


def test_two_level_vote_needs_valid_positions():
    proba = np.array([[0.7, 0.3], [0.3, 0.7]])
    with pytest.raises(ValueError, match="needs the slice position"):
        vote(proba, [0, 0], "two_level")
    with pytest.raises(ValueError, match="one entry per item"):
        two_level_vote(proba, [0, 0], [0])
    with pytest.raises(ValueError, match="non-negative integers"):
        two_level_vote(proba, [0, 0], [0.5, 1.0])
