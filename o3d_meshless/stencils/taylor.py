"""Taylor least-squares stencils (seed 001: Turner, Belward & Oqielat).

For a centre ``x0`` with neighbours ``x_j`` the truncated Taylor series

    f_j - f_0 = sum_{1 <= |alpha| <= n} D^alpha f(x0) (x_j - x0)^alpha / alpha!

is solved in the least-squares sense for the derivatives, each row weighted by
``h_j^-(1+d)`` with ``h_j = |x_j - x0|``: ``d = -1`` is the plain system, ``d = 0`` the
seed's classical matrix ``A`` (rows divided by ``h_j``), ``d >= 1`` its weighted one. The fit passes through the centre value
because the unknowns act on differences ``f_j - f_0``; so a stencil's weights sum
with the centre weight ``-sum(w)`` to zero and constants are reproduced exactly.
"""
from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np

from .._validation import check_stencil_arrays

from .._kernels.taylor import taylor_stencils

__all__ = ["monomials", "n_unknowns", "taylor_weights", "RCOND"]

#: relative singular-value cut-off of the per-stencil pseudo-inverse. Singular values
#: come from the eigenvalues of AᵀA, which resolve σ/σ_max only down to about
#: sqrt(machine epsilon) ≈ 1.5e-8; below 1e-7 a direction counts as rank-deficient.
RCOND = 1e-7


@lru_cache(maxsize=None)
def monomials(order: int, dim: int):
    """Multi-indices of the Taylor unknowns, graded: degree 1 first, then 2, ….

    Within a degree the order is reverse lexicographic, e.g. for ``dim=2``:
    ``(1,0), (0,1), (2,0), (1,1), (0,2), (3,0), …``.
    """
    out = []

    def rec(prefix, left, slots):
        if slots == 1:
            out.append(tuple(prefix) + (left,))
            return
        for a in range(left, -1, -1):
            rec(prefix + [a], left - a, slots - 1)

    for deg in range(1, order + 1):
        rec([], deg, dim)
    return tuple(out)


def n_unknowns(order: int, dim: int) -> int:
    """Number of Taylor unknowns ``p`` (seed 001: ``(n+1)(n+2)/2 - 1`` in 2-D)."""
    return len(monomials(order, dim))


@lru_cache(maxsize=None)
def _tables(order, dim):
    ms = monomials(order, dim)
    expo = np.ascontiguousarray(ms, dtype=np.int_).reshape(len(ms), dim)
    inv_fact = np.array([1.0 / np.prod([factorial(a) for a in m]) for m in ms])
    degree = expo.sum(axis=1).astype(np.int_)
    return expo, inv_fact, np.ascontiguousarray(degree)


def combos_for(order, dim, targets):
    """Rows of coefficients over the unknowns for each requested derivative.

    ``targets`` is a sequence whose items are a multi-index tuple or a dict
    ``{multi_index: coefficient}`` (e.g. the Laplacian ``{(2,0): 1, (0,2): 1}``).
    """
    ms = monomials(order, dim)
    index = {m: i for i, m in enumerate(ms)}
    rows = np.zeros((len(targets), len(ms)))
    for r, t in enumerate(targets):
        items = t.items() if isinstance(t, dict) else [(tuple(t), 1.0)]
        for m, coef in items:
            if tuple(m) not in index:
                raise ValueError(f"derivative {tuple(m)} is not available at order {order} "
                                 f"in {dim} dimensions; raise `order`")
            rows[r, index[tuple(m)]] = coef
    return rows


def taylor_weights(points, neighbors, centers, bases, *, order, targets,
                   weight_power=0.0, bounds=False, n_threads=1):
    """Run the compiled kernel on already validated arrays.

    Parameters
    ----------
    points : ndarray of shape (n_points, D), float64, C-contiguous
    neighbors : ndarray of shape (m, k), intp — neighbour indices, centre excluded
    centers : ndarray of shape (m,), intp
    bases : ndarray of shape (n_points, d, D) or None
        Local axes per point (rows); ``None`` uses the ambient coordinates (d = D).
    order : int
    targets : list
        Derivatives to return (see :func:`combos_for`).
    weight_power : float
        Seed 001's inverse-distance exponent ``d`` (-1 = unweighted rows, 0 = the seed's
        classical least squares).
    bounds : bool
        Also compute seed 001's singular values (Bound1/Bound2 ingredients).

    Returns
    -------
    weights : ndarray of shape (m, k, len(targets))
    diagnostics : ndarray of shape (m, 4)
        ``rcond`` (σ_min/σ_max of the unit-scaled design), ``sigma_min_A``,
        ``sigma_min_A21``, ``rank``.
    status : ndarray of shape (m,), int32 — LAPACK info (0 = ok).
    """
    dim = points.shape[1] if bases is None else bases.shape[1]
    check_stencil_arrays(points, neighbors, centers, bases, dim)
    expo, inv_fact, degree = _tables(order, dim)
    combos = np.ascontiguousarray(combos_for(order, dim, targets))
    m, k = neighbors.shape
    if bases is None:
        bases = np.zeros((0, dim, points.shape[1]))
    weights = np.empty((m, k, len(targets)))
    diagnostics = np.empty((m, 4))
    status = np.zeros(m, dtype=np.intc)
    taylor_stencils(points, neighbors, centers, bases, expo, inv_fact, degree, combos,
                    float(weight_power), RCOND, bool(bounds), weights, diagnostics, status,
                    int(n_threads))
    return weights, diagnostics, status
