"""L2 logistic regression fitted in the row space of its training data.

Tangent-space features far outnumber subjects (20,100 for 200 regions against a
few hundred subjects), and a solver working on ``n_features`` coordinates spends
its time on directions the data never visit. For an L2-penalised linear model the
optimum lies in the span of the training rows, so the fit can run on
``n_samples`` coordinates instead, exactly.

Why it is exact: the objective is ``sum_i loss(y_i, x_i . w + b) + ||w||^2 / (2 C)``.
Split ``w = w_row + w_perp`` with ``w_row`` in the span of the training rows
``x_i`` and ``w_perp`` orthogonal to them: ``x_i . w_perp = 0`` for every
training row, so the loss does not see ``w_perp`` while the penalty grows with
it, and the optimum has ``w_perp = 0`` (the representer theorem). With the thin
SVD ``X = U S V^T``, ``w = V a``, ``||w|| = ||a||`` (the columns of ``V`` are
orthonormal: the L2 penalty is invariant under rotation) and ``x_i . w = z_i . a``
with ``Z = X V = U S``. Fitting the same model on ``Z`` (``n_samples`` columns)
therefore reaches the same optimum ``a``, and ``coef_ = a V^T`` is the
full-space solution: ``predict``, ``decision_function`` and ``predict_proba``
then work on the original features unchanged. The intercept is not penalised
(lbfgs, newton-cg, sag, saga), or is penalised as one more constant feature
(liblinear), which lies in the span of the augmented rows as well. Only the
solver's stopping tolerance separates the two fits.

An L1 or elastic-net penalty is not rotation invariant: those settings (and no
penalty at all, whose optimum need not be unique) fit in the original space.
"""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

__all__ = ["RowSpaceLogisticRegression"]

#: Eigenvalues of X X^T below this fraction of the largest are rounding noise.
_RELATIVE_FLOOR = 1e-10


class RowSpaceLogisticRegression(LogisticRegression):
    """:class:`~sklearn.linear_model.LogisticRegression` that fits in the row space.

    Same parameters, attributes and results as its parent (see the module
    docstring for why the results are the same); when the penalty is L2 and
    features outnumber samples, ``fit`` solves the problem on the ``n_samples``
    coordinates of the training rows' span (one thin SVD), which makes a fit on
    20,100 tangent features of a few hundred subjects take milliseconds instead
    of seconds. ``coef_`` is always expressed in the original feature space.
    """

    def _reducible(self, X) -> bool:
        l2 = self.penalty in ("deprecated", "l2") and not self.l1_ratio
        return l2 and isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] > X.shape[0]

    def fit(self, X, y, sample_weight=None):
        if not self._reducible(X):
            return super().fit(X, y, sample_weight)
        X = np.asarray(X, dtype=np.float64)
        # Thin SVD through the n x n Gram matrix (one BLAS product and a small eigh):
        # several times faster than LAPACK's SVD of the wide matrix.
        eigval, u = np.linalg.eigh(X @ X.T)
        # Directions whose squared singular value is at the Gram matrix's rounding
        # level carry no usable training signal: dropped (their coefficient is ~0).
        keep = eigval > eigval[-1] * _RELATIVE_FLOOR if eigval.size else eigval > 0
        u, s = u[:, keep], np.sqrt(eigval[keep])
        super().fit(u * s, y, sample_weight)
        # coef_ = a V^T with V^T = S^-1 U^T X: two thin products instead of forming V
        self.coef_ = (self.coef_ @ (u / s).T) @ X
        self.n_features_in_ = X.shape[1]
        return self
