"""Pieces of the report that need no comparison run: training curves, fold records."""
from types import SimpleNamespace

import numpy as np

from neurodx.evaluation.cross_validation import _fold_record
from neurodx.evaluation.report import _ENV, training_figure


def _history(n, val=True):
    rows = []
    for e in range(1, n + 1):
        row = {"epoch": e, "train_loss": 1.0 / e, "seconds": 0.1}
        if val:
            row.update(val_loss=1.2 / e, val_accuracy=0.5 + 0.05 * e,
                       val_subject_accuracy=0.5 + 0.1 * e / n)
        rows.append(row)
    return rows


def test_training_figure_draws_one_line_per_split_and_curve():
    records = [{"repeat": 0, "fold": f, "history": _history(4)} for f in range(3)]
    loss, acc = training_figure(records).axes
    assert len(loss.get_lines()) == 3 * 2 and len(acc.get_lines()) == 3 * 2
    assert [line.get_ydata()[0] for line in loss.get_lines()[:1]] == [1.0]


def test_training_figure_without_validation_says_so():
    fig = training_figure([{"repeat": 0, "fold": 0, "history": _history(3, val=False)}])
    assert "no validation subjects" in fig.axes[1].texts[0].get_text()


def test_fold_record_keeps_the_numbers_of_each_epoch():
    est = SimpleNamespace(history_=[{"epoch": 1, "train_loss": np.float32(0.5),
                                     "batches": [{"loss": 1.0}], "best": True}])
    fold = SimpleNamespace(repeat=1, fold=2)
    record = _fold_record(est, fold, 3.5)
    assert record == {"repeat": 1, "fold": 2, "seconds": 3.5,
                      "history": [{"epoch": 1.0, "train_loss": 0.5}]}
    assert _fold_record(object(), fold, 1.0)["history"] is None


def test_template_escapes_what_it_is_given():
    page = _ENV.from_string("{{ x }}").render(x="<script>alert(1)</script>")
    assert "<script>" not in page and "&lt;script&gt;" in page
