"""Discrete orthonormal-polynomial stencils (Carley: Carley, "Moving least squares via
orthogonal polynomials").

Each stencil is fitted in a basis of polynomials orthonormal on the stencil's own points.
The basis is built from monomials taken in graded lexicographic order (``1, x₁, x₂, x₁²,
x₁x₂, x₂², x₁³, …``); a monomial the point configuration cannot support is **rejected**
instead of producing an ill-conditioned fit (``x₁³ = x₁`` on a 3×3 grid, ``x₂² = 1 − x₁²``
on a circle, any quadratic on a scan line …).

Rank test (scale-free)
----------------------
Coordinates are divided by the stencil radius ``h`` (largest neighbour distance), so the
points lie in the unit ball. The candidate column ``v = (s_j y_j^α)_j`` (``s_j`` = row
scale, 1 for unit weights) is orthogonalised twice by modified Gram–Schmidt against the
columns already accepted; it is accepted when the residual keeps more than ``rtol`` of
its norm, ``|r| > rtol |v|`` (default :data:`RTOL` = 1e-6), i.e. when the monomial is not
within relative distance ``rtol`` of the span of the earlier ones on these points. The
test does not depend on the scale of the stencil or on the units of the coordinates.
Selection stops when as many monomials as points have been accepted (the paper's square
``X``). Gram–Schmidt of the accepted columns is the paper's ``M = S D Sᵀ`` construction
written on the columns instead of the Gram matrix (same polynomials up to sign, without
squaring the condition number).

Two centre variants
-------------------
``centre="interpolate"`` (default; operators that are inverted or eigen-solved)
    The neighbours' differences ``f_j − f₀`` are fitted by polynomials without constant
    term (candidates start at degree 1), so the fit passes through the centre value as in
    the Taylor method and constants are reproduced exactly. A Laplace–Beltrami operator
    built this way has no spurious near-zero or negative eigenvalues from the fit.
``centre="least-squares"`` (the published method)
    The centre is an ordinary least-squares point with its own weight; the fit does not
    pass through ``f₀``. Good for pointwise derivatives; as an operator to invert or
    eigen-solve it has spurious near-zero / negative eigenvalues.

In both variants a derivative (degree ≥ 1) is reported in the common weights API
``D f(x₀) ≈ Σ_j w_j (f_j − f₀)``: the published weights ``v_j`` over all points satisfy
``v₀ + Σ_j v_j = D(1) = 0`` because the constant is always accepted, so
``Σ_all v_j f_j = Σ_j v_j (f_j − f₀)`` exactly and the centre weight is ``−Σ_j w_j``
(also returned as ``centre_weights``).

Completeness
------------
``complete_order`` of a stencil is the highest ``n`` such that every candidate monomial of
degree ≤ ``n`` was accepted. A derivative target whose degree exceeds it cannot be
represented faithfully (it would be a combination of derivatives): its weights are NaN,
never zero, and the row's ``rcond`` diagnostic is 0 when a requested derivative is not
representable, so the row guard treats it as rank-deficient.
"""
from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np

from .._kernels.orthopoly import orthopoly_basis, orthopoly_stencils
from .._validation import (check_int, check_option, check_points, check_stencil_arrays,
                           raise_if_out_of_memory)
from ..sampling.monomials import monomials as _taylor_monomials
from .result import StencilWeights, one_stencil
from .spec import MethodSpec, weight_power_from

__all__ = ["METHOD", "single_stencil", "monomials", "n_unknowns", "orthopoly_weights", "select_monomials",
           "orthonormal_polynomials", "candidates", "RTOL", "CENTRES"]

#: relative residual below which a monomial is rejected (coordinates in the unit ball)
RTOL = 1e-6

CENTRES = ("interpolate", "least-squares")

#: highest order (degree of the candidate monomials)
MAX_ORDER = 4


def monomials(order: int, dim: int):
    """Derivative keys (degree 1..order, graded), as for the Taylor method."""
    return _taylor_monomials(order, dim)


def n_unknowns(order: int, dim: int) -> int:
    """Least number of neighbours for a complete basis of ``order`` (as Taylor's ``p``)."""
    return len(_taylor_monomials(order, dim))


@lru_cache(maxsize=None)
def candidates(order: int, dim: int, constant: bool = True):
    """Candidate monomials in graded lexicographic order (constant first if ``constant``)."""
    zero = ((0,) * dim,) if constant else ()
    return zero + _taylor_monomials(order, dim)


@lru_cache(maxsize=None)
def _tables(order, dim, constant):
    ms = candidates(order, dim, constant)
    expo = np.ascontiguousarray(ms, dtype=np.intp).reshape(len(ms), dim)
    fact = np.array([float(np.prod([factorial(a) for a in m])) for m in ms])
    degree = np.ascontiguousarray(expo.sum(axis=1), dtype=np.intp)
    return expo, fact, degree


def _combos(order, dim, constant, targets):
    ms = candidates(order, dim, constant)     # candidates up to MAX (4): see orthopoly_weights
    index = {m: i for i, m in enumerate(ms)}
    rows = np.zeros((len(targets), len(ms)))
    tdeg = np.zeros(len(targets), dtype=np.intp)
    for r, t in enumerate(targets):
        items = t.items() if isinstance(t, dict) else [(tuple(t), 1.0)]
        for m, coef in items:
            m = tuple(m)
            if m not in index or sum(m) == 0:
                raise ValueError(f"derivative {m} is not available in {dim} dimensions "
                                 "(orders 1 to 4)")
            rows[r, index[m]] = coef
            tdeg[r] = max(tdeg[r], sum(m))
    return rows, tdeg


def orthopoly_weights(points, neighbors, centers, bases, *, order, targets,
                      weight_power=-1.0, bounds=False, n_threads=1, centre="interpolate",
                      rtol=RTOL, details=False):
    """Run the compiled kernel on already validated arrays (registry wrapper).

    Same contract as :func:`o3d_meshless.stencils.taylor.taylor_weights`; ``bounds`` is
    ignored. Candidates of degree ≤ ``order`` are used; ``targets`` may include
    derivatives of degree up to 4 (those above ``order`` get NaN weights).
    ``diagnostics[:, 0]`` is the smallest relative residual of an accepted monomial (0
    when a requested target is not representable, so guards see a rank failure), column 1 the complete order, column 2
    the rejected-candidate bitmask (as float, exact) and column 3 the number of accepted
    monomials. With ``details=True`` a fourth item is
    returned: a dict with ``rejected`` (uint64 bitmask over :func:`candidates`),
    ``complete_order`` and ``centre_weights`` (m, n_targets).
    """
    check_option(centre, CENTRES, name="centre")
    constant = centre == "least-squares"
    dim = points.shape[1] if bases is None else bases.shape[1]
    check_stencil_arrays(points, neighbors, centers, bases, dim, n_threads)
    expo, fact, degree = _tables(4, dim, constant)
    combos, tdeg = _combos(4, dim, constant, targets)
    m, k = neighbors.shape
    if bases is None:
        bases = np.zeros((0, dim, points.shape[1]))
    weights = np.empty((m, k, len(targets)))
    cw = np.empty(m * len(targets))
    diagnostics = np.empty((m, 4))
    rejected = np.zeros(m, dtype=np.uint64)
    complete = np.zeros(m, dtype=np.intc)
    status = np.zeros(m, dtype=np.intc)
    orthopoly_stencils(points, neighbors, centers, bases, expo, fact, degree,
                       np.ascontiguousarray(combos), tdeg, int(constant), int(order),
                       float(weight_power), float(rtol), weights, cw, diagnostics, rejected,
                       complete, status, int(n_threads))
    raise_if_out_of_memory(status, "orthogonal-polynomial")
    if details:
        return weights, diagnostics, status, {
            "rejected": rejected, "complete_order": complete,
            "centre_weights": cw.reshape(m, len(targets))}
    return weights, diagnostics, status


def _basis(pts, order, rtol, constant=True, weights=None):
    d = pts.shape[1]
    expo, _, _ = _tables(order, d, constant)
    n = len(pts)
    s = np.ones(n) if weights is None else np.sqrt(np.asarray(weights, dtype=np.float64))
    Q = np.zeros((n, n))
    C = np.zeros((n, len(expo)))
    acc = np.zeros(n, dtype=np.intc)
    n_acc, min_rel = orthopoly_basis(np.ascontiguousarray(pts), np.ascontiguousarray(s), expo,
                                     float(rtol), Q, C, acc)
    return expo, Q[:n_acc], C[:n_acc], acc[:n_acc], min_rel


def select_monomials(offsets, order, rtol=RTOL, *, constant=True):
    """Rank-revealing monomial selection on a point set (Carley, §2.1).

    Parameters
    ----------
    offsets : array_like of shape (N, d)
        Points (e.g. neighbour offsets, with or without the centre row 0), d = 2 or 3.
    order : int
        Highest candidate degree (1..4).
    rtol : float
        Relative residual threshold of the rank test (coordinates scaled to unit radius).
    constant : bool
        Include the constant monomial (False for the centre-interpolating / Taylor form,
        whose unknowns are the derivatives of degree ≥ 1).

    Returns
    -------
    kept, rejected : tuple of tuples
        Multi-indices in graded lexicographic order.
    complete_order : int
        Highest ``n`` with every candidate of degree ≤ n kept (0 or -1 if none).
    """
    pts = check_points(offsets, name="offsets", dims=(2, 3), min_points=1)
    order = check_int(order, name="order", low=1, high=4)
    if not (np.isfinite(rtol) and 0 < rtol < 1):
        raise ValueError(f"`rtol` must be in (0, 1); got {rtol!r}")
    h = np.linalg.norm(pts, axis=1).max()
    if h == 0:
        raise ValueError("`offsets` are all zero: the point set has no extent")
    ms = candidates(order, pts.shape[1], constant)
    _, _, _, acc, _ = _basis(pts / h, order, rtol, constant)
    kept = tuple(ms[i] for i in acc)
    rejected = tuple(m for m in ms if m not in kept)
    complete = order
    for m in rejected:
        complete = min(complete, sum(m) - 1)
    return kept, rejected, complete


def orthonormal_polynomials(points, order, rtol=RTOL, *, weights=None):
    """Orthonormal polynomials on ``points`` (unscaled coordinates), paper §2.1.

    Returns ``(kept, coefficients)``: ``coefficients[i, c]`` is the coefficient of the
    monomial ``kept[c]`` in ``P_i`` with ``Σ_j w_j P_a(x_j) P_b(x_j) = δ_ab``. The rank
    test runs on coordinates scaled to unit radius; the coefficients are converted back.
    """
    pts = check_points(points, name="points", dims=(2, 3), min_points=1)
    order = check_int(order, name="order", low=1, high=4)
    h = np.linalg.norm(pts, axis=1).max()
    h = h if h > 0 else 1.0
    ms = candidates(order, pts.shape[1], True)
    expo, _, C, acc, _ = _basis(pts / h, order, rtol, True, weights)
    deg = expo.sum(axis=1)
    coef = C[:, acc] / h ** deg[acc][None, :]
    return tuple(ms[i] for i in acc), coef


def single_stencil(offsets, *, order, weights=None, centre=None, rtol=None, strict=False):
    """One stencil for :func:`o3d_meshless.stencil_weights` (``method="orthopoly"``), with
    ``.rejected``, ``.complete_order``, ``.available`` and ``.centre_weight``."""
    centre = "interpolate" if centre is None else centre
    check_option(centre, CENTRES, name="centre")
    rtol = RTOL if rtol is None else rtol
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating)) \
            or not (0 < rtol < 1):
        raise ValueError(f"`rtol` must be a number in (0, 1); got {rtol!r}")
    off = check_points(offsets, name="offsets", dims=(2, 3), min_points=1)
    k, d = off.shape
    highest = isinstance(order, str)
    if highest:
        check_option(order, ("highest-complete",), name="order")
        order = MAX_ORDER
    else:
        order = check_int(order, name="order", low=1, high=MAX_ORDER)
    wp = weight_power_from(weights)
    dist, points, nbrs = one_stencil(off)

    def run(n):
        ms = monomials(n, d)
        return ms, orthopoly_weights(
            points, nbrs, np.zeros(1, dtype=np.intp), None, order=n, targets=list(ms),
            weight_power=wp, centre=centre, rtol=float(rtol), details=True)

    ms, (w, diag, status, det) = run(order)
    if highest:
        comp = int(det["complete_order"][0])
        if comp < 1:
            raise ValueError(f"`offsets` support no complete first-order basis ({k} "
                             "neighbour(s)); add neighbours")
        order = min(comp, order)
        ms, (w, diag, status, det) = run(order)
    comp = int(det["complete_order"][0])
    available = {m: sum(m) <= comp for m in ms}
    if strict and not all(available.values()):
        missing = [m for m, ok in available.items() if not ok]
        raise ValueError(f"derivatives {missing} are not representable on these offsets: the "
                         f"basis is complete only to order {comp}; add neighbours, lower "
                         "`order` or use order='highest-complete'")
    cand = candidates(order, d, centre == "least-squares")
    mask = int(det["rejected"][0])
    rejected = tuple(m for i, m in enumerate(cand) if (mask >> i) & 1)
    diagnostics = {"rcond": float(diag[0, 0]), "rank": int(diag[0, 3]),
                   "h_max": float(dist.max()), "rejected_monomials": rejected}
    diagnostics["complete_order"] = comp
    sw = StencilWeights(w[0], ms, diagnostics, order=order, method="orthopoly")
    sw.centre = centre
    sw.rejected = rejected
    sw.complete_order = comp
    sw.available = available
    sw.centre_weight = dict(zip(ms, det["centre_weights"][0].tolist()))
    return sw


def _check_options(given, *, owner=None):
    centre = "interpolate" if given.get("centre") is None else given["centre"]
    check_option(centre, CENTRES, name="centre", owner=owner)
    return {"centre": centre}


#: the registry's ``"orthopoly"``: diagnostics columns hold the complete order and the
#: rejected-candidate bit mask; ``order="highest-complete"`` picks the order per point
METHOD = MethodSpec(
    name="orthopoly", title="discrete orthogonal polynomials with rank-revealing monomial "
                            "selection (Carley)",
    kernel=orthopoly_weights, n_unknowns=n_unknowns, monomials=monomials, max_order=MAX_ORDER,
    options=("centre",), check_options=_check_options,
    diagnostics=("rcond", "complete_order", "rejected_mask", "rank"),
    diagnostic_dtypes={"complete_order": int, "rejected_mask": np.uint64},
    stencil=single_stencil, stencil_options=("rtol", "strict"),
    order_policies=("highest-complete",))
