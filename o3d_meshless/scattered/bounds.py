"""Error bounds of least-squares gradient estimates (Turner et al.: Turner, Belward & Oqielat).

For a centre ``a`` with neighbours ``v_i = a + h_i ν_i`` (``‖ν_i‖ = 1``) and a Taylor fit of
order ``n`` solved as ``argmin ‖W A γ − W q‖`` (rows ``A_i = (h_i^{|α|−1} ν_i^α / α!)_α``,
``q_i = (f(v_i) − f(a)) / h_i``), the gradient error is bounded by

* Bound1 (Props. 3.2/3.3):  ``ϑ_max h_max^n w_max √(Σ_i ‖ν_i‖₁^{2n}) / ((n+1)! σ̄₁)``,
  ``σ̄₁`` the smallest singular value of ``W A``;
* Bound2 (Props. 4.2/4.3): the same with ``σ̂₁``, the smallest singular value of
  ``A₂₁ = Q₂ᵀ (W A)₁`` after the Householder reduction ``Qᵀ (W A)₂ = [A₁₂; 0]`` of the
  columns of the higher derivatives. ``σ̄₁ ≤ σ̂₁``, so Bound2 ≤ Bound1; ``σ̂₁`` does not
  depend on the scale of the stencil, so Bound2 is a genuine ``O(h_max^n)``.

``ϑ_max`` bounds the Lipschitz constants of the n-th partial derivatives on the stencil's
ball (Lemma 3.1); in d dimensions ``√d · max |∂^{n+1} f|`` is one (mean-value theorem,
the paper's §5 estimate; see :func:`o3d_meshless.testing.lipschitz_estimate`). Without it
the *geometric factor* — everything but ``ϑ_max`` — is returned, to be multiplied by the
user. ``W = diag(w_i)`` is the weighting actually used: ``w_i = 1`` for ``weights=0`` (the
paper's classical least squares), ``h_i^{-d}`` for ``weights=d``, and ``h_i`` for
``weights=None`` (unweighted Taylor rows ``f_i − f(a)``); ``w_max = max_i w_i``.

The bounds hold in 2-D and 3-D alike (Lemma 3.1 goes through with ``‖ν‖₁^n`` in any
dimension). They concern the gradient only.
"""
from __future__ import annotations

from math import factorial

import numpy as np

from .._validation import check_int, check_points
from ..stencils import stencil_weights, weight_power_from
from ..sampling.monomials import monomials

__all__ = ["seed_design", "reduced_gradient", "stencil_bounds", "bound_factors",
           "error_bounds"]


def _check_offsets(offsets, order):
    off = check_points(offsets, name="offsets", dims=(2, 3), min_points=1)
    h = np.linalg.norm(off, axis=1)
    if (h == 0).any():
        raise ValueError(f"`offsets` row {int(np.flatnonzero(h == 0)[0])} is zero: a neighbour "
                         "coincides with the centre")
    p = len(monomials(order, off.shape[1]))
    if len(off) < p:
        raise ValueError(f"`offsets` must have at least {p} rows for order {order} in "
                         f"{off.shape[1]}-D; got {len(off)}")
    return off, h


def seed_design(offsets, *, order, weights=0):
    """Turner et al.'s weighted matrix ``W A`` and the row weights ``w`` for one stencil.

    Parameters
    ----------
    offsets : array_like of shape (k, d)
        Neighbours minus the centre (d = 2 or 3, no zero row).
    order : int
        Taylor order ``n`` (1–4).
    weights : None or int, default=0
        As in :func:`o3d_meshless.stencil_weights` (0 = the paper's classical ``A``).

    Returns
    -------
    WA : ndarray of shape (k, p)
        Columns ordered as :func:`o3d_meshless.sampling.monomials.monomials` (gradient first).
    w : ndarray of shape (k,)
        Row weights; the right-hand side is ``w * (f_i − f(a)) / h_i``.
    """
    order = check_int(order, name="order", low=1, high=4)
    off, h = _check_offsets(offsets, order)
    wp = weight_power_from(weights)
    nu = off / h[:, None]
    ms = np.array(monomials(order, off.shape[1]))
    deg = ms.sum(axis=1)
    fact = np.array([np.prod([factorial(a) for a in m]) for m in ms], dtype=np.float64)
    A = h[:, None] ** (deg - 1) * np.prod(nu[:, None, :] ** ms[None], axis=2) / fact
    w = h ** (-wp)
    return w[:, None] * A, w


def reduced_gradient(offsets, values_diff, *, order, weights=0):
    """Gradient by the reduced problem ``argmin_g ‖A₂₁ g − Q₂ᵀ W q‖`` (Turner et al. §4, [3]).

    ``Q`` is the complete QR (Householder) factor of ``(W A)₂``, the columns of the
    derivatives of order ≥ 2; ``A₂₁ = Q₂ᵀ (W A)₁``. Belward, Turner & Ilić showed that this
    equals the gradient part of the full least-squares solution.

    Parameters
    ----------
    offsets : array_like of shape (k, d)
    values_diff : array_like of shape (k,)
        ``f(v_i) − f(a)``.
    order, weights :
        As in :func:`seed_design`.

    Returns
    -------
    gradient : ndarray of shape (d,)
    sigma_hat : float
        ``σ̂₁``, the smallest singular value of ``A₂₁`` (Bound2's ingredient).
    """
    WA, w = seed_design(offsets, order=order, weights=weights)
    off = np.asarray(offsets, dtype=np.float64)
    k, d = off.shape
    df = np.asarray(values_diff, dtype=np.float64).reshape(-1)
    if df.shape != (k,) or not np.isfinite(df).all():
        raise ValueError(f"`values_diff` must be finite with shape ({k},); got {df.shape}")
    rhs = w * df / np.linalg.norm(off, axis=1)
    A1, A2 = WA[:, :d], WA[:, d:]
    if A2.shape[1] == 0:                        # order 1: nothing to eliminate
        A21, rhs2 = A1, rhs
    else:
        Q, _ = np.linalg.qr(A2, mode="complete")
        Q2 = Q[:, A2.shape[1]:]
        A21, rhs2 = Q2.T @ A1, Q2.T @ rhs
    g, *_ = np.linalg.lstsq(A21, rhs2, rcond=None)
    return g, float(np.linalg.svd(A21, compute_uv=False)[-1])


def _geometry(off, order, weight_power):
    h = np.linalg.norm(off, axis=-1)
    nu1 = np.abs(off).sum(axis=-1) / h
    return h, nu1 ** (2 * order), h ** (-weight_power)


def bound_factors(points, indptr, indices, order, weight_power):
    """Per-stencil ``h_max``, ``√Σ‖ν_i‖₁^{2n}`` and ``w_max`` of CSR stencils.

    Parameters
    ----------
    points : ndarray of shape (n, d)
    indptr, indices : CSR layout of the neighbours of each point (centre excluded)
    order : int or ndarray of shape (n,)
    weight_power : float
        Exponent of ``W = h^-d`` (see :func:`o3d_meshless.stencils.weight_power_from`).

    Returns
    -------
    dict of ndarrays of shape (n,): ``h_max``, ``sum_nu``, ``w_max``.
    """
    n = len(indptr) - 1
    counts = np.diff(indptr)
    row_of = np.repeat(np.arange(n), counts)
    off = points[indices] - points[row_of]
    order_rows = np.broadcast_to(np.asarray(order), (n,))[row_of]
    h = np.linalg.norm(off, axis=1)
    nu1 = np.abs(off).sum(axis=1) / h
    w = h ** (-weight_power)
    starts = indptr[:-1]
    return {"h_max": np.maximum.reduceat(h, starts),
            "sum_nu": np.sqrt(np.add.reduceat(nu1 ** (2 * order_rows), starts)),
            "w_max": np.maximum.reduceat(w, starts)}


def error_bounds(factors, sigma_min_A, sigma_min_A21, order, lipschitz=None):
    """Bound1 and Bound2 from :func:`bound_factors` and the stencils' singular values.

    ``lipschitz`` (ϑ_max, scalar or per stencil) multiplies both; with ``None`` the
    geometric factors are returned (``bound1 = factor1``, ``bound2 = factor2``).

    Returns
    -------
    dict with ``bound1``, ``bound2``, ``factor1``, ``factor2`` and the ingredients
    ``h_max``, ``sum_nu``, ``w_max``, ``sigma_min_A``, ``sigma_min_A21``, ``lipschitz``.
    """
    order = np.asarray(order)
    common = (factors["h_max"] ** order * factors["w_max"] * factors["sum_nu"]
              / np.vectorize(factorial)(order + 1))
    with np.errstate(divide="ignore"):
        f1 = common / np.asarray(sigma_min_A)
        f2 = common / np.asarray(sigma_min_A21)
    theta = 1.0
    if lipschitz is not None:
        theta = np.asarray(lipschitz, dtype=np.float64)
        if theta.ndim > 1 or (theta.ndim == 1 and theta.shape != np.shape(f1)) \
                or not np.isfinite(theta).all() or (theta < 0).any():
            raise ValueError("`lipschitz` must be a non-negative finite scalar or one value per "
                             f"point (shape {np.shape(f1)}); got shape {theta.shape}")
    out = dict(factors)
    out.update(factor1=f1, factor2=f2, bound1=theta * f1, bound2=theta * f2,
               sigma_min_A=np.asarray(sigma_min_A), sigma_min_A21=np.asarray(sigma_min_A21),
               lipschitz=lipschitz)
    return out


def stencil_bounds(offsets, *, order, weights=0, lipschitz=None):
    """Bound1/Bound2 (and the gradient weights) of one stencil.

    Parameters
    ----------
    offsets : array_like of shape (k, d)
        Neighbours minus the centre.
    order : int
    weights : None or int, default=0
        0 = the paper's classical least squares; see :func:`o3d_meshless.stencil_weights`.
    lipschitz : float or None
        ``ϑ_max``; ``None`` returns the geometric factors.

    Returns
    -------
    bounds : dict of floats (see :func:`error_bounds`)
    stencil : StencilWeights
        Apply ``stencil[(1, 0)] @ (f_i − f(a))`` etc. for the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.scattered.bounds import stencil_bounds
    >>> t = np.linspace(0, 2 * np.pi, 9, endpoint=False)
    >>> off = 0.1 * np.c_[np.cos(t), np.sin(t)]
    >>> b, w = stencil_bounds(off, order=2)
    >>> bool(b["bound2"] <= b["bound1"])
    True
    """
    order = check_int(order, name="order", low=1, high=4)
    off, _ = _check_offsets(offsets, order)
    sw = stencil_weights(off, order=order, weights=weights)
    h, nu2n, w = _geometry(off, order, weight_power_from(weights))
    factors = {"h_max": float(h.max()), "sum_nu": float(np.sqrt(nu2n.sum())),
               "w_max": float(w.max())}
    b = error_bounds(factors, sw.diagnostics["sigma_min_A"], sw.diagnostics["sigma_min_A21"],
                     order, lipschitz)
    return {key: (float(v) if isinstance(v, np.ndarray) else v) for key, v in b.items()}, sw
