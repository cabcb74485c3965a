"""Taylor least-squares stencils (Turner et al.: Turner, Belward & Oqielat).

For a centre ``x0`` with neighbours ``x_j`` the truncated Taylor series

    f_j - f_0 = sum_{1 <= |alpha| <= n} D^alpha f(x0) (x_j - x0)^alpha / alpha!

is solved in the least-squares sense for the derivatives, each row weighted by
``h_j^-(1+d)`` with ``h_j = |x_j - x0|``: ``d = -1`` is the plain system, ``d = 0`` the
paper's classical matrix ``A`` (rows divided by ``h_j``), ``d >= 1`` its weighted one. The fit passes through the centre value
because the unknowns act on differences ``f_j - f_0``; so a stencil's weights sum
with the centre weight ``-sum(w)`` to zero and constants are reproduced exactly.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_int, check_stencil_arrays, raise_if_out_of_memory
from ..sampling.monomials import monomial_tables, monomials, target_coefficients

from .._kernels.taylor import taylor_stencils
from .spec import MethodSpec

__all__ = ["monomials", "n_unknowns", "taylor_weights", "RCOND", "MAX_ORDER", "METHOD"]

#: highest order the compiled kernel supports
MAX_ORDER = 4

#: relative singular-value cut-off of the per-stencil pseudo-inverse. Singular values
#: come from the eigenvalues of AᵀA, which resolve σ/σ_max only down to about
#: sqrt(machine epsilon) ≈ 1.5e-8; below 1e-7 a direction counts as rank-deficient.
RCOND = 1e-7


def n_unknowns(order: int, dim: int) -> int:
    """Number of Taylor unknowns ``p`` (Turner et al.: ``(n+1)(n+2)/2 - 1`` in 2-D)."""
    return len(monomials(order, dim))


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
        Derivatives to return (see :func:`o3d_meshless.sampling.monomials.target_coefficients`).
    weight_power : float
        Turner et al.'s inverse-distance exponent ``d`` (-1 = unweighted rows, 0 = the paper's
        classical least squares).
    bounds : bool
        Also compute Turner et al.'s singular values (Bound1/Bound2 ingredients).

    Returns
    -------
    weights : ndarray of shape (m, k, len(targets))
    diagnostics : ndarray of shape (m, 4)
        ``rcond`` (σ_min/σ_max of the unit-scaled design), ``sigma_min_A``,
        ``sigma_min_A21``, ``rank``.
    status : ndarray of shape (m,), int32 — LAPACK info (0 = ok).
    """
    dim = points.shape[1] if bases is None else bases.shape[1]
    check_stencil_arrays(points, neighbors, centers, bases, dim, n_threads)
    # the kernel's stack buffers are sized for these: never let it read past them
    order = check_int(order, name="order", low=1, high=MAX_ORDER)
    if neighbors.shape[1] < n_unknowns(order, dim):
        raise ValueError(f"`neighbors` must have at least {n_unknowns(order, dim)} columns for "
                         f"order {order} in {dim}-D (one per unknown); got {neighbors.shape[1]}")
    expo, inv_fact, degree = monomial_tables(order, dim)
    combos = np.ascontiguousarray(target_coefficients(order, dim, targets))
    m, k = neighbors.shape
    if bases is None:
        bases = np.zeros((0, dim, points.shape[1]))
    weights = np.empty((m, k, len(targets)))
    diagnostics = np.empty((m, 4))
    status = np.zeros(m, dtype=np.intc)
    taylor_stencils(points, neighbors, centers, bases, expo, inv_fact, degree, combos,
                    float(weight_power), RCOND, bool(bounds), weights, diagnostics, status,
                    int(n_threads))
    raise_if_out_of_memory(status, "Taylor")
    return weights, diagnostics, status


#: the registry's ``"taylor"``: any order 1–4, Turner et al.'s row weights, Turner et al.'s
#: error bounds and the guard's rank fallback
METHOD = MethodSpec(
    name="taylor", title="Taylor least squares through the centre (Turner et al.)",
    kernel=taylor_weights, n_unknowns=n_unknowns, monomials=monomials, max_order=MAX_ORDER,
    error_bounds=True, rank_fallback=True)
