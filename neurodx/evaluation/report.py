"""The self-contained HTML report of a comparison (figures embedded as PNG)."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from .._atomic import atomic_write_text  # noqa: E402

__all__ = ["write_report", "figure_to_png", "confusion_figure", "roc_figure"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}.best{background:#eef7ee;font-weight:600}
.synthetic{background:#fff3cd;border:2px solid #e0a800;padding:.7em 1em;font-weight:600;margin:1em 0}
.muted{color:#666;font-size:.9em}img{max-width:100%;height:auto;border:1px solid #eee;margin:.4em 0}
code{background:#f5f5f5;padding:0 .25em}
"""


def figure_to_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _img(png: bytes, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}">')


def confusion_figure(metrics: dict):
    """One confusion matrix per route (rows: true group, columns: predicted)."""
    routes = list(metrics["routes"])
    classes = metrics["classes"]
    fig, axes = plt.subplots(1, len(routes), figsize=(3.4 * len(routes) + 0.5, 3.3), squeeze=False)
    for ax, name in zip(axes[0], routes):
        cm = np.asarray(metrics["routes"][name]["confusion_matrix"])
        rates = cm / np.clip(cm.sum(axis=1, keepdims=True), 1, None)
        ax.imshow(rates, vmin=0, vmax=1, cmap="Blues")
        for i in range(len(classes)):
            for j in range(len(classes)):
                ax.text(j, i, f"{cm[i, j]}\n{rates[i, j]:.0%}", ha="center", va="center",
                        color="white" if rates[i, j] > 0.6 else "black", fontsize=8)
        ax.set_xticks(range(len(classes)), classes, fontsize=8)
        ax.set_yticks(range(len(classes)), classes, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name, fontsize=9)
    fig.tight_layout()
    return fig


def roc_figure(predictions, metrics: dict):
    """One-vs-rest ROC curves per route, from out-of-fold probabilities."""
    routes = [r for r in metrics["routes"]
              if f"proba_{metrics['classes'][0]}" in predictions.columns
              and predictions.loc[predictions["route"] == r,
                                  f"proba_{metrics['classes'][0]}"].notna().all()]
    if not routes:
        return None
    classes = metrics["classes"]
    fig, axes = plt.subplots(1, len(routes), figsize=(3.4 * len(routes) + 0.5, 3.3), squeeze=False)
    for ax, name in zip(axes[0], routes):
        p = predictions[predictions["route"] == name]
        for c in (classes[1:] if len(classes) == 2 else classes):
            truth = (p["true"] == c).to_numpy()
            if truth.all() or not truth.any():
                continue
            fpr, tpr, _ = roc_curve(truth, p[f"proba_{c}"].to_numpy())
            ax.plot(fpr, tpr, label=f"{c} vs rest" if len(classes) > 2 else f"{c}")
        ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--")
        ax.set_title(f"{name} (AUC {metrics['routes'][name]['roc_auc_ovr']:.2f})", fontsize=9)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def _ci(value, ci, pct=True) -> str:
    if value is None or not np.isfinite(value):
        return "-"
    f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.3f}")
    lo, hi = ci
    return f"{f(value)} <span class='muted'>[{f(lo)}, {f(hi)}]</span>" if np.isfinite(lo) \
        else f(value)


def _table(header, rows, left=1, highlight=None) -> str:
    out = ["<table><tr>" + "".join(f"<th class='{'l' if i < left else ''}'>{h}</th>"
                                   for i, h in enumerate(header)) + "</tr>"]
    for k, row in enumerate(rows):
        cls = " class='best'" if highlight is not None and k == highlight else ""
        out.append(f"<tr{cls}>" + "".join(f"<td class='{'l' if i < left else ''}'>{c}</td>"
                                          for i, c in enumerate(row)) + "</tr>")
    return "".join(out) + "</table>"


def _rmt_figures(routes, extracted, groups, spectra, feature_names) -> dict:
    """MP spectra and the ring law per group, and LES distributions, where routes have them."""
    from ..rmt import WindowSpectra, les_subject_features, plot_les_distributions, \
        plot_ring_law, plot_spectra_vs_mp

    figures = {}
    if spectra is None:   # e.g. fMRI with an atlas: spectra follow a route's region step
        spectra = next((subjects for subjects in ([s[k] for s in extracted]
                                                  for k in range(len(routes)))
                        if subjects and all(isinstance(x, WindowSpectra) for x in subjects)),
                       None)
    if spectra is not None:
        figures["Window eigenvalue spectra per group against the Marchenko–Pastur law"] = \
            plot_spectra_vs_mp(spectra, groups)
        figures[f"Ring law (msr_l1, msr_l5; band {spectra[0].bands[0]}): eigenvalues of the "
                "product of L singular-value-equivalent window matrices against the "
                "white-noise ring (inner radius (1 - c)^(L/2) dashed, unit circle)"] = \
            plot_ring_law(spectra, groups)
    for k, route in enumerate(routes):
        if "les" not in getattr(route.estimator, "named_steps", {}):
            continue
        subjects = [subject[k] for subject in extracted]
        if all(isinstance(s, WindowSpectra) for s in subjects):
            # The LES step learns its MP reference in each fold; this figure describes
            # the cohort, so it measures every subject against the whole cohort's.
            feats, names, _ = les_subject_features(route.estimator, subjects)
            title = (f"Linear eigenvalue statistics per group ({route.name}; MP reference "
                     "fitted on the whole cohort, descriptive)")
        else:
            names = feature_names.get(route.name)
            if not names:
                continue
            feats = np.asarray(subjects, dtype=float)
            title = f"Linear eigenvalue statistics per group ({route.name})"
        # Subject means of the von Neumann entropy per band, else the first features.
        shown = [n for n in names if n.endswith("_vne_mean")] or names[:12]
        figures[title] = plot_les_distributions(feats, groups, names,
                                                features_to_plot=shown[:12])
        break
    return figures


_DIAGNOSTICS_MEANING = (
    "<p><b>What this shows.</b> Each dense and convolutional layer's weight matrix "
    "(convolutions as one <i>out</i>×<i>in</i> matrix per kernel position, eigenvalues "
    "pooled, as WeightWatcher does) is compared with the Marchenko–Pastur law of a random "
    "matrix: variance fitted to the bulk by Kolmogorov–Smirnov distance; <i>spikes</i> are "
    "eigenvalues beyond the fitted edge by more than a white matrix's Tracy–Widom "
    "fluctuation (1% level). <i>α</i> is the power-law exponent of the eigenvalue tail "
    "(Clauset–Shalizi–Newman maximum likelihood, tail start by KS distance). The loss "
    "Hessian (class-weighted cross-entropy on a fixed subset of training items, eval mode) "
    "is probed with Hessian-vector products: top eigenvalues by Lanczos, density by "
    "stochastic Lanczos quadrature; outliers are top eigenvalues above the largest "
    "quadrature node that stands for more than a few eigenvalues (weight ≥ 10/P for P "
    "parameters; a descriptive rule).</p>"
    "<p><b>What is established.</b> Across families of large pretrained vision and "
    "language models, layer-averaged α (lower within 2–6) correlates with reported test "
    "accuracy (Martin &amp; Mahoney 2021, JMLR; Martin, Peng &amp; Mahoney 2021, Nature "
    "Communications); random weights give an MP spectrum without spikes; trained "
    "networks' Hessians show a bulk near zero and a few outliers, often about one per "
    "class (Ghorbani et al. 2019; Papyan 2019). <b>What is not.</b> These are correlations "
    "found across many large models, not a test of one model: α, spike counts or Hessian "
    "outliers of these small networks, trained on a small cohort, do not predict their "
    "accuracy on new patients, and no threshold turns them into a quality grade. "
    "The cross-validated metrics above are the evidence of performance; this section "
    "describes what training did to the weights. Power-law fits to a few dozen eigenvalues "
    "are noisy (α's standard error is (α−1)/√n of the tail), and small layers are marked "
    "too small for an MP fit.</p>")


def _diagnostics_section(diagnostics: dict) -> list[str]:
    """'What the networks learned, in RMT terms': one block per CNN route with diagnostics."""
    from ..models.diagnostics.plotting import (plot_alpha_across_folds, plot_hessian,
                                               plot_layer_spectra, representative_network)

    if not diagnostics:
        return []
    e = html.escape
    parts = ["<h2>What the networks learned, in RMT terms</h2>", _DIAGNOSTICS_MEANING]
    for name, records in diagnostics.items():
        parts.append(f"<h3>{e(name)}</h3>")
        rows = []
        for rec in records:
            alphas = [la["alpha"] for net in rec["networks"] for la in net["layers"]
                      if la["alpha"] is not None]
            spikes = [la["n_spikes"] for net in rec["networks"] for la in net["layers"]
                      if la["n_spikes"] is not None]
            h = rec.get("hessian")
            top = ", ".join(f"{v:.3g}" for v in h["top_eigenvalues"][:3]) if h else "-"
            hess_s = (f"{h['seconds']:.1f} s" + (" (budget reached)" if h["stopped_early"]
                                                 else "")) if h else "not computed"
            rows.append([f"repeat {rec['repeat']}, fold {rec['fold']}", len(rec["networks"]),
                         f"{np.median(alphas):.2f} [{min(alphas):.2f}, {max(alphas):.2f}]"
                         if alphas else "-", sum(spikes), top,
                         f"{h['bulk_edge']:.3g} / {h['n_outliers']} of "
                         f"{len(h['top_eigenvalues'])}" if h else "-",
                         f"{rec['weights_seconds']:.1f} s", hess_s])
        parts.append(_table(["split", "networks", "α median [min, max] over layers",
                             "spikes (all layers)", "Hessian top 3",
                             "bulk edge / outliers among the top eigenvalues",
                             "weight spectra time", "Hessian time"], rows))
        net, where = representative_network(records)
        title = f"{name}: layer spectra against the MP law ({where})"
        parts.append(f"<p class='muted'>{e(title)}: blue MP fit, dashed bulk edge, red "
                     "spikes.</p>")
        parts.append(_img(figure_to_png(plot_layer_spectra(net)), title))
        parts.append(f"<p class='muted'>{e(name)}: tail exponent α per layer, every split"
                     + (" and every member network" if len(records[0]["networks"]) > 1
                        else "") + ".</p>")
        parts.append(_img(figure_to_png(plot_alpha_across_folds(records)), f"{name} alpha"))
        fig = plot_hessian(records)
        if fig is not None:
            h = records[0]["hessian"]
            parts.append(f"<p class='muted'>{e(name)}: loss Hessian over "
                         f"{h['n_parameters']} parameters, {records[0]['hessian_items']} "
                         f"training items, {h['n_steps']} Lanczos steps × "
                         f"{h['n_vectors_done']} vector(s), budget {h['budget_seconds']:.0f} s "
                         "per split.</p>")
            parts.append(_img(figure_to_png(fig), f"{name} Hessian"))
    return parts


def write_report(result, cohort, context, routes, extracted, pipeline=None, spectra=None,
                 feature_names=None) -> Path:
    """Write ``report.html`` into the run folder and return its path."""
    m, man = result.metrics, result.manifest
    classes = m["classes"]
    names = list(m["routes"])
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>neurodx report: {e(m['study'] or 'study')}</title><style>{_CSS}</style>"
             "</head><body>",
             f"<h1>neurodx comparison: {e(m['study'] or 'study')}</h1>",
             f"<p class='muted'>cohort <code>{e(str(cohort.root))}</code> · "
             f"{m['n_subjects']} subjects ("
             + ", ".join(f"{e(c)} {n}" for c, n in m["subjects_per_class"].items())
             + f") · modality {e(cohort.modality)} · seed {man['seed']} · "
             f"neurodx {e(man['neurodx_version'])} · {e(man['started'][:19])} UTC</p>"]
    if m["synthetic_data"]:
        parts.append("<div class='synthetic'>SYNTHETIC DATA: this cohort was generated by a "
                     "neurodx simulator. The figures below describe the simulator, not patients."
                     "</div>")
    cv = m["cv"]
    scheme = {"stratified_kfold": f"repeated stratified {cv['n_splits']}-fold "
                                  f"({cv['n_repeats']} repeat(s))",
              "holdout": f"random stratified {1 - cv['test_size']:.0%}/{cv['test_size']:.0%} "
                         f"split per class, repeated {cv['n_repeats']} time(s)",
              "leave_one_site_out": "leave one site out"}[cv["scheme"]]
    parts.append(f"<p>All routes ran on the <b>same {cv['n_folds_total']} subject-level "
                 f"splits</b>: {scheme}; on average {cv['mean_train_subjects']:.0f} training and "
                 f"{cv['mean_test_subjects']:.0f} test subjects. Everything fitted (scalers, "
                 "reference means, network weights) was fitted on training subjects only. "
                 f"Intervals are {100 * context.config['statistics']['level']:.0f}% percentile "
                 f"bootstrap intervals over subjects ({context.config['statistics']['bootstrap']} "
                 "draws).</p>")

    smallest = min(m["subjects_per_class"].values())
    if smallest < 10:
        parts.append(f"<p class='synthetic'>Small cohort: the smallest class has {smallest} "
                     f"subject(s) and a split tests {cv['mean_test_subjects']:.0f} subject(s) on "
                     "average, so the intervals below are wide and differences between routes "
                     "are not evidence. Read this run as a check of the pipeline, not of the "
                     "methods.</p>")
    parts.append("<h2>Summary</h2>")
    rows = []
    for n in names:
        r = m["routes"][n]
        rows.append([f"<b>{e(n)}</b><br><span class='muted'>{e(r['description'])}</span>",
                     _ci(r["balanced_accuracy"], r["ci"]["balanced_accuracy"]),
                     _ci(r["macro_f1"], r["ci"]["macro_f1"], pct=False),
                     _ci(r["roc_auc_ovr"], r["ci"]["roc_auc_ovr"], pct=False),
                     e(r["per_class_text"]), f"{r['fit_predict_seconds']:.1f} s"])
    parts.append(_table(["route", "balanced accuracy", "macro F1", "ROC AUC (one-vs-rest)",
                         "per-class recall (reference form)", "CV fit+predict time"], rows,
                        highlight=names.index(m["best_route"])))
    parts.append(f"<p class='muted'>Loading and per-subject feature extraction for all routes "
                 f"took {m['extract_seconds']:.1f} s.</p>")

    parts.append("<h2>Per-class recall</h2>")
    rows = [[e(n)] + [_ci(m["routes"][n]["per_class_recall"][c],
                          m["routes"][n]["ci"]["per_class_recall"][c]) for c in classes]
            for n in names]
    parts.append(_table(["route"] + [e(c) for c in classes], rows))

    parts.append("<h2>Paired comparison with the best route</h2>")
    if m["paired_comparisons"]:
        rows = []
        for c in m["paired_comparisons"]:
            mc, tt = c["mcnemar_repeat0"], c["corrected_ttest"]
            rows.append([f"{e(c['a'])} vs {e(c['b'])}", mc["a_right_b_wrong"], mc["a_wrong_b_right"],
                         f"{mc['p_value']:.3g}", f"{100 * tt['mean_difference']:+.1f} pts",
                         f"{tt['t']:.2f}" if np.isfinite(tt["t"]) else "-",
                         f"{tt['p_value']:.3g}" if np.isfinite(tt["p_value"]) else "-"])
        parts.append(_table(["pair", "only A right", "only B right", "McNemar p (repeat 0)",
                             "mean Δ balanced acc.", "corrected t", "Nadeau–Bengio p"], rows))
    else:
        parts.append("<p>Only one route ran.</p>")
    perm = m["permutation_test"]
    if perm["n_permutations"]:
        which = "the best route" if perm["route"] == m["best_route"] else "route"
        parts.append(f"<p>Label-permutation test of {which} (<b>{e(perm['route'])}</b>, "
                     f"folds of the first repeat): mean balanced accuracy "
                     f"{100 * perm['observed']:.1f}% against a null mean of "
                     f"{100 * perm['null_mean']:.1f}% over {perm['n_permutations']} "
                     f"permutations, p = {perm['p_value']:.3g}.</p>")
    else:
        parts.append("<p>No label-permutation test (statistics.permutations is 0).</p>")

    parts.append("<h2>Confusion matrices</h2>")
    parts.append(_img(figure_to_png(confusion_figure(m)), "confusion matrices"))
    roc = roc_figure(result.predictions, m)
    if roc is not None:
        parts.append("<h2>ROC curves</h2>")
        parts.append(_img(figure_to_png(roc), "ROC curves"))
    groups = np.asarray([sub.group for sub in cohort], dtype=object)
    for title, fig in _rmt_figures(routes, extracted, groups, spectra,
                                   feature_names or {}).items():
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append(_img(figure_to_png(fig), title))
    if pipeline is not None and hasattr(pipeline, "report_figures"):
        for title, fig in pipeline.report_figures(context, cohort, routes, extracted).items():
            parts.append(f"<h2>{e(title)}</h2>")
            parts.append(_img(figure_to_png(fig), title))

    parts += _diagnostics_section(getattr(result, "diagnostics", None))
    parts.append("<h2>Subjects left out and warnings</h2>")
    if m.get("flat_dropped"):
        from ..io import format_flat_dropped

        unit, key = ("channel", "eeg") if cohort.modality == "eeg" else ("region", "regions")
        parts.append(f"<p><b>{e(format_flat_dropped(m['flat_dropped'], unit))}</b>; removed "
                     f"from every subject ({key}.flat_policy: drop).</p>")
    if m["excluded_subjects"] or m["warnings"]:
        parts.append("<ul>" + "".join(f"<li>{e(p)}</li>" for p in
                                      m["excluded_subjects"] + m["warnings"]) + "</ul>")
    else:
        parts.append("<p>None: every subject of the cohort was used.</p>")

    parts.append("<h2>Reproducibility</h2>")
    versions = ", ".join(f"{k} {v}" for k, v in man["versions"].items() if v)
    parts.append(f"<p class='muted'>config <code>{e(str(man['config_file']))}</code> "
                 f"(sha256 {man['config_sha256'][:16]}…), git commit "
                 f"<code>{e(str(man['git_commit']))}</code>, {len(man['inputs_sha256'])} input "
                 f"files hashed in <code>manifest.json</code>.<br>{e(versions)}</p>")
    parts.append("</body></html>")
    path = result.out_dir / "report.html"
    atomic_write_text(path, "\n".join(parts))
    return path
