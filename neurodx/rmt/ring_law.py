"""The ring law for products of non-Hermitian random matrices and its mean spectral radius.

Construction (He, Qiu et al. 2017; Qiu et al. 2017, below)
-----------------------------------------------------------
A window ``X_i`` (``N`` channels or regions x ``T`` samples) is standardised row by
row. Its *singular-value-equivalent* matrix is ``X_u,i = sqrt(X_i X_i^H / T) U_i``
with ``U_i`` a Haar-distributed unitary matrix: ``X_u,i`` has the singular values of
the window and no preferred eigenvector. The windows are real, and neurodx draws
``U_i`` Haar *orthogonal* (the real case of the same construction): the single ring
theorem holds for Haar orthogonal as for Haar unitary factors (Guionnet, Krishnapur &
Zeitouni 2011 state it for both), so the limiting ring and its radii are the same; at
finite ``N`` a real product has about ``sqrt(N)`` real eigenvalues and the rest in
conjugate pairs, which the Monte-Carlo null moments below (drawn with the same
factors) account for. Real arithmetic makes the eigen-decomposition about three times
cheaper. The ring law describes the eigenvalues of
the product ``Z = X_u,1 X_u,2 ... X_u,L`` over ``L`` *independent* windows, each
factor normalised so that its mean squared singular value is 1 (outer radius 1).

neurodx takes, for window ``w`` of a recording, the ``L`` windows
``w, w + s, ..., w + (L - 1) s`` (indices modulo the recording's window count ``n``),
with ``s`` the smallest step between windows that do not overlap (2 at 50 %
overlap): consecutive, non-overlapping windows. Every window thus gets a value (the
LES bank is per window), and when ``n >= L s`` the ``L`` windows are pairwise
disjoint, including those wrapped around the end. A recording with fewer windows
cannot supply ``L`` disjoint ones: its factors are then spread as far apart as its
windows allow (``s = max(1, n // L)``) and repeat when ``n < L``; the white-noise
null below assumes independent factors, so such short recordings' ``msr_l<L>``
z-scores are shifted (still one common affine map for every subject, so a valid
feature, but not a calibrated z-score). ``L = 1`` is one window.

Only the windows' eigenvalues are needed. Write ``X_i X_i^H / T = V_i S_i^2 V_i^H``;
then ``Z = prod_i V_i S_i V_i^H U_i`` is similar (conjugate by ``V_1``) to
``S_1 W_1 S_2 W_2 ... S_L W_L`` with ``W_i = V_i^H U_i V_(i+1)`` (``V_(L+1) = V_1``).
Each ``W_i`` is Haar (the ``V_i`` are real orthogonal) and they are independent of each other and of the data,
whatever the ``V_i`` (Haar measure is invariant under fixed unitaries and ``U_i``
is drawn independently of the data), so the eigenvalues of ``Z`` have exactly the
law of those of ``S_1 W_1 ... S_L W_L``. neurodx computes that product with ``W_i``
drawn once per ``(size, L)`` from a fixed seed and shared by every product and
subject: the statistic is a deterministic function of the ``L`` spectra (no random
stream, no dependence on batch order), equal in distribution to the construction
with fresh Haar factors, and subjects share common random numbers.

Radii (Haagerup & Larsen 2000; single ring theorem, Feinberg & Zee 1997, Guionnet,
Krishnapur & Zeitouni 2011)
--------------------------------------------------------------------------------------
For ``Y = H W`` with ``H >= 0`` of spectral law ``nu`` and ``W`` Haar (free from
``H``), the limiting eigenvalue law (Brown measure) is rotation invariant and lives on
the annulus ``||H^-1||_2^-1 <= |z| <= ||H||_2``, i.e.
``(int x^-2 dnu)^-1/2 <= |z| <= (int x^2 dnu)^1/2``. With ``H^2`` Marchenko-Pastur of
ratio ``c = N / T <= 1`` and mean 1 (a white-noise window), ``int x^2 dnu = 1`` and
``int x^-2 dnu = E[1/lam] = 1 / (1 - c)``: the outer radius is 1 and the inner radius
``sqrt(1 - c)``. The product of ``L`` factors is again of the form ``H' W`` (its last
factor is Haar and free from the rest) and the 2-norms factorise over the free
factors, so the radii are ``(1 - c)^(L/2)`` and 1. For independent factors the radial
law is known in closed form: density ``|z|^(2/L - 2) / (pi c L)`` on the annulus
(Burda, Janik & Waclaw 2010 for Gaussian products; the "ring law" of Qiu et al.),
uniform for ``L = 1`` (the induced Ginibre ensemble).

``c > 1`` (more channels than effective samples): ``X X^H`` has rank ``T``; its
non-zero eigenvalues are those of ``X^H X``, a Marchenko-Pastur matrix of ratio
``1 / c``. The ring is then built on the ``n = round(N / c)`` largest eigenvalues
(renormalised to mean 1), with radii ``(1 - 1/c)^(L/2)`` and 1; the remaining
``N - n`` eigenvalues are exact zeros of ``Z`` and carry no information.

Mean spectral radius
--------------------
``MSR = (1/n) sum_i |z_i|`` over the eigenvalues of ``Z``: a linear eigenvalue
statistic of the non-Hermitian product. Spatial correlation spreads the window's
singular values (a few large, many small), which pulls eigenvalues towards the
origin and lowers the MSR below its white-noise value; the LES bank standardises it
by Monte-Carlo null moments at the same ``(N, T_eff, L)`` like every other entry
(products of ``L`` independent white-noise spectra). Its asymptotic null value
follows from the density above (:func:`ring_law_msr`).

Sources
-------
* J. Feinberg, A. Zee (1997), Non-Gaussian non-Hermitian random matrix theory: phase
  transition and addition formalism, Nucl. Phys. B 501, 643-669.
* U. Haagerup, F. Larsen (2000), Brown's spectral distribution measure for R-diagonal
  elements in finite von Neumann algebras, J. Funct. Anal. 176, 331-367.
* A. Guionnet, M. Krishnapur, O. Zeitouni (2011), The single ring theorem, Ann. Math.
  174, 1189-1217.
* Z. Burda, R. A. Janik, B. Waclaw (2010), Spectrum of the product of independent
  random Gaussian matrices, Phys. Rev. E 81, 041132.
* X. He, Q. Ai, R. C. Qiu et al. (2017), A big data architecture design for smart
  grids based on random matrix theory, IEEE Trans. Smart Grid 8, 674-686
  (arXiv:1501.07329); R. C. Qiu, L. Chu, X. He et al. (2017), Spatio-temporal big
  data analysis for smart grids based on random matrix theory, arXiv:1708.04935.
* F. Mezzadri (2007), How to generate random matrices from the classical compact
  groups, Notices AMS 54, 592-604 (Haar unitaries by QR with phase correction).
"""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from ..errors import ConfigError

__all__ = ["haar_unitary", "haar_orthogonal", "ring_size", "ring_radii", "ring_law_msr", "ring_eigenvalues",
           "mean_spectral_radius", "product_windows", "ring_step", "DEFAULT_RING_SEED"]

# Windows are multiplied in chunks of about this many matrix entries (~32 MB of float64).
_CHUNK_ELEMENTS = 2 ** 22

#: Seed of the Haar factors shared by every window (see the module docstring).
DEFAULT_RING_SEED = 20170101


def haar_unitary(n: int, size: int = 1, *, random_state=None) -> np.ndarray:
    """Haar-distributed unitary matrices, shape ``(size, n, n)`` (Mezzadri 2007).

    QR of complex Ginibre matrices with the phases of ``R``'s diagonal moved into ``Q``.
    """
    rng = np.random.default_rng(random_state)
    g = (rng.standard_normal((size, n, n)) + 1j * rng.standard_normal((size, n, n))) / np.sqrt(2)
    q, r = np.linalg.qr(g)
    d = np.einsum("kii->ki", r)
    return q * (d / np.abs(d))[:, None, :]


def haar_orthogonal(n: int, size: int = 1, *, random_state=None) -> np.ndarray:
    """Haar-distributed real orthogonal matrices, shape ``(size, n, n)`` (Mezzadri 2007).

    QR of real Gaussian matrices with the signs of ``R``'s diagonal moved into ``Q``.
    """
    rng = np.random.default_rng(random_state)
    q, r = np.linalg.qr(rng.standard_normal((size, n, n)))
    return q * np.sign(np.einsum("kii->ki", r))[:, None, :]


@lru_cache(maxsize=32)
def _factors(n: int, n_factors: int, seed: int) -> np.ndarray:
    # Real orthogonal factors (see the module docstring): the products are real, and a
    # real non-symmetric eigen-decomposition costs about a third of a complex one
    # (measured: 1.0 vs 2.8 ms for 64 x 64), which is most of the LES bank's cost.
    w = haar_orthogonal(n, n_factors, random_state=[seed, n, n_factors])
    w.setflags(write=False)
    return w


def ring_size(n_channels: int, c: float) -> int:
    """Size of the ring matrices: ``N`` if ``c <= 1``, else ``round(N / c)`` (rank)."""
    if c <= 1:
        return int(n_channels)
    return int(min(n_channels, max(2, round(n_channels / c))))


def _ring_ratio(c: float) -> float:
    return float(c) if c <= 1 else 1.0 / float(c)


def ring_radii(c: float, n_factors: int = 1) -> tuple[float, float]:
    """Inner and outer radius of the ring law: ``((1 - c')^(L/2), 1)``, ``c' = min(c, 1/c)``."""
    _check_factors(n_factors)
    if not c > 0:
        raise ConfigError(f"the ratio c = N / T_eff must be positive, got {c!r}")
    return float((1.0 - _ring_ratio(c)) ** (n_factors / 2.0)), 1.0


def ring_law_msr(c: float, n_factors: int = 1) -> float:
    """Asymptotic mean spectral radius for ``L`` independent factors.

    ``E|z| = int r * r^(2/L - 2) / (pi c L) * 2 pi r dr`` over ``[a, 1]``,
    ``a = (1 - c)^(L/2)``, i.e. ``2 (1 - a^(2/L + 1)) / (c L (2/L + 1))``.
    """
    a, _ = ring_radii(c, n_factors)
    cr, L = _ring_ratio(c), n_factors
    return float(2.0 * (1.0 - a ** (2.0 / L + 1.0)) / (cr * L * (2.0 / L + 1.0)))


def _check_factors(n_factors):
    if not (isinstance(n_factors, (int, np.integer)) and not isinstance(n_factors, bool)
            and n_factors >= 1):
        raise ConfigError(f"the number of ring factors L must be an integer >= 1, "
                          f"got {n_factors!r}")


def ring_step(overlap: float) -> int:
    """Windows between two that do not overlap, for windows overlapping by ``overlap``."""
    if not 0 <= overlap < 1:
        raise ConfigError(f"window overlap must be in [0, 1), got {overlap!r}")
    # 1e-9: 1 / (1 - 0.9) is 10.000000000000002 in floating point, and 10 windows suffice
    return int(np.ceil(1.0 / (1.0 - overlap) - 1e-9))


def product_windows(lengths, n_factors: int, step: int = 1) -> np.ndarray:
    """Row indices of the ``L`` windows multiplied for each window (module docstring).

    Parameters
    ----------
    lengths : sequence of int
        Windows per recording; rows are the recordings' windows one after another.
    n_factors : int
        ``L``.
    step : int
        Windows between two that do not overlap (``s``).

    Returns
    -------
    ndarray of int, shape (sum(lengths), L)
    """
    _check_factors(n_factors)
    if not (isinstance(step, (int, np.integer)) and step >= 1):
        raise ConfigError(f"the ring-law window step must be an integer >= 1, got {step!r}")
    out, start = [], 0
    for n in (int(k) for k in lengths):
        s = step if n >= n_factors * step else max(1, n // n_factors)
        w = np.arange(n)[:, None] + s * np.arange(n_factors)[None, :]
        out.append(start + w % n)
        start += n
    return np.concatenate(out) if out else np.zeros((0, n_factors), dtype=np.intp)


def _ring_scales(lam, c):
    """Sorted, normalised singular values ``s`` (mean ``s^2`` = 1) of each spectrum."""
    lam = np.sort(np.clip(np.asarray(lam, dtype=np.float64), 0.0, None), axis=-1)
    n = ring_size(lam.shape[-1], c)
    lam = lam[..., lam.shape[-1] - n:]
    mean = lam.mean(axis=-1, keepdims=True)
    return np.sqrt(lam / np.where(mean > 0, mean, 1.0))


def _blas_threads() -> int:
    """Threads the BLAS may use in this process (neurodx's entry points limit it to one
    per worker, :mod:`neurodx._threads`; a script calling the library keeps the machine's)."""
    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(1, min(counts)) if counts else 1


def _product_eigenvalues(s, idx, n_factors, seed):
    """Eigenvalues of ``S_(idx[k,0]) W_1 ... S_(idx[k,L-1]) W_L`` for each row ``k``."""
    n = s.shape[-1]
    w = _factors(n, n_factors, int(seed))
    out = np.empty((idx.shape[0], n), dtype=np.complex128)

    def products(start, stop):
        rows = idx[start:stop]
        # scale the rows of W_i by s (S W_i), then multiply the factors in order
        z = s[rows[:, 0], :, None] * w[0][None]
        for i in range(1, n_factors):
            z = z @ (s[rows[:, i], :, None] * w[i][None])
        out[start:stop] = np.linalg.eigvals(z)

    # bounded chunks of windows (a cohort's windows at once would not fit in memory),
    # at least one per allowed BLAS thread: LAPACK solves each small non-symmetric
    # problem on one thread, so the chunks run side by side in threads (numpy releases
    # the GIL), each with a single-threaded BLAS (the same arithmetic whatever the
    # thread count); the ring-law entries are most of the LES bank's time.
    threads = min(_blas_threads(), idx.shape[0])
    step = max(1, min(_CHUNK_ELEMENTS // (n * n), -(-idx.shape[0] // max(threads, 1))))
    bounds = [(a, min(a + step, idx.shape[0])) for a in range(0, idx.shape[0], step)]
    with threadpool_limits(limits=1, user_api="blas"):
        if threads > 1 and len(bounds) > 1:
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda b: products(*b), bounds))
        else:
            for b in bounds:
                products(*b)
    return out


def ring_eigenvalues(lam, c: float, n_factors: int = 1, *, lengths=None, step: int = 1,
                     seed: int = DEFAULT_RING_SEED) -> np.ndarray:
    """Eigenvalues of the normalised product of ``L`` singular-value-equivalent factors.

    Parameters
    ----------
    lam : array_like, shape (n_windows, N)
        Eigenvalues of each window's correlation (or trace-normalised covariance)
        matrix, on the normalised scale (mean 1), any order; windows in time order.
    c : float
        MP ratio ``N / T_eff`` (``c > 1`` keeps the ``round(N / c)`` largest).
    n_factors : int
        ``L``, the number of windows in the product.
    lengths : sequence of int, optional
        Windows per recording (rows in order); default: all rows are one recording.
    step : int
        Step between non-overlapping windows (:func:`product_windows`).
    seed : int
        Seed of the shared Haar factors.

    Returns
    -------
    z : ndarray of complex, shape (n_windows, n)
        Row ``w``: the product starting at window ``w``; ``n = ring_size(N, c)``.
        Under white noise they fill the annulus :func:`ring_radii`.
    """
    s = _ring_scales(np.atleast_2d(lam), c)
    idx = product_windows([s.shape[0]] if lengths is None else lengths, n_factors, step)
    if idx.shape[0] != s.shape[0]:
        raise ConfigError(f"lengths add up to {idx.shape[0]} windows, spectra have "
                          f"{s.shape[0]}")
    return _product_eigenvalues(s, idx, n_factors, seed)


class _WindowCache:
    """Mean spectral radii of products already computed, keyed by their spectra's bytes.

    A non-Hermitian eigen-decomposition costs ~1000 times the other bank entries, and
    the LES step re-evaluates every subject in every fold (the MP ratio ``c`` of the
    fold changes the other entries, not the ring for ``c <= 1``). The key holds the
    bytes of the ``L`` spectra of the product (sorted, float64, in order), the ring
    size, ``L`` and the seed, so a hit returns exactly what would be computed. Oldest
    entries go first beyond ``max_entries``.
    """

    def __init__(self, max_entries: int = 2 ** 20):
        self.max_entries = max_entries
        self._values: dict = {}

    def lookup(self, rows, idx, n, n_factors, seed):
        keys = [(hashlib.blake2b(rows[i].tobytes(), digest_size=16).digest(), n, n_factors,
                 seed) for i in idx]
        return keys, np.array([self._values.get(k, np.nan) for k in keys])

    def store(self, keys, values):
        for k, v in zip(keys, values):
            self._values[k] = float(v)
        while len(self._values) > self.max_entries:
            self._values.pop(next(iter(self._values)))


_MSR_CACHE = _WindowCache()


def mean_spectral_radius(lam, c: float, n_factors: int = 1, *, lengths=None, step: int = 1,
                         seed: int = DEFAULT_RING_SEED) -> np.ndarray:
    """Mean spectral radius ``mean |z_i|`` of :func:`ring_eigenvalues`, shape ``(n_windows,)``.

    Same parameters as :func:`ring_eigenvalues`.
    """
    _check_factors(n_factors)
    rows = np.sort(np.atleast_2d(np.asarray(lam, dtype=np.float64)), axis=-1)
    idx = product_windows([rows.shape[0]] if lengths is None else lengths, n_factors, step)
    if idx.shape[0] != rows.shape[0]:
        raise ConfigError(f"lengths add up to {idx.shape[0]} windows, spectra have "
                          f"{rows.shape[0]}")
    n = ring_size(rows.shape[-1], c)
    keys, out = _MSR_CACHE.lookup(rows, idx, n, n_factors, int(seed))
    todo = np.flatnonzero(np.isnan(out))
    if todo.size:
        s = _ring_scales(rows, c)
        out[todo] = np.abs(_product_eigenvalues(s, idx[todo], n_factors, seed)).mean(axis=-1)
        _MSR_CACHE.store([keys[i] for i in todo], out[todo])
    return out
