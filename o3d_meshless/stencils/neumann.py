"""Laplacian stencils of boundary points under the Neumann condition.

At a point of an open boundary with outward conormal ``ν`` (and boundary tangent
``τ``), the order-2 Taylor fit through the centre value drops the ``∂f/∂ν`` unknown:

    f_j − f_0 ≈ f_τ τ_j + ½ f_νν ν_j² + f_ντ ν_j τ_j + ½ f_ττ τ_j²,

with ``(ν_j, τ_j)`` the neighbour's tangent-plane coordinates along ``ν`` and ``τ``. The
Laplacian weights are those of ``f_νν + f_ττ``. The row is exact for quadratics with
zero conormal derivative at the point, which is what an eigenfunction of the Neumann
problem is near the boundary; the discrete spectrum then approximates the Neumann
spectrum (in one dimension this is the classical ghost-point Neumann row
``(2f_0 − 2f_1)/h²``). The fit is unweighted, in coordinates scaled to unit RMS radius;
boundary rows are few (∝ √n), so this is NumPy, not a compiled kernel.
"""
from __future__ import annotations

import numpy as np

from .positive import local_coordinates

__all__ = ["neumann_laplacian_weights"]


def neumann_laplacian_weights(points, centers, neighbors, bases, conormals):
    """Δ weights of boundary rows with the conormal derivative constrained to zero.

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    centers : ndarray of shape (m,), intp
    neighbors : ndarray of shape (m, k), intp
    bases : ndarray of shape (n, 2, 3)
        Tangent axes of every point.
    conormals : ndarray of shape (m, 2)
        Outward unit conormals in each centre's tangent coordinates.

    Returns
    -------
    weights : ndarray of shape (m, k)
        ``Δf(x_i) ≈ Σ_j w_j (f_j − f_i)`` for ``f`` with ``∂f/∂ν = 0`` at ``x_i``.
    rcond : ndarray of shape (m,)
        σ_min/σ_max of each scaled design (0 when the neighbours cannot determine it).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.stack(np.meshgrid(np.arange(5.0), np.arange(-2.0, 3.0)), -1).reshape(-1, 2)
    >>> pts = np.c_[g, np.zeros(25)]                    # the centre (0, 0) sits on x = 0
    >>> c = int(np.flatnonzero((g == 0).all(1))[0])
    >>> nbrs = np.array([[j for j in range(25) if j != c]])
    >>> bases = np.tile(np.eye(3)[:2], (25, 1, 1))
    >>> w, _ = neumann_laplacian_weights(pts, np.array([c]), nbrs, bases, np.array([[-1.0, 0]]))
    >>> f = pts[:, 0] ** 2 + pts[:, 1] ** 2 + 3 * pts[:, 1]   # ∂f/∂x = 0 at x = 0, Δf = 4
    >>> round(float(w[0] @ (f[nbrs[0]] - f[c])), 10)
    4.0
    """
    xy = local_coordinates(points, np.asarray(centers, dtype=np.intp),
                           np.asarray(neighbors, dtype=np.intp), bases)
    c = conormals / np.linalg.norm(conormals, axis=1, keepdims=True)
    a = np.einsum("mkd,md->mk", xy, c)                           # along the conormal
    b = xy[..., 1] * c[:, None, 0] - xy[..., 0] * c[:, None, 1]   # along the boundary
    s = np.sqrt(np.mean(a * a + b * b, axis=1))[:, None]
    a, b = a / s, b / s
    design = np.stack([b, 0.5 * a * a, a * b, 0.5 * b * b], axis=2)   # (m, k, 4)
    sv = np.linalg.svd(design, compute_uv=False)
    rcond = np.where(sv[:, 0] > 0, sv[:, -1] / np.maximum(sv[:, 0], 1e-300), 0.0)
    pinv = np.linalg.pinv(design, rcond=1e-10)                       # (m, 4, k)
    weights = (pinv[:, 1] + pinv[:, 3]) / s ** 2
    return weights, rcond
