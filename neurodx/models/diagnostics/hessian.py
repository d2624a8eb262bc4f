"""Loss curvature of a trained network: top Hessian eigenvalues and their density.

Only Hessian-vector products are used (double backward through
:func:`torch.autograd.grad`), never the Hessian itself, so the cost is a few
gradient evaluations per Lanczos step whatever the parameter count.

* **Lanczos** with full reorthogonalisation builds ``m`` steps of the tridiagonal
  ``T``; its Ritz values approximate the extreme eigenvalues (the top ones converge
  first).
* **Stochastic Lanczos quadrature** (SLQ; Ghorbani, Krishnan & Xiao 2019; the
  method of PyHessian, Yao et al. 2020): for ``n_v`` random unit vectors, the
  eigen-decomposition ``T = Q diag(theta) Q^T`` gives nodes ``theta_j`` and
  weights ``Q[0, j]^2``; averaged over the vectors, they estimate the spectral
  density, shown smoothed by a Gaussian kernel.
* **Bulk and outliers**: an SLQ node that stands for one isolated eigenvalue
  ``u`` carries the weight ``(v . u)^2``, of mean ``1 / P`` for a random unit
  ``v`` among ``P`` parameters (a chi-square with one degree of freedom over
  ``P``, above ``10 / P`` with probability 0.16 %); a node standing for a part of
  the bulk carries the weight of many eigenvalues. The *bulk edge* is the largest
  node weighing at least ``bulk_weight / P`` (10 / P; the largest over the
  vectors), and top eigenvalues above it are the *outliers*. A descriptive rule,
  not a test (Papyan 2019 and Ghorbani et al. 2019 observe about one outlier per
  class).

The loss is the training criterion (class-weighted cross-entropy) at the final
weights, in eval mode (batch-norm running statistics, no dropout), on a fixed set
of training items, as PyHessian does.

References
----------
Ghorbani B., Krishnan S., Xiao Y. (2019). An investigation into neural net
optimization via Hessian eigenvalue density. ICML, PMLR 97, 2232-2241.
Yao Z., Gholami A., Keutzer K., Mahoney M. W. (2020). PyHessian: neural networks
through the lens of the Hessian. IEEE BigData, 581-590.
Papyan V. (2019). Measurements of three-level hierarchical structure in the
outliers in the spectrum of deepnet Hessians. ICML, PMLR 97, 5012-5021.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["hessian_vector_product", "lanczos", "hessian_spectrum", "slq_density"]


def hessian_vector_product(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor],
                           vector: torch.Tensor) -> torch.Tensor:
    """``H v`` of the scalar ``loss_fn()`` w.r.t. ``params`` (flat ``vector``)."""
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    hv = torch.autograd.grad(flat @ vector, params)
    return torch.cat([h.reshape(-1) for h in hv]).detach()


def lanczos(matvec: Callable[[torch.Tensor], torch.Tensor], v0: torch.Tensor, n_steps: int, *,
            deadline: float | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Lanczos tridiagonalisation with full reorthogonalisation.

    Returns ``(alphas, betas, stopped)``: the diagonal and off-diagonal of ``T``
    (``len(betas) == len(alphas) - 1``) and whether ``deadline``
    (:func:`time.perf_counter` seconds) cut the run short.
    """
    q = v0 / torch.linalg.norm(v0)
    basis = [q]
    alphas, betas = [], []
    stopped = False
    for k in range(n_steps):
        if deadline is not None and k > 0 and time.perf_counter() > deadline:
            stopped = True
            break
        w = matvec(q)
        a = float(w @ q)
        alphas.append(a)
        # Full reorthogonalisation (twice is enough, Parlett): keeps Ritz values from
        # repeating ("ghost" eigenvalues) at the price of O(k P) per step.
        Q = torch.stack(basis)
        for _ in range(2):
            w = w - Q.T @ (Q @ w)
        b = float(torch.linalg.norm(w))
        if k == n_steps - 1 or b < 1e-10 * max(1.0, abs(a)):
            break
        betas.append(b)
        q = w / b
        basis.append(q)
    return np.asarray(alphas), np.asarray(betas[:max(len(alphas) - 1, 0)]), stopped


def _tridiag_eigh(alphas, betas):
    T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
    return np.linalg.eigh(T)


def slq_density(nodes: Sequence[np.ndarray], weights: Sequence[np.ndarray], grid=None,
                width: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-smoothed SLQ density from per-vector nodes and weights (averaged)."""
    allnodes = np.concatenate(nodes)
    allw = np.concatenate(weights) / len(nodes)
    lo, hi = float(allnodes.min()), float(allnodes.max())
    span = max(hi - lo, 1e-12)
    width = width or span / 100
    if grid is None:
        grid = np.linspace(lo - 0.05 * span, hi + 0.05 * span, 400)
    dens = (allw[None] * np.exp(-0.5 * ((grid[:, None] - allnodes[None]) / width) ** 2)).sum(1)
    return grid, dens / (width * np.sqrt(2 * np.pi))


def hessian_spectrum(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *,
                     n_steps: int = 30, n_vectors: int = 3, seconds: float = 60.0,
                     seed: int = 0, bulk_weight: float = 10.0, top_k: int = 10) -> dict:
    """Top Hessian eigenvalues (Lanczos) and the SLQ density of ``loss_fn``.

    Parameters
    ----------
    loss_fn : callable
        Returns the scalar loss (recomputed for every product).
    params : sequence of tensors
        Parameters the Hessian is taken over.
    n_steps : int
        Lanczos steps per vector.
    n_vectors : int
        SLQ random vectors (the first one also gives the top eigenvalues).
    seconds : float
        Time budget; Lanczos stops at the first step past it and the result says so.
    seed : int
        Seed of the random (Rademacher) starting vectors.
    bulk_weight : float
        A node weighing at least ``bulk_weight / P`` is bulk (module docstring).
    top_k : int
        Number of top Ritz values reported.

    Returns
    -------
    dict
        ``top_eigenvalues`` (largest first), ``bulk_edge``, ``n_outliers``,
        ``slq_nodes``/``slq_weights`` (one list per vector), ``density_grid``,
        ``density``, ``n_parameters``, ``n_products``, ``seconds``,
        ``stopped_early``, ``n_vectors_done``.
    """
    params = [p for p in params if p.requires_grad]
    n_par = int(sum(p.numel() for p in params))
    start = time.perf_counter()
    deadline = start + float(seconds)
    gen = torch.Generator().manual_seed(int(seed))
    dtype = params[0].dtype
    n_products = 0

    def matvec(v):
        nonlocal n_products
        n_products += 1
        return hessian_vector_product(loss_fn, params, v)

    nodes, weights, stopped = [], [], False
    top = np.array([])
    for i in range(int(n_vectors)):
        if i > 0 and time.perf_counter() > deadline:
            stopped = True
            break
        v0 = (torch.randint(0, 2, (n_par,), generator=gen) * 2 - 1).to(dtype)
        a, b, cut = lanczos(matvec, v0, int(n_steps), deadline=deadline)
        stopped |= cut
        theta, Q = _tridiag_eigh(a, b)
        nodes.append(theta)
        weights.append(Q[0] ** 2)
        if i == 0:
            top = theta[::-1][:top_k]
    grid, dens = slq_density(nodes, weights)
    heavy = [theta[w >= bulk_weight / n_par] for theta, w in zip(nodes, weights)]
    edge = float(max(h.max() for h in heavy if h.size)) if any(h.size for h in heavy) \
        else float(np.concatenate(nodes).max())
    return {"top_eigenvalues": top.tolist(), "bulk_edge": edge,
            "n_outliers": int(np.sum(top > edge)),
            "slq_nodes": [n.tolist() for n in nodes], "slq_weights": [w.tolist() for w in weights],
            "density_grid": grid.tolist(), "density": dens.tolist(), "n_parameters": n_par,
            "n_products": n_products, "n_steps": int(n_steps), "n_vectors_done": len(nodes),
            "seconds": time.perf_counter() - start, "budget_seconds": float(seconds),
            "stopped_early": bool(stopped)}


def loss_closure(network: nn.Module, batches, loss: nn.Module) -> Callable[[], torch.Tensor]:
    """A loss over fixed ``(x, positions, y)`` batches, summed with item weights (mean)."""
    n = sum(len(y) for _, _, y in batches)

    def fn():
        total = 0.0
        for x, pos, y in batches:
            total = total + loss(network(x, pos) if pos is not None else network(x), y) * len(y)
        return total / n
    return fn
