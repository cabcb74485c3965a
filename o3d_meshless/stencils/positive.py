"""Nonnegative Laplacian stencils: the repair for rows no least-squares fit makes safe.

A row of ``L ≈ −Δ`` built from weights ``w_j >= 0`` (``L_ij = −w_j``, ``L_ii = Σ w_j``)
is an M-matrix row: positive diagonal, nonpositive off-diagonals, zero row sum. Such
rows cannot create eigenvalues with negative real part, whatever their neighbourhood
looks like. They are used only where the guard's least-squares stencils still fail
(tips and ridges under-resolved by the sampling, one-sided neighbourhoods).

The weights solve, in the row's tangent plane and in coordinates scaled to unit RMS
radius, the nonnegative least-squares problem

    minimise  Σ_m c_m² (Σ_j w_j x_j^m − b_m)²  +  α Σ_j w_j²   subject to  w >= 0,

with the moments ``x^m`` = ``u, v`` (target 0: exact on linear functions, weighted by
``LINEAR_WEIGHT``) and ``u², uv, v²`` (targets 2, 0, 2: exact on quadratics wherever the
neighbourhood allows). The small ridge ``α`` spreads the weight over the neighbours
instead of the few a basic NNLS solution picks. At an open boundary the moment along
the outward conormal is dropped (:func:`positive_laplacian_weights` with
``conormals``): the row is then exact for functions with zero normal derivative across
the boundary, the Neumann condition (see :mod:`o3d_meshless.sampling.boundary`).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

__all__ = ["positive_laplacian_weights", "LINEAR_WEIGHT", "RIDGE", "LINEAR_RTOL",
           "QUADRATIC_RTOL"]

#: priority of the linear moments over the quadratic ones
LINEAR_WEIGHT = 10.0
#: ridge on the weights (scaled coordinates), spreads them over the neighbourhood
RIDGE = 1e-3
#: a row whose linear moment residual exceeds this (relative) is not consistent
LINEAR_RTOL = 0.05
#: nor one whose quadratic moments miss their targets by more than this (relative to 2):
#: the Laplacian of a quadratic would be off by that fraction
QUADRATIC_RTOL = 0.5


def local_coordinates(points, centers, neighbors, bases):
    """Coordinates of each neighbour relative to its centre, ``(m, k, d)``: along the
    local axes ``bases`` (n, d, D), or ambient offsets when ``bases`` is None."""
    off = points[neighbors] - points[centers][:, None, :]
    return off if bases is None else np.einsum("mkc,mdc->mkd", off, bases[centers])


def positive_laplacian_weights(points, centers, neighbors, bases, *, conormals=None,
                               mask=None):
    """Nonnegative Δ weights for the rows ``centers``.

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    centers : ndarray of shape (m,), intp
    neighbors : ndarray of shape (m, k), intp
        Neighbour indices of each centre (the centre excluded).
    bases : ndarray of shape (n, 2, 3)
        Tangent axes (rows ``t_u, t_v``) of every point.
    conormals : ndarray of shape (m, 2) or None
        Outward unit conormal of boundary rows in their ``(t_u, t_v)`` coordinates (rows
        of zeros for interior rows). For those rows the conormal linear moment is dropped
        (Neumann condition).
    mask : ndarray of shape (m, k), bool, or None
        Neighbours allowed in the stencil (others get weight 0).

    Returns
    -------
    weights : ndarray of shape (m, k)
        ``Δf(x_i) ≈ Σ_j w_j (f_j − f_i)``, every ``w_j >= 0``.
    residual : ndarray of shape (m, 2)
        Column 0: ``|Σ w_j x_j| / Σ w_j |x_j|`` over the linear moments the row must
        satisfy (0 = exact on linear functions). Column 1: the largest miss of the
        quadratic moments, relative to 2 (0 = exact on quadratics; 1 = e.g. no
        curvature seen along one axis). A row is consistent when column 0 is at most
        ``LINEAR_RTOL`` and column 1 at most ``QUADRATIC_RTOL``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pts = np.c_[rng.uniform(-1, 1, (30, 2)), np.zeros(30)]
    >>> pts[0] = 0.0
    >>> bases = np.tile(np.eye(3)[:2], (30, 1, 1))
    >>> w, res = positive_laplacian_weights(pts, np.array([0]), np.arange(1, 17)[None], bases)
    >>> bool((w >= 0).all()), float(res[0, 0]) < 1e-3
    (True, True)
    >>> f = pts[:, 0] ** 2 + pts[:, 1] ** 2                  # Δf = 4
    >>> round(float(w[0] @ (f[1:17] - f[0])), 2)   # the ridge costs ~1e-4
    4.0
    """
    centers = np.asarray(centers, dtype=np.intp)
    neighbors = np.asarray(neighbors, dtype=np.intp)
    m, k = neighbors.shape
    xy = local_coordinates(points, centers, neighbors, bases)
    if mask is None:
        mask = np.ones((m, k), dtype=bool)
    weights = np.zeros((m, k))
    residual = np.zeros((m, 2))
    scale = np.array([LINEAR_WEIGHT, LINEAR_WEIGHT, 1.0, 1.0, 1.0])
    target = np.array([0.0, 0.0, 2.0, 0.0, 2.0]) * scale
    ridge = np.sqrt(RIDGE)
    for r in range(m):
        use = np.flatnonzero(mask[r])
        x = xy[r, use]
        s = np.sqrt(np.mean(np.einsum("kd,kd->k", x, x)))
        if not s > 0:
            continue
        x = x / s
        keep = np.ones(5, dtype=bool)
        if conormals is not None and np.any(conormals[r]):
            # rotate so the first axis is the conormal; drop its linear moment
            c = conormals[r] / np.linalg.norm(conormals[r])
            x = x @ np.array([[c[0], -c[1]], [c[1], c[0]]])
            keep[0] = False
        u, v = x[:, 0], x[:, 1]
        A = np.stack([u, v, u * u, u * v, v * v]) * scale[:, None]
        A = np.vstack([A[keep], ridge * np.eye(len(use))])
        b = np.concatenate([target[keep], np.zeros(len(use))])
        w, _ = nnls(A, b)
        lin = np.abs(x.T @ w)[keep[:2]]
        denom = w @ np.sqrt(u * u + v * v)
        residual[r, 0] = lin.max() / denom if denom > 0 else np.inf
        quad = np.array([w @ (u * u), w @ (u * v), w @ (v * v)])
        residual[r, 1] = np.abs(quad - [2.0, 0.0, 2.0]).max() / 2.0
        weights[r, use] = w / s ** 2
    return weights, residual
