"""Spurious (negative) eigenvalues anywhere in a strong-form spectrum, not just in the
computed window: every eigenvalue for small problems, a shift-invert sweep otherwise."""
from __future__ import annotations

import logging

import numpy as np
from scipy import linalg
from scipy.sparse import linalg as sla

from .spectra import _blas_single_thread

__all__ = ["negative_eigenvalues", "SWEEP_SHIFTS"]

logger = logging.getLogger(__name__)


#: shifts of :func:`negative_eigenvalues`' sweep, in unit-area coordinates
SWEEP_SHIFTS = (-1e5, -1e4, -1e3, -1e2, -10.0, -1.0)


def negative_eigenvalues(L, M, *, dense_limit=5000, shifts=SWEEP_SHIFTS, per_shift=30,
                         rtol=1e-8):
    """Spurious eigenvalues anywhere in the spectrum: those with real part below zero.

    :meth:`LaplaceBeltrami.spectrum` reports the computed window only. This looks at the
    whole spectrum: every eigenvalue (dense) for up to ``dense_limit`` points, else the
    ``per_shift`` eigenvalues nearest each shift of a shift-invert sweep in unit-area
    coordinates (``L · area``), from ``−1e5`` up to ``−1``, a lower bound on what exists.

    Parameters
    ----------
    L : sparse matrix of shape (n, n)
    M : sparse diagonal matrix of shape (n, n)
        Lumped areas (the unit-area scale of the sweep).
    dense_limit : int, default=5000
    shifts : sequence of float
    per_shift : int, default=30
    rtol : float, default=1e-8
        Negative means real part below ``−rtol · λ₁`` (λ₁ the smallest positive one found
        near ``−1``; 1 when none is).

    Returns
    -------
    ndarray, complex
        The distinct negative eigenvalues found (unit-area coordinates when sweeping,
        as ``L`` has them when dense), most negative first.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.operators.negative_modes import negative_eigenvalues
    >>> p = np.random.default_rng(0).normal(size=(1500, 3))
    >>> L, M = om.laplace_beltrami(p / np.linalg.norm(p, axis=1, keepdims=True))
    >>> negative_eigenvalues(L, M).size
    0
    """
    n = L.shape[0]
    if n <= dense_limit:
        vals = linalg.eigvals(L.toarray())
        pos = vals.real[vals.real > 1e-8 * max(1.0, np.abs(vals.real).max())]
        lam1 = pos.min() if pos.size else 1.0
        neg = vals[vals.real < -rtol * lam1]
        return neg[np.argsort(neg.real)]
    area = float(M.sum())             # = the diagonal's sum for a lumped M
    Ls = (L * area).tocsc()
    v0 = np.random.default_rng(0).standard_normal(n)
    found = []
    lam1 = None
    with _blas_single_thread():
        for s in sorted(shifts, reverse=True):           # -1 first: it gives λ₁
            try:
                vals = sla.eigs(Ls, k=min(per_shift, n - 2), sigma=s, which="LM", v0=v0,
                                return_eigenvectors=False)
            except (sla.ArpackNoConvergence, RuntimeError) as exc:    # pragma: no cover
                logger.info("sweep at sigma=%g did not converge: %s", s, exc)
                continue
            if lam1 is None:
                pos = vals.real[vals.real > 1e-8 * np.abs(vals.real).max()]
                lam1 = pos.min() if pos.size else 1.0
            found.extend(vals[vals.real < -rtol * lam1])
    if not found:
        return np.zeros(0, dtype=complex)
    found = np.array(sorted(found, key=lambda z: z.real))
    keep = np.r_[True, np.abs(np.diff(found)) > 1e-6 * np.abs(found[1:])]
    return found[keep]
