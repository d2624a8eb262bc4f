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


def test_band_table_says_which_pooling_a_measured_route_chose():
    # Issue 16, item 1: the report says which window length each band got. SYNTHETIC
    # white noise low-passed at 32 Hz: the nominal 30-45 Hz band holds 2 Hz of signal.
    from scipy.signal import butter, sosfiltfilt

    from neurodx.evaluation.report import _band_table
    from neurodx.rmt import EigenSpectra
    from neurodx.rmt.les_tangent import BandSummaries

    rng = np.random.default_rng(3)
    sos = butter(8, 32.0, fs=128.0, output="sos")
    X = [sosfiltfilt(sos, rng.standard_normal((30, 60 * 128)), axis=1) for _ in range(4)]
    bands = {"gamma": (30.0, 45.0)}
    blocks = BandSummaries(bands=bands, sfreq=128.0, window=2.0,
                           pooling="measured").fit(X).transform(X)
    spectra = EigenSpectra(bands=bands, sfreq=128.0, window=2.0).fit(X).transform(X)
    route = SimpleNamespace(name="les_tangent", estimator=SimpleNamespace(
        get_params=lambda deep=True: {"features__c_max": 0.5}))
    table, notes = _band_table(spectra, None, 128.0, [route], [[b] for b in blocks])
    assert table["header"][-1] == "pooled windows (c), routes.les_tangent"
    blocks_chosen, c = table["rows"][0][-1].replace("(", "").replace(")", "").split()
    # the nominal width pools 1 block at c > 0.5; the measured T_eff asks for more
    assert int(blocks_chosen) > 1 and float(c) <= 0.5
