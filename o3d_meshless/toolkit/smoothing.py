"""Diffusion and smoothing on point clouds: per-point fields and the points themselves.

* :func:`heat_diffusion` runs the heat equation ``∂u/∂t = Δ_S u`` with implicit Euler
  steps ``(M + τK) u_{k+1} = M u_k`` on the symmetric weak form (``K ≈ M(−Δ_S)``,
  ``M`` lumped areas, ``τ = t / steps``): unconditionally stable, total heat
  ``Σ M u`` conserved exactly, values stay within the initial range (``M + τK`` is an
  M-matrix). Open boundaries: no flux (the weak form's natural condition).
* :func:`smooth_field` applies explicit Laplacian or Taubin (λ|μ) smoothing with the
  weak form's edge weights: ``v_i ← v_i + λ Σ_j w_ij (v_j − v_i) / Σ_j w_ij``.
* :func:`denoise_points` moves each point along its normal onto a weighted
  least-squares quadratic fitted to its neighbours (a local Monge patch), a few times.
  Quadratics follow the surface's curvature, so a sphere does not shrink (Laplacian
  smoothing of the coordinates would shrink it at every step).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from .._validation import check_int, check_option, check_values
from ..sampling.local_fit import height_fit
from .geodesic import check_time, weak_operators
from ..operators.sparse_solve import excluded_points, factor_symmetric
from ..sampling.sampled_surface import Sampling, check_options, prepare
from .._typing import ArrayLike, Float64Array, Geometry

__all__ = ["heat_diffusion", "smooth_field", "denoise_points", "TAUBIN"]

#: default Taubin factors (λ, μ) (Taubin 1995: pass band k_PB = 1/λ + 1/μ ≈ 0.1)
TAUBIN = (0.5, -0.53)
METHODS = ("laplacian", "taubin")
#: rows per batch of height fits
CHUNK = 8192


def _weak(geometry, options):
    """``(K, M, excluded)`` from a fitted weak LaplaceBeltrami or by fitting one on
    ``geometry``; ``excluded`` marks the outliers left out (or is None)."""
    from ..operators.gradient_divergence import LaplaceBeltrami

    if isinstance(geometry, LaplaceBeltrami):
        if not hasattr(geometry, "K_"):
            raise ValueError("`geometry` is a LaplaceBeltrami without K_: fit it with "
                             "form='weak' first")
        return geometry.K_, geometry.M_, excluded_points(geometry)
    _, lb, _ = weak_operators(geometry, **options)
    return lb.K_, lb.M_, excluded_points(lb)


def heat_diffusion(geometry: Geometry, u0: ArrayLike, t: float, *, steps: int = 1,
                   **options: Any) -> Float64Array:
    """Diffuse a per-point field for time ``t`` by implicit Euler steps.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), Sampling, or a
        fitted ``LaplaceBeltrami(form="weak")`` (its ``K_``, ``M_`` are used)
    u0 : array_like of shape (n,) or (n, c)
        Initial values.
    t : float
        Diffusion time, squared length units (``√(2t)`` is the diffusion length).
    steps : int, default=1
        Equal implicit steps (one factorisation of ``M + (t/steps) K``); more steps
        are closer to the exact ``exp(−tM⁻¹K)``: one step damps a mode ``λ`` by
        ``1/(1 + λt)`` instead of ``e^{−λt}``.
    **options
        ``k``, ``normals``, ``height_order``, ``orient``, ``workers`` of the operator.

    Returns
    -------
    ndarray, shape of ``u0``

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.toolkit.smoothing import heat_diffusion
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(2000, seed=0)
    >>> u = heat_diffusion(p, p[:, 2], 0.1, steps=10)      # z is a mode: λ = 2
    >>> round(float(np.median(u / p[:, 2])), 2), round(float(np.exp(-0.2)), 2)
    (0.82, 0.82)
    """
    K, M, excluded = _weak(geometry, options)
    n = K.shape[0]
    u = check_values(u0, n, name="u0")
    t = check_time(t, name="t")
    steps = check_int(steps, name="steps", low=1)
    lu = factor_symmetric((M + (t / steps) * K).tocsr(), definite=True)
    m = M.diagonal()
    out = u.copy()
    for _ in range(steps):
        rhs = m[:, None] * out if out.ndim == 2 else m * out
        out = lu.solve(rhs)
    if excluded is not None:                      # outliers: no part in the diffusion
        out[excluded] = np.nan
    return out


def smooth_field(geometry: Geometry, values: ArrayLike, *, method: str = "laplacian",
                 iterations: int = 10, lam: float | None = None, mu: float | None = None,
                 **options: Any) -> Float64Array:
    """Laplacian or Taubin smoothing of per-point values with the weak-form weights.

    Parameters
    ----------
    geometry : geometry, array_like of shape (n, 3), Sampling or fitted weak
        ``LaplaceBeltrami``
    values : array_like of shape (n,) or (n, c)
    method : {"laplacian", "taubin"}, default="laplacian"
        ``"laplacian"``: ``iterations`` steps of ``v ← v − λ D⁻¹K v`` (``D`` the diagonal
        of ``K``: each value moves ``λ`` of the way to its neighbours' weighted mean);
        ``"taubin"``: alternating ``λ`` and ``μ < −λ`` steps, which smooth without the
        overall shrinking of the plain Laplacian (Taubin 1995).
    iterations : int, default=10
        Number of steps (Taubin: pairs of steps).
    lam, mu : float, optional
        Step factors; defaults ``λ = 0.5`` and, for Taubin, ``μ = −0.53``. Stable for
        ``0 < λ <= 1`` and ``−1 <= μ < 0``.
    **options
        Operator options, as in :func:`heat_diffusion`.

    Returns
    -------
    ndarray, shape of ``values``

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.toolkit.smoothing import smooth_field
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(2000, seed=0)
    >>> noisy = p[:, 2] + 0.1 * np.random.default_rng(0).normal(size=2000)
    >>> s = smooth_field(p, noisy, method="taubin", iterations=10)
    >>> bool(np.std(s - p[:, 2]) < 0.5 * np.std(noisy - p[:, 2]))
    True
    """
    check_option(method, METHODS, name="method")
    iterations = check_int(iterations, name="iterations", low=0)
    lam = TAUBIN[0] if lam is None else lam
    mu = TAUBIN[1] if mu is None else mu
    for name, val, lo, hi in (("lam", lam, 0.0, 1.0), ("mu", mu, -1.0, 0.0)):
        if isinstance(val, (bool, np.bool_)) or not isinstance(val, (int, float, np.number)) \
                or not (lo < val <= hi if name == "lam" else lo <= val < hi):
            raise ValueError(f"`{name}` must be a number in "
                             f"{'(0, 1]' if name == 'lam' else '[-1, 0)'}; got {val!r}")
    K, _, excluded = _weak(geometry, options)
    n = K.shape[0]
    v = check_values(values, n, name="values").copy()
    d = K.diagonal()
    # isolated points (no neighbour with a weight) keep their values
    P = sparse.diags(np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)) @ K
    factors = [lam] if method == "laplacian" else [lam, mu]
    for _ in range(iterations):
        for f in factors:
            v = v - f * (P @ v)
    if excluded is not None:                      # outliers: no part in the smoothing
        v[excluded] = np.nan
    return v


def denoise_points(geometry: Geometry, *, iterations: int = 3, k: int = 80, order: int | str = 2,
                   normals: str | ArrayLike = "estimate", workers: int = -1) -> Float64Array:
    """Move the points along their normals onto local least-squares surface fits.

    Each iteration estimates frames from the current points (:func:`o3d_meshless.prepare`,
    PCA + height-fit normals over ``k`` neighbours), fits a Gaussian-weighted polynomial
    height ``z(u, v)`` of ``order`` 2 (or 3) through each point's neighbours in its frame
    (:func:`o3d_meshless.sampling.local_fit.height_fit`) and moves the point by
    ``z(0, 0)`` along the frame normal. Only normal displacements are made, so the
    sampling's spread over the surface is kept; a quadratic follows curvature, so
    spheres and cylinders do not shrink.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry or array_like of shape (n, 3)
    iterations : int, default=3
    k : int, default=80
        Neighbours per fit: the noise left is about ``σ √(c/k)``; use more on noisier
        scans (the fit's radius must stay below the features' curvature radius).
    order : {2, 3}, default=2
    normals : {"estimate", "auto"} or array, default="estimate"
        ``"auto"`` uses the geometry's stored normals in the first iteration (later ones
        always estimate from the moved points).
    workers : int, default=-1

    Returns
    -------
    points : ndarray of shape (n, 3)
        The moved points (input order; coincident points move together).

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.toolkit.smoothing import denoise_points
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(3000, seed=0)
    >>> noisy = p + 0.01 * np.random.default_rng(1).normal(size=p.shape)
    >>> q = denoise_points(noisy)
    >>> before = np.sqrt(np.mean((np.linalg.norm(noisy, axis=1) - 1) ** 2))
    >>> after = np.sqrt(np.mean((np.linalg.norm(q, axis=1) - 1) ** 2))
    >>> bool(after < before / 3), bool(abs(np.linalg.norm(q, axis=1).mean() - 1) < 0.005)
    (True, True)
    """
    iterations = check_int(iterations, name="iterations", low=0)
    order = check_option(check_int(order, name="order"), (2, 3), name="order")
    p = 6 if order == 2 else 10
    k = check_int(k, name="k", low=p)
    if isinstance(geometry, Sampling):
        raise ValueError("`geometry` of denoise_points must be points or a geometry (the "
                         "points move, so a prepared Sampling cannot be reused)")
    from ..sampling.adapters import as_points

    points = np.array(as_points(geometry, dims=(3,)), dtype=np.float64, copy=True)
    check_options(k=k, normals=normals, height_order=2, orient=None)
    current = geometry
    for it in range(iterations):
        # every point moves, outliers too (the caller excludes them beforehand)
        s = prepare(current if it == 0 else points, k=k,
                    normals=normals if it == 0 else "estimate", height_order=2,
                    outliers="keep", denoise=False, workers=workers, progress=False)
        nb = s.neighborhoods
        shift = np.zeros(len(nb.points))
        for lo in range(0, len(nb.points), CHUNK):
            c = np.arange(lo, min(lo + CHUNK, len(nb.points)), dtype=np.intp)
            derivs, _, _ = height_fit(nb.points, c, nb.indices[c], s.frames[c], order)
            # a one-sided fit (scan edges, outliers) can extrapolate far: never move a
            # point by more than its neighbourhood's RMS radius in one step
            d = nb.points[nb.indices[c]] - nb.points[c][:, None, :]
            radius = np.sqrt(np.einsum("mkc,mkc->m", d, d) / nb.k)
            shift[c] = np.clip(np.nan_to_num(derivs[:, 0]), -radius, radius)
        moved = nb.points + shift[:, None] * s.frames[:, 2]
        points = np.ascontiguousarray(s.expand(moved))
    return points
