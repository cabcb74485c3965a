"""Surface operators on point clouds: thin estimator facades over the pipeline

adapters → neighbors → frames → stencils (+ guard) → assembly.

:class:`SurfaceGradient` and :class:`Divergence` live here; the Laplace–Beltrami
operator and the spectrum in :mod:`o3d_meshless.operators.laplacian` (re-exported here).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import assembly
from .._progress import Stages
from .laplacian import LaplaceBeltrami, laplace_beltrami, spectrum
from .gradient_check import CONSISTENCY_TOL, EXCESS_LIMIT, correct_gradient_rows
from .surface_operator import _SurfaceOperator
from .._warnings import warn
from .._typing import ArrayLike, Float64Array, Geometry

__all__ = ["LaplaceBeltrami", "SurfaceGradient", "Divergence", "laplace_beltrami",
           "surface_gradient", "divergence", "spectrum"]

GRADIENT = [(1, 0), (0, 1)]



class SurfaceGradient(_SurfaceOperator):
    """Tangential gradient ``∇_S f`` of per-point scalars (Taylor least-squares stencils, Turner et al.).

    Same parameters as :class:`LaplaceBeltrami`, with ``order=2`` by default: gradient
    error O(h²). ``order=3`` is 70–400× more accurate on exact samples (analytic or
    CAD-derived points) but amplifies noise 2.8× more: with position noise above about
    0.1 % of the spacing, order 2 is the more accurate (``benchmarks/bench_noise.py``;
    real scans are far noisier). The guard enlarges, then lowers the order of,
    ill-conditioned stencils and stencils whose weights amplify noise more than 10×.

    Every row is checked on the coordinate functions, whose gradients have length at
    most 1 (:mod:`o3d_meshless.operators.gradient_check`): with ``guard=True``, rows that miss
    ``t_u, t_v`` by more than 5 % (neighbourhoods that fold over the tangent plane at
    thin parts and tips of coarse shapes) get the smallest change of weights that makes
    them reproduce linear functions. ``cow.off``: the gradient of x, y or z was longer
    than 1.05 at 10.2 % (vertex cloud) and 7.2 % (mesh) of the points, up to 5.8; now
    at none.

    Attributes
    ----------
    G_ : scipy.sparse.csr_matrix of shape (3n, n)
        Stacked x, y, z blocks: ``(G_ @ f).reshape(3, n).T`` is the (n, 3) gradient.
    points_, normals_, frames_, diagnostics_ : as in :class:`LaplaceBeltrami`
        ``diagnostics_`` also has ``corrected_rows`` (rows corrected by the coordinate
        check), ``gradient_excess_mask`` (per point: a coordinate function's gradient is
        still longer than 1.05) and ``gradient_excess_rows``.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(1).normal(size=(3000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> g = om.SurfaceGradient().fit(p).apply(p[:, 2])     # ∇_S z = e_z − z n
    >>> exact = np.array([0, 0, 1]) - p[:, 2:3] * p
    >>> bool(np.abs(g - exact).max() < 2e-2)
    True
    >>> g3 = om.SurfaceGradient(order=3).fit(p).apply(p[:, 2])   # exact points: order 3
    >>> bool(np.abs(g3 - exact).max() < 1e-3)
    True
    """

    _default_order = 2
    _min_order = 1

    def fit(self, geometry: Geometry) -> SurfaceGradient:
        """Build ``G_`` for ``geometry``; returns ``self``."""
        stages = Stages(5, desc=type(self).__name__, progress=self.progress)
        try:
            nb, frames = self._prepare(geometry, stages)
            with stages("stencils"):
                st = self._stencils(nb, frames, GRADIENT, None, 1)
                self._check_coordinates(st, nb, frames)
            with stages("assembly"):
                G = assembly.gradient_matrix(st, frames)
                if nb.inverse is not None:
                    G = assembly.expand_rows_cols(G, nb.inverse)
        finally:
            stages.close()
        self.G_ = self._embed(G)
        self.diagnostics_["timings"] = stages.timings
        return self

    def _check_coordinates(self, st, nb, frames):
        """Rows that fail on the coordinate functions corrected (with ``guard``), and the
        rows whose gradients of x, y or z are still too long reported
        (:mod:`o3d_meshless.operators.gradient_check`)."""
        corrected, excess = correct_gradient_rows(
            st, nb.points, frames, tol=CONSISTENCY_TOL if self.guard else np.inf)
        diag = self.diagnostics_
        diag["corrected_rows"] = int(corrected.sum())
        diag["gradient_excess_rows"] = int(excess.sum())
        diag["gradient_excess_mask"] = self.sampling_.expand(excess)
        if excess.any():
            warn(f"{type(self).__name__}: {int(excess.sum())} of {len(excess)} rows give the "
                 f"coordinate functions a gradient longer than {EXCESS_LIMIT} (exact: at most "
                 "1): their neighbourhoods fold over the tangent plane. To fix: "
                 + ("sample the surface more densely or lower `k`" if self.guard
                    else "keep guard=True") + ". Which rows: "
                 "diagnostics_['gradient_excess_mask']", RuntimeWarning)

    def apply(self, values: ArrayLike) -> Float64Array:
        """Gradient of ``values`` (n,) → (n, 3), or (n, c) → (n, c, 3)."""
        self._check_fitted("G_")
        n = self.G_.shape[1]
        f = self._check_input(values, n, "values")
        g = self.G_ @ f
        if f.ndim == 1:
            g = np.ascontiguousarray(g.reshape(3, n).T)
        else:
            g = np.ascontiguousarray(g.reshape(3, n, -1).transpose(1, 2, 0))
        return self._nan_at_outliers(g)


class Divergence(SurfaceGradient):
    """Surface divergence ``div_S V = Σ_c (∇_S V_c)_c`` of per-point 3-D vector fields.

    For tangent fields this is the intrinsic divergence; ``div_S ∇_S f = Δ_S f``.

    Attributes
    ----------
    D_ : scipy.sparse.csr_matrix of shape (n, 3n)
        Acts on ``V.T.ravel()`` of a field ``V`` of shape (n, 3).
    G_ : the gradient it is built from.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(2).normal(size=(3000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> V = np.cross([0.0, 0.0, 1.0], p)          # rotation about z: divergence-free
    >>> bool(np.abs(om.Divergence().fit(p).apply(V)).max() < 1e-3)
    True
    """

    def fit(self, geometry: Geometry) -> Divergence:
        """Build ``D_`` (and ``G_``) for ``geometry``; returns ``self``."""
        super().fit(geometry)
        self.D_ = assembly.divergence_matrix(self.G_)
        return self

    def apply(self, field: ArrayLike) -> Float64Array:
        """Divergence of ``field`` of shape (n, 3) → (n,)."""
        self._check_fitted("D_")
        n = self.D_.shape[0]
        V = self._check_input(field, n, "field")
        if V.ndim != 2 or V.shape[1] != 3:
            raise ValueError(f"`field` must have shape (n, 3); got {V.shape}")
        return self._nan_at_outliers(self.D_ @ V.T.ravel())


def surface_gradient(geometry: Geometry, values: ArrayLike, **options: Any) -> Float64Array:
    """Tangential gradient of per-point ``values``: (n,) → (n, 3); (n, c) → (n, c, 3).

    ``options`` are those of :class:`SurfaceGradient` (default ``order=2``).

    Examples
    --------
    On the unit sphere ``∇_S z = e_z − z n`` has length ``sqrt(1 − z²)``:

    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(1000, seed=0)
    >>> g = om.surface_gradient(p, p[:, 2])
    >>> g.shape, round(float(np.abs(np.linalg.norm(g, axis=1) - np.sqrt(1 - p[:, 2] ** 2)).max()), 3)
    ((1000, 3), 0.001)
    """
    return SurfaceGradient(**options).fit(geometry).apply(values)


def divergence(geometry: Geometry, field: ArrayLike, **options: Any) -> Float64Array:
    """Surface divergence of a per-point vector field of shape (n, 3) → (n,).

    Examples
    --------
    On the unit sphere ``div_S ∇_S z = Δ_S z = −2z``:

    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(1000, seed=0)
    >>> d = om.divergence(p, np.array([0, 0, 1.0]) - p[:, 2:] * p)     # ∇_S z
    >>> d.shape, round(float(np.median(np.abs(d + 2 * p[:, 2]))), 2)
    ((1000,), 0.02)
    """
    return Divergence(**options).fit(geometry).apply(field)
