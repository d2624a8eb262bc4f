"""The self-contained HTML report of a comparison (figures embedded as PNG).

The page is a jinja2 template (``templates/report.html.j2``, autoescaped); this module
computes its context: formatted tables, figures as ``data:`` URIs, and the texts that
depend on the run.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import jinja2  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from markupsafe import Markup  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from .._atomic import atomic_write_text  # noqa: E402
from .._plotting import panel_grid  # noqa: E402
from ..io import format_flat_dropped  # noqa: E402
from ..rmt import (WindowSpectra, les_subject_features, plot_les_distributions,  # noqa: E402
                   plot_ring_law, plot_spectra_vs_mp)
from ..rmt.band_summary import band_summary  # noqa: E402
from ..rmt.les_tangent import SubjectBands, subjects_pooling  # noqa: E402
from ..study.modalities import get_modality  # noqa: E402

__all__ = ["write_report", "figure_to_png", "confusion_figure", "roc_figure",
           "training_figure"]

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("neurodx.evaluation", "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined,
                          trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def figure_to_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _figure(fig, alt: str) -> dict:
    """An ``<img>`` of the template: the figure as a PNG ``data:`` URI."""
    return {"alt": alt, "src": "data:image/png;base64,"
                               + base64.b64encode(figure_to_png(fig)).decode()}


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


def training_figure(records: list[dict]):
    """Loss and validation accuracy per epoch, one thin line per split.

    ``records`` are the ``training_history`` entries of a route in ``metrics.json``
    (``repeat``, ``fold``, ``history``: one dict per epoch).
    """
    fig, (ax_loss, ax_acc) = panel_grid(2, 2, panel_size=(4.6, 3.0))
    curves = ((ax_loss, "train_loss", "training", "C0", "-"),
              (ax_loss, "val_loss", "validation", "C1", "-"),
              (ax_acc, "val_accuracy", "items", "C1", "-"),
              (ax_acc, "val_subject_accuracy", "subjects (vote)", "C2", "--"))
    for k, rec in enumerate(records):
        h = rec["history"]
        epochs = [e.get("epoch", i + 1) for i, e in enumerate(h)]
        for ax, key, label, color, ls in curves:
            if all(key in e for e in h):        # a record without the key draws nothing
                ax.plot(epochs, [e[key] for e in h], color=color, ls=ls, lw=0.8, alpha=0.7,
                        label=label if k == 0 else None)
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss (cross-entropy)")
    if ax_loss.get_lines():
        ax_loss.legend(fontsize=7)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_ylim(0, 1.02)
    if ax_acc.get_lines():
        ax_acc.legend(fontsize=7)
    else:
        ax_acc.text(0.5, 0.5, "no validation subjects", ha="center", va="center",
                    transform=ax_acc.transAxes)
    return fig


def _ci(value, ci, pct=True):
    if value is None or not np.isfinite(value):
        return "-"
    f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.3f}")
    lo, hi = ci
    return (Markup("{} <span class='muted'>[{}, {}]</span>").format(f(value), f(lo), f(hi))
            if np.isfinite(lo) else f(value))


def _table(header, rows, left=1, highlight=None) -> dict:
    return {"header": header, "rows": rows, "left": left, "highlight": highlight}


def _run_time(r) -> Markup | str:
    """Total CV fit+predict time, and per split when recorded."""
    total = f"{r['fit_predict_seconds']:.1f} s"
    folds = r.get("fold_seconds")
    if not folds:
        return total
    return Markup("{}<br><span class='muted'>per split {} s [{}, {}]</span>").format(
        total, f"{np.median(folds):.2g}", f"{min(folds):.2g}", f"{max(folds):.2g}")


_SPECTRA_TEXT = (
    "Eigenvalues of every window's band correlation matrix, all subjects of a group "
    "pooled, against the Marchenko–Pastur (MP) law of white noise at the band's ratio "
    "c = N / T_eff (N channels or regions, T_eff effective samples per window: band-"
    "limited samples are correlated, so T_eff is below the window's sample count). "
    "Eigenvalues above the MP edge λ+ (dashed) are structure white noise does not "
    "produce; the dotted line is the Tracy–Widom 1% threshold of the largest eigenvalue "
    "at this size. When c > 1 a share 1 − 1/c of the eigenvalues is (near) zero by "
    "construction (the MP point mass): the panel states it and shows the rest on a log "
    "axis against the MP density of the non-zero part.")

_LES_TEXT = (
    "Standardised linear eigenvalue statistics: (LES − null mean) / null SD, with the "
    "null moments of white noise under the MP law at the same (N, T_eff). A value of −40 "
    "means 40 null standard deviations below white noise: the windows' spectra are far "
    "more structured than independent channels, and with short windows (large c) the "
    "null SD is small, so such values are common and mostly say the channels correlate. "
    "Differences between groups, not the size of the values, are what the route "
    "classifies on.")


def _c_bound(routes):
    """The first route's MP ratio bound (``c_max`` of an rmt_les_tangent route), if any."""
    for route in routes:
        params = route.estimator.get_params() if hasattr(route.estimator, "get_params") \
            else {}
        for key, value in params.items():
            if key.split("__")[-1] == "c_max" and value is not None:
                return route.name, float(value)
    return None, None


def _measured_pooling(routes, extracted, c_max):
    """The pooling a ``pooling: measured`` route chooses, measured on the whole cohort
    (each fold chooses from its training subjects; this row says what the cohort needs)."""
    for k in range(len(routes)):
        outputs = [s[k] for s in extracted]
        if c_max and outputs and all(isinstance(x, SubjectBands) and x.spectra is None
                                     for x in outputs):
            return subjects_pooling(outputs, c_max)[1]
    return None


def _band_table(spectra, groups, sfreq, routes, extracted) -> tuple[dict, list[str]]:
    """Issue 16's per-band account: window length, c, MP edges, outliers, point mass."""
    bound_route, c_max = _c_bound(routes)
    pooling = _measured_pooling(routes, extracted, c_max)
    rows = band_summary(spectra, groups, sfreq=sfreq, c_max=c_max, pooling=pooling)
    labels = list(rows[0]["mean_above_edge_by_group"])
    table = []
    for row in rows:
        length = (f"{row['window_seconds']:.3g} s / {row['n_samples']}"
                  if row["window_seconds"] else f"{row['n_samples']} samples")
        table.append([row["band"], length, f"{row['t_eff']:.1f}", row["n_channels"],
                      f"{row['c']:.2f}", f"{row['lambda_minus']:.3f} / {row['lambda_plus']:.3f}",
                      f"{row['tw_edge']:.3f}", f"{row['mean_above_edge']:.2f}"]
                     + [f"{row['mean_above_edge_by_group'][g]:.2f}" for g in labels]
                     + [f"{100 * row['point_mass']:.0f}% ({row['point_mass_count']} per "
                        "window)" if row["point_mass"] else "-"]
                     + ([f"{row['pooled_blocks']} ({row['pooled_c']:.2f})"] if pooling else []))
    header = (["band", "window (s / samples)", "T_eff", "N", "c = N / T_eff", "MP λ− / λ+",
               "TW 1% edge", "above λ+ per window"]
              + [f"above λ+, {g}" for g in labels] + ["point mass at 0"]
              + ([f"pooled windows (c), routes.{bound_route}"] if pooling else []))
    notes = [f"{row['band']}: {row['note']}" for row in rows if row["note"]]
    above = [row["band"] for row in rows if row["above_bound"]]
    if above:
        notes.append(f"Above the bound c ≤ {c_max:g} of routes.{bound_route} (which pools "
                     f"consecutive windows until its bands reach it): {', '.join(above)}.")
    return _table(header, table), notes


def _rmt_sections(routes, extracted, groups, spectra, feature_names, sfreq) -> list[dict]:
    """MP spectra (with the per-band table) and the ring law, and LES distributions."""
    sections = []
    if spectra is None:   # e.g. fMRI with an atlas: spectra follow a route's region step
        spectra = next((subjects for subjects in ([s[k] for s in extracted]
                                                  for k in range(len(routes)))
                        if subjects and all(isinstance(x, WindowSpectra) for x in subjects)),
                       None)
    if spectra is not None:
        title = "Window eigenvalue spectra per group against the Marchenko–Pastur law"
        bands, notes = _band_table(spectra, groups, sfreq, routes, extracted)
        sections.append({"title": title, "text": _SPECTRA_TEXT, "bands": bands,
                         "band_notes": notes,
                         "figure": _figure(plot_spectra_vs_mp(spectra, groups), title)})
        title = (f"Ring law (msr_l1, msr_l5; band {spectra[0].bands[0]}): eigenvalues of the "
                 "product of L singular-value-equivalent window matrices against the "
                 "white-noise ring (inner radius (1 - c)^(L/2) dashed, unit circle)")
        sections.append({"title": title, "text": None, "bands": None, "band_notes": [],
                         "figure": _figure(plot_ring_law(spectra, groups), title)})
    for k, route in enumerate(routes):
        if "les" not in getattr(route.estimator, "named_steps", {}):
            continue
        subjects = [subject[k] for subject in extracted]
        standardized = bool(getattr(route.estimator.named_steps["les"], "standardize", False))
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
        fig = plot_les_distributions(feats, groups, names, features_to_plot=shown[:12],
                                     standardized=standardized)
        sections.append({"title": title, "text": _LES_TEXT if standardized else None,
                         "bands": None, "band_notes": [], "figure": _figure(fig, title)})
        break
    return sections


_DIAGNOSTICS_MEANING = Markup(
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


def _diagnostics_blocks(diagnostics: dict) -> list[dict]:
    """'What the networks learned, in RMT terms': one block per CNN route with diagnostics."""
    from ..models.diagnostics.plotting import (plot_alpha_across_folds, plot_hessian,
                                               plot_layer_spectra, representative_network)

    blocks = []
    for name, records in (diagnostics or {}).items():
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
        net, where = representative_network(records)
        spectra_title = f"{name}: layer spectra against the MP law ({where})"
        block = {
            "name": name,
            "table": _table(["split", "networks", "α median [min, max] over layers",
                             "spikes (all layers)", "Hessian top 3",
                             "bulk edge / outliers among the top eigenvalues",
                             "weight spectra time", "Hessian time"], rows),
            "spectra_title": spectra_title,
            "spectra": _figure(plot_layer_spectra(net), spectra_title),
            "alpha_caption": f"{name}: tail exponent α per layer, every split"
                             + (" and every member network" if len(records[0]["networks"]) > 1
                                else "") + ".",
            "alpha": _figure(plot_alpha_across_folds(records), f"{name} alpha"),
            "hessian": None}
        fig = plot_hessian(records)
        if fig is not None:
            h = records[0]["hessian"]
            block["hessian_caption"] = (
                f"{name}: loss Hessian over {h['n_parameters']} parameters, "
                f"{records[0]['hessian_items']} training items, {h['n_steps']} Lanczos "
                f"steps × {h['n_vectors_done']} vector(s), budget {h['budget_seconds']:.0f} s "
                "per split.")
            block["hessian"] = _figure(fig, f"{name} Hessian")
        blocks.append(block)
    return blocks


def _training_section(metrics: dict) -> dict | None:
    """Per-epoch training curves of the routes that record them (CNNs), else None."""
    with_history = {n: r["training_history"] for n, r in metrics["routes"].items()
                    if r.get("training_history")}
    if not with_history:
        return None
    blocks = []
    for name, records in with_history.items():
        epochs = [len(r["history"]) for r in records]
        best = [r["history"][-1].get("val_accuracy") for r in records]
        caption = (f"{name}: {len(records)} split(s), {min(epochs)}–{max(epochs)} epochs"
                   if min(epochs) != max(epochs) else
                   f"{name}: {len(records)} split(s), {epochs[0]} epochs")
        if all(b is not None for b in best):
            caption += f"; last-epoch validation accuracy (items) median {np.median(best):.2f}"
        blocks.append({"name": name, "caption": caption + ".",
                       "figure": _figure(training_figure(records), f"{name} training curves")})
    without = [n for n in metrics["routes"] if n not in with_history]
    return {"routes": blocks, "without": ", ".join(without)}


def write_report(result, cohort, context, routes, extracted, pipeline=None, spectra=None,
                 feature_names=None) -> Path:
    """Write ``report.html`` into the run folder and return its path."""
    m, man = result.metrics, result.manifest
    classes = m["classes"]
    names = list(m["routes"])
    cv = m["cv"]
    scheme = {"stratified_kfold": f"repeated stratified {cv['n_splits']}-fold "
                                  f"({cv['n_repeats']} repeat(s))",
              "holdout": f"random stratified {1 - cv['test_size']:.0%}/{cv['test_size']:.0%} "
                         f"split per class, repeated {cv['n_repeats']} time(s)",
              "leave_one_site_out": "leave one site out"}[cv["scheme"]]
    smallest = min(m["subjects_per_class"].values())

    summary = [[Markup("<b>{}</b><br><span class='muted'>{}</span>").format(n, r["description"]),
                _ci(r["balanced_accuracy"], r["ci"]["balanced_accuracy"]),
                _ci(r["macro_f1"], r["ci"]["macro_f1"], pct=False),
                _ci(r["roc_auc_ovr"], r["ci"]["roc_auc_ovr"], pct=False),
                r["per_class_text"], _run_time(r)]
               for n, r in ((n, m["routes"][n]) for n in names)]
    recall = [[n] + [_ci(m["routes"][n]["per_class_recall"][c],
                         m["routes"][n]["ci"]["per_class_recall"][c]) for c in classes]
              for n in names]
    paired = []
    for c in m["paired_comparisons"]:
        mc, tt = c["mcnemar_repeat0"], c["corrected_ttest"]
        paired.append([f"{c['a']} vs {c['b']}", mc["a_right_b_wrong"], mc["a_wrong_b_right"],
                       f"{mc['p_value']:.3g}", f"{100 * tt['mean_difference']:+.1f} pts",
                       f"{tt['t']:.2f}" if np.isfinite(tt["t"]) else "-",
                       f"{tt['p_value']:.3g}" if np.isfinite(tt["p_value"]) else "-"])
    perm = m["permutation_test"]
    permutation = None
    if perm["n_permutations"]:
        permutation = {"which": "the best route" if perm["route"] == m["best_route"]
                       else "route", "route": perm["route"],
                       "observed": f"{100 * perm['observed']:.1f}",
                       "null_mean": f"{100 * perm['null_mean']:.1f}",
                       "n": perm["n_permutations"], "p": f"{perm['p_value']:.3g}"}

    groups = np.asarray([sub.group for sub in cohort], dtype=object)
    sfreq = context.data_rate
    rmt = _rmt_sections(routes, extracted, groups, spectra, feature_names or {}, sfreq)
    study_figures = []
    if pipeline is not None and hasattr(pipeline, "report_figures"):
        study_figures = [{"title": t, "figure": _figure(f, t)} for t, f in
                         pipeline.report_figures(context, cohort, routes, extracted).items()]
    flat = None
    if m.get("flat_dropped"):
        modality = get_modality(cohort.modality)
        flat = {"text": format_flat_dropped(m["flat_dropped"], modality.unit),
                "key": modality.section}
    roc = roc_figure(result.predictions, m)

    page = _ENV.get_template("report.html.j2").render(
        study=m["study"] or "study", cohort_root=str(cohort.root), n_subjects=m["n_subjects"],
        per_class=", ".join(f"{c} {n}" for c, n in m["subjects_per_class"].items()),
        modality=cohort.modality, seed=man["seed"], version=man["neurodx_version"],
        started=man["started"][:19], synthetic=m["synthetic_data"],
        cv={"n_folds": cv["n_folds_total"], "scheme": scheme,
            "train": f"{cv['mean_train_subjects']:.0f}", "test": f"{cv['mean_test_subjects']:.0f}",
            "level": f"{100 * m['statistics']['level']:.0f}",
            "bootstrap": m["statistics"]["bootstrap"]},
        small_cohort={"smallest": smallest} if smallest < 10 else None,
        summary=_table(["route", "balanced accuracy", "macro F1", "ROC AUC (one-vs-rest)",
                        "per-class recall (reference form)", "CV fit+predict time"], summary,
                       highlight=names.index(m["best_route"])),
        extract_seconds=f"{m['extract_seconds']:.1f}",
        recall=_table(["route"] + list(classes), recall),
        paired=_table(["pair", "only A right", "only B right", "McNemar p (repeat 0)",
                       "mean Δ balanced acc.", "corrected t", "Nadeau–Bengio p"], paired)
        if paired else None,
        permutation=permutation,
        confusion=_figure(confusion_figure(m), "confusion matrices"),
        roc=_figure(roc, "ROC curves") if roc is not None else None,
        training=_training_section(m), rmt=rmt, study_figures=study_figures,
        diagnostics=_diagnostics_blocks(getattr(result, "diagnostics", None)),
        diagnostics_meaning=_DIAGNOSTICS_MEANING,
        flat_dropped=flat, problems=m["excluded_subjects"] + m["warnings"],
        repro={"config_file": str(man["config_file"]), "config_sha": man["config_sha256"][:16],
               "git_commit": str(man["git_commit"]), "n_inputs": len(man["inputs_sha256"]),
               "versions": ", ".join(f"{k} {v}" for k, v in man["versions"].items() if v)})
    path = result.out_dir / "report.html"
    atomic_write_text(path, page)
    return path
