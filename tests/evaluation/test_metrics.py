import numpy as np
import pytest

from neurodx.evaluation.metrics import bootstrap_ci, classification_metrics, format_per_class


def test_hand_computed_three_class_case():
    y = ["HC", "HC", "HC", "HC", "FES", "FES", "CHR", "CHR"]
    p = ["HC", "HC", "HC", "FES", "FES", "CHR", "CHR", "HC"]
    m = classification_metrics(y, p, classes=["HC", "FES", "CHR"])
    assert m["per_class_recall"] == {"HC": 0.75, "FES": 0.5, "CHR": 0.5}
    assert m["balanced_accuracy"] == pytest.approx((0.75 + 0.5 + 0.5) / 3)
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["confusion_matrix"] == [[3, 1, 0], [0, 1, 1], [1, 0, 1]]
    # F1 per class: HC p=3/4 r=3/4 -> .75 ; FES p=1/2 r=1/2 -> .5 ; CHR p=1/2 r=1/2 -> .5
    assert m["macro_f1"] == pytest.approx((0.75 + 0.5 + 0.5) / 3)
    assert format_per_class(m) == "HC 0.750 / FES 0.500 / CHR 0.500, average 58.3%"


def test_binary_auc_uses_the_second_class_probability():
    y = ["HC", "HC", "MA", "MA"]
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.8, 0.2]])
    m = classification_metrics(y, ["HC", "MA", "MA", "HC"], proba, classes=["HC", "MA"])
    # positives (MA) score .7 .2, negatives .1 .6: .7>.1 .7>.6 .2>.1 .2<.6 -> AUC 3/4
    assert m["roc_auc_ovr"] == pytest.approx(0.75)


def test_bootstrap_ci_contains_the_estimate_and_narrows_with_more_subjects():
    rng = np.random.default_rng(0)

    def width(n):
        y = rng.choice(["a", "b"], n)
        pred = np.where(rng.random(n) < 0.8, y, np.where(y == "a", "b", "a"))
        ci = bootstrap_ci(np.arange(n), y, pred, n_boot=300, seed=1)
        est = classification_metrics(y, pred)["balanced_accuracy"]
        assert ci["balanced_accuracy"][0] <= est <= ci["balanced_accuracy"][1]
        return ci["balanced_accuracy"][1] - ci["balanced_accuracy"][0]

    assert width(400) < width(40)


def test_bootstrap_resamples_subjects_not_rows():
    # 2 subjects x 50 repeats: a subject-level bootstrap sees only 2 units, so the
    # interval must be wide; a row-level bootstrap would make it narrow.
    ids = np.repeat(["s1", "s2"], 50)
    y = np.repeat(["a", "b"], 50)
    pred = np.repeat(["a", "a"], 50)
    ci = bootstrap_ci(ids, y, pred, classes=["a", "b"], n_boot=200, seed=0)
    assert ci["accuracy"] == (0.0, 1.0)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_bootstrap_core_matches_classification_metrics(n_classes):
    # The bootstrap's numpy metrics must equal the scikit-learn-based point estimates.
    from neurodx.evaluation.metrics import _scalar_metrics

    rng = np.random.default_rng(n_classes)
    classes = ["A", "B", "C"][:n_classes]
    for _ in range(20):
        t = rng.integers(0, n_classes, 30)
        t[:n_classes] = np.arange(n_classes)            # every class present
        p = np.where(rng.random(30) < 0.6, t, rng.integers(0, n_classes, 30))
        proba = rng.dirichlet(np.ones(n_classes), 30)
        proba[np.arange(30), p] += 0.5
        proba = np.round(proba, 1)                      # ties in the scores
        ref = classification_metrics(np.array(classes)[t], np.array(classes)[p], proba, classes)
        fast, recall = _scalar_metrics(t, p, proba, n_classes)
        for name in ("balanced_accuracy", "accuracy", "macro_f1", "roc_auc_ovr"):
            assert fast[name] == pytest.approx(ref[name], abs=1e-12), name
        assert recall == pytest.approx(list(ref["per_class_recall"].values()))
