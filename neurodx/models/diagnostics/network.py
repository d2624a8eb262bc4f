"""Diagnostics of one fitted neurodx network: layer spectra of every member, Hessian.

What a CNN estimator stores in ``diagnostics_`` when built with
``diagnostics=True`` (a plain JSON-able dict): see :func:`network_diagnostics`.

Weight spectra are computed for every member of a per-position ensemble (the
31 networks of the fMRI study). The Hessian is taken once over the whole
ensemble: its members share no parameter and each item reaches one member, so
that Hessian is block-diagonal with one block per member, and its top
eigenvalues are the largest of the members' (the subset then holds at least 4
items per member).
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from ..training import batch_to_device, class_weights
from .hessian import hessian_spectrum, loss_closure
from .weights import weight_spectra

__all__ = ["DEFAULT_OPTIONS", "network_members", "network_diagnostics", "summarize_diagnostics"]

#: Settings of ``diagnostics=True``; a dict passed as ``diagnostics`` overrides them.
DEFAULT_OPTIONS = {"hessian": True, "hessian_items": 64, "hessian_seconds": 60.0,
                   "lanczos_steps": 30, "slq_vectors": 3, "top_k": 10}


def network_members(network: nn.Module) -> list[tuple[str, nn.Module]]:
    """The networks inside ``network``: each member of a per-position ensemble, else itself."""
    members = getattr(network, "members", None)
    if isinstance(members, nn.ModuleList):
        return [(f"position {i}", m) for i, m in enumerate(members)]
    return [("network", network)]


def network_diagnostics(network: nn.Module, items=None, index=None, *, seed: int = 0,
                        class_weight: str | None = "balanced", options: dict | None = None
                        ) -> dict:
    """Weight spectra of every member network and the loss Hessian at the current weights.

    Parameters
    ----------
    network : torch.nn.Module
        A neurodx network (or any module; then ``items`` must be None).
    items : ItemSource, optional
        Items the network was trained on; without them the Hessian is skipped.
    index : array_like of int, optional
        Training items to draw the fixed Hessian subset from (default: all).
    seed : int
        Seed of the subset and of the Lanczos vectors.
    class_weight : {"balanced", None}
        As in training: the loss whose curvature is measured.
    options : dict, optional
        Overrides of :data:`DEFAULT_OPTIONS`.

    Returns
    -------
    dict
        ``networks`` (one entry per member: ``name`` and ``layers``, see
        :func:`~neurodx.models.diagnostics.weight_spectra`), ``hessian`` (see
        :func:`~neurodx.models.diagnostics.hessian_spectrum`, or None),
        ``weights_seconds``, ``hessian_items``, ``options``.
    """
    opts = {**DEFAULT_OPTIONS, **(options or {})}
    unknown = sorted(set(opts) - set(DEFAULT_OPTIONS))
    if unknown:
        from ...errors import ConfigError
        raise ConfigError(f"diagnostics: unknown option(s) {', '.join(unknown)} (known: "
                          f"{', '.join(DEFAULT_OPTIONS)})")
    network = network.to("cpu")
    t0 = time.perf_counter()
    nets = [{"name": name, "layers": weight_spectra(m)} for name, m in network_members(network)]
    out = {"networks": nets, "weights_seconds": time.perf_counter() - t0, "hessian": None,
           "hessian_items": 0, "options": opts}
    if items is None or not opts["hessian"]:
        return out
    index = np.arange(len(items)) if index is None else np.asarray(index)
    n_items = int(opts["hessian_items"])
    if len(nets) > 1:     # every member of an ensemble gets a few items of its position
        n_items = max(n_items, 4 * len(nets))
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(index, size=min(n_items, len(index)), replace=False))
    labels = np.asarray(items.labels, dtype=np.int64)
    n_classes = network.get_config()["n_classes"]
    weight = None
    if class_weight == "balanced":
        weight = torch.tensor(class_weights(labels[index], n_classes), dtype=torch.float32)
    uses_position = getattr(network, "uses_position", False)
    batches = []
    for start in range(0, len(chosen), 64):
        batch = chosen[start:start + 64]
        x, pos = batch_to_device(items, batch, torch.device("cpu"), uses_position)
        batches.append((x, pos, torch.from_numpy(labels[batch])))
    was_training = network.training
    network.eval()
    try:
        out["hessian"] = hessian_spectrum(
            loss_closure(network, batches, nn.CrossEntropyLoss(weight=weight)),
            list(network.parameters()), n_steps=int(opts["lanczos_steps"]),
            n_vectors=int(opts["slq_vectors"]), seconds=float(opts["hessian_seconds"]),
            seed=seed, top_k=int(opts["top_k"]))
    finally:
        network.train(was_training)
    out["hessian_items"] = int(len(chosen))
    return out


def summarize_diagnostics(diag: dict) -> dict:
    """A compact per-network summary (no eigenvalue lists) for ``metrics.json``."""
    nets = []
    for net in diag["networks"]:
        nets.append({"name": net["name"],
                     "layers": [layer["name"] for layer in net["layers"]],
                     "alpha": [layer["alpha"] for layer in net["layers"]],
                     "n_spikes": [layer["n_spikes"] for layer in net["layers"]],
                     "mp_ks": [layer["mp"]["ks"] if layer["mp"] else None
                               for layer in net["layers"]]})
    h = diag.get("hessian")
    return {"networks": nets, "weights_seconds": diag["weights_seconds"],
            "hessian": None if h is None else {
                k: h[k] for k in ("top_eigenvalues", "bulk_edge", "n_outliers", "n_parameters",
                                  "n_products", "seconds", "budget_seconds", "stopped_early",
                                  "n_vectors_done")}}
