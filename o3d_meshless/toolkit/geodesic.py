"""Geodesic distance on point clouds by the heat method (Crane, Weischedel & Wardetzky 2013).

The heat method in three linear solves, on the package's own operators:

1. **Heat.** ``(M + tK) u = Σ_s e_s``: one implicit Euler step of the heat equation
   from a unit heat source at each source point, with the symmetric weak-form
   stiffness ``K ≈ M(−Δ_S)`` and lumped areas ``M`` of
   :class:`~o3d_meshless.LaplaceBeltrami` (``form="weak"``). ``M + tK`` is symmetric
   positive definite and an M-matrix, so ``u > 0`` on every point connected to a source.
2. **Direction.** ``X = −∇ log u / |∇ log u|``, with the Taylor gradient ``G`` of
   :class:`~o3d_meshless.SurfaceGradient`. Varadhan's formula makes ``log u`` nearly
   linear in the distance, so its gradient is accurate where the gradient of ``u``
   itself (which decays by a factor ``e`` per ``√t``) is not: on a 20 000-point i.i.d.
   unit sphere the median direction error at ``t = 2h²`` is 3.7° from ``∇u`` and 1.7°
   from ``∇ log u``. Within ``4h`` of a source, where no stencil resolves ``u``,
   ``X`` is the direction away from the nearest source. Where ``|∇ log u|`` falls
   well below its median (heat fronts meeting from different directions: the cut
   locus), ``X`` fades to zero instead of being normalised (see ``_fade``).
3. **Poisson.** ``K φ = Gᵀ M X``, the weak form of ``Δφ = div X``. The cone of the
   nearest source is split off first: with ``φ₀ = |x − x_s|`` (Euclidean distance to the
   nearest source, whose gradient ``∇_S φ₀`` is known in closed form),
   ``φ = φ₀ + ψ`` and ``K ψ = Gᵀ M (X − ∇_S φ₀)``. The residual field is smooth at the
   sources, so ``ψ`` is too: the kink of the distance at a source never meets a
   stencil, and fixing ``ψ``'s constant so that ``φ`` is 0 at the sources is accurate.
   (Pinning the plain solve at the source leaves an offset of about two spacings: 1.5 %
   median error instead of 0.3 % on the unit sphere.)

Measured choices (unit sphere, 20 000 i.i.d. points, relative error over points farther
than 0.1 from the source): the weak divergence ``Gᵀ M X`` beats the meshless divergence
``−M D X`` (:class:`~o3d_meshless.Divergence`): with the exact direction field and the
cone split off, median / p99 0.05 % / 0.29 % against 0.34 % / 0.97 %; the strong-form
heat step ``(I + tL)`` is no better than the weak one and loses positivity. Result at
the default ``t = 2h²``: median 0.27 %, p99 1.5 % (sphere); 0.36 % / 1.8 % (ellipsoid
1, 0.6, 0.3) and 0.26 % / 1.25 % (torus 1, 0.4) against exact polyhedral distances on
60 000-vertex meshes (``benchmarks/bench_geometry.py``).

Time step: ``t = T_FACTOR · h²`` with ``h`` the mean nearest-neighbour distance and
``T_FACTOR = 2``. (Crane et al.'s ``t = h²`` uses the mean *edge* length of a mesh; on
i.i.d. points the mean Delaunay edge is about 2.3 nearest-neighbour distances, so their
default is ``t ≈ 5 h²`` in these units.) Larger ``t`` lowers the sampling noise of
``X`` but biases the direction by ``O(√t)`` where the curvature varies: median error
at ``t`` = 1, 2, 4 ``h²``: sphere 0.43, 0.27, 0.17 %; ellipsoid 0.53, 0.36, 0.27 %;
torus 0.31, 0.26, 0.42 %.

Open boundaries: the heat step averages the solutions with Neumann (natural) and
Dirichlet (``u = 0`` on the boundary) conditions, as Crane et al. recommend
(``boundary="average"``); ``boundary="neumann"`` uses the natural condition only, as the
Poisson step always does.

Far from the sources ``u`` decays like ``exp(−d/√t)``; where it underflows (surfaces
more than about 700 ``√t`` across) the direction is taken from heat solves with 16×
larger ``t``, factorised when first needed and kept. Points in pieces of the neighbour
graph without a source get ``inf``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from .._params import Params
from .._validation import check_option, n_threads_from_workers
from ..sampling.sampled_surface import Sampling, check_options, prepare
from ..operators.sparse_solve import excluded_points, factor_symmetric
from .._warnings import warn
from .._typing import ArrayLike, Float64Array, Geometry

__all__ = ["HeatGeodesics", "geodesic_distance", "T_FACTOR", "mean_spacing"]

#: default time step ``t = T_FACTOR · h²`` (``h``: mean nearest-neighbour distance)
T_FACTOR = 2.0
#: within this many spacings of a source the direction is the analytic one
NEAR_SOURCE = 4.0
#: heat values below this (relative to the largest) are treated as underflowed
U_FLOOR = 1e-280
#: each fallback heat solve uses this many times the previous ``t``
T_STEP = 16.0
#: at most this many fallback time steps
MAX_LEVELS = 6
#: X fades out where |∇ log u| is below FADE[1] × its median, to 0 at FADE[0] × (_fade)
FADE = (0.5, 0.85)
BOUNDARY_OPTIONS = ("average", "neumann")
MULTISOURCE_OPTIONS = ("auto", "min", "joint")
#: ``multisource="auto"`` solves per source (and takes the minimum) up to this many
MIN_SOURCES = 16


def _fade(norm, typical):
    """``1/|g|`` times a smoothstep from 0 at ``FADE[0]·typical`` to 1 at ``FADE[1]·typical``.

    Where heat fronts from different directions meet (the cut locus, or between two
    sources) ``∇ log u`` cancels across a band about ``√t`` wide. Normalising it there
    turns ``X`` along the meeting line, a spurious flow the Poisson step carries
    downstream (distances too long: +0.9 % median on a torus at ``t = 2h²``). Faded to
    zero, ``X`` leaves at the band's two edges the sink ``2 cos α`` that the true
    distance's kink has. ``typical`` is the median ``|∇ log u|``; sampling noise spreads
    regular points by ±10 % around it, far above ``FADE[1]``.
    """
    x = np.clip((norm / typical - FADE[0]) / (FADE[1] - FADE[0]), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x) / np.where(norm > 0, norm, 1.0)


def mean_spacing(sampling):
    """Mean distance from each (unique) point to its nearest neighbour.

    Parameters
    ----------
    sampling : Sampling

    Returns
    -------
    float
    """
    nb = sampling.neighborhoods
    return float(np.linalg.norm(nb.points - nb.points[nb.indices[:, 0]], axis=1).mean())


def weak_operators(geometry, *, k=16, normals="auto", height_order=2, orient=None,
                   workers=-1, gradient=False, progress=False):
    """``(sampling, LaplaceBeltrami(form="weak"), SurfaceGradient or None)`` on one
    :func:`o3d_meshless.prepare` (a ``Sampling`` given is used as it is: its options win)."""
    from ..operators.gradient_divergence import LaplaceBeltrami, SurfaceGradient

    if isinstance(geometry, Sampling):
        s = geometry
        opts = s.options
        k, height_order, orient = opts["k"], opts["height_order"], opts["orient"]
        normals = opts["normals"] if opts["normals"] != "array" else opts["normals_array"]
    else:
        check_options(k=k, normals=normals, height_order=height_order, orient=orient)
        s = prepare(geometry, k=k, normals=normals, height_order=height_order, orient=orient,
                    workers=workers, progress=progress)
    common = dict(k=k, normals=normals, height_order=height_order, orient=orient,
                  workers=workers, progress=progress)
    lb = LaplaceBeltrami(form="weak", **common).fit(s)
    grad = SurfaceGradient(**common).fit(s) if gradient else None
    return s, lb, grad


def check_time(t, *, name="t"):
    """A positive finite float (``ValueError`` naming ``name`` otherwise)."""
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, float, np.integer,
                                                             np.floating)) \
            or not np.isfinite(t) or t <= 0:
        raise ValueError(f"`{name}` must be a positive finite number (a diffusion time, in "
                         f"squared length units) or None for the default; got {t!r}")
    return float(t)


def check_sources(sources, n, *, name="sources"):
    """Source indices as a sorted unique intp array (``ValueError`` naming ``name``)."""
    arr = np.asarray(sources)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) \
                and np.all(arr == np.round(arr)):
            arr = arr.astype(np.intp)
        else:
            raise ValueError(f"`{name}` must be an int or a 1-D array of point indices; got "
                             f"dtype {arr.dtype} (for a boolean mask use np.flatnonzero(mask))")
    arr = np.atleast_1d(arr)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"`{name}` must be an int or a non-empty 1-D array of point "
                         f"indices; got shape {np.shape(sources)}")
    if arr.min() < 0 or arr.max() >= n:
        bad = arr[(arr < 0) | (arr >= n)][0]
        raise ValueError(f"`{name}` must index the {n} points (0 <= i < {n}); got {bad} "
                         "(negative indices are not accepted)")
    return np.unique(arr.astype(np.intp))


class HeatGeodesics(Params):
    """Geodesic distance by the heat method, factorised once for many queries.

    ``fit`` builds the weak-form stiffness ``K``, lumped areas ``M`` and gradient ``G``
    on one shared sampling and factorises ``M + tK`` and the (pinned) ``K``; each
    :meth:`distance` query is then two triangular solves per factor and a few sparse
    products. See :mod:`o3d_meshless.toolkit.geodesic` for the method.

    Parameters
    ----------
    t : float or None, default=None
        Diffusion time (squared length units); ``None``: ``t_factor · h²`` with ``h``
        the mean nearest-neighbour distance.
    t_factor : float, default=T_FACTOR (2.0)
        Used when ``t`` is None.
    boundary : {"average", "neumann"}, default="average"
        Heat step at open boundaries: the mean of the Neumann and Dirichlet solutions
        (Crane et al.'s recommendation), or Neumann only. Closed surfaces: no effect.
    multisource : {"auto", "min", "joint"}, default="auto"
        Several sources: ``"min"`` solves once per source and takes the minimum (one
        query's cost per source; as accurate as one source); ``"joint"`` is Crane et
        al.'s single solve from all sources at once (the fronts' meeting lines are
        smoothed over about ``√t`` and the error spreads from them: on the unit sphere,
        20 000 points, 4 sources, median 1.3 % against 0.3 %). ``"auto"``: ``"min"`` up
        to ``MIN_SOURCES`` (16) sources, else ``"joint"``.
    k, normals, height_order, orient, workers :
        As in :class:`~o3d_meshless.LaplaceBeltrami` (the neighbourhoods and frames).
    progress : bool or None, default=None
        Progress bars of the build; None: only when stderr is a terminal.

    Attributes
    ----------
    t_ : float
        The time step used.
    spacing_ : float
        Mean nearest-neighbour distance ``h``.
    K_, M_ : scipy.sparse.csr_matrix of shape (n, n)
        Weak-form stiffness and lumped areas.
    G_ : scipy.sparse.csr_matrix of shape (3n, n)
        Gradient.
    points_, normals_ : ndarray of shape (n, 3)
    boundary_mask_ : ndarray of shape (n,), bool
        Open-boundary points.
    labels_ : ndarray of shape (n,), int
        Connected piece of each point (pieces of the stiffness graph).
    sampling_ : Sampling
        The shared neighbourhoods and frames.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.toolkit.geodesic import HeatGeodesics
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(2000, seed=0)
    >>> solver = HeatGeodesics().fit(p)
    >>> d = solver.distance(0)                       # one source
    >>> exact = np.arccos(np.clip(p @ p[0], -1, 1))  # great-circle distance
    >>> bool(np.median(np.abs(d - exact)[exact > 0.1] / exact[exact > 0.1]) < 0.01)
    True
    >>> d2 = solver.distance([0, 1])                 # distance to the nearer of two
    >>> d2.shape
    (2000,)
    """

    def __init__(self, *, t: float | None = None, t_factor: float = T_FACTOR,
                 boundary: Any = "average", multisource: str = "auto", k: int = 16,
                 normals: str | ArrayLike = "auto", height_order: int = 2,
                 orient: str | None = None, workers: int = -1,
                 progress: bool | None = None) -> None:
        self.t = t
        self.t_factor = t_factor
        self.boundary = boundary
        self.multisource = multisource
        self.k = k
        self.normals = normals
        self.height_order = height_order
        self.orient = orient
        self.workers = workers
        self.progress = progress

    def fit(self, geometry: Geometry) -> HeatGeodesics:
        """Build the operators and factorise; ``geometry`` may be a ``Sampling``."""
        owner = type(self).__name__
        check_option(self.boundary, BOUNDARY_OPTIONS, name="boundary", owner=owner)
        check_option(self.multisource, MULTISOURCE_OPTIONS, name="multisource", owner=owner)
        if self.t is not None:
            check_time(self.t, name="t")
        check_time(self.t_factor, name="t_factor")
        n_threads_from_workers(self.workers)
        s, lb, grad = weak_operators(geometry, k=self.k, normals=self.normals,
                                     height_order=self.height_order, orient=self.orient,
                                     workers=self.workers, gradient=True,
                                     progress=self.progress)
        self.sampling_ = s
        self.points_ = lb.points_
        self.normals_ = lb.normals_
        self.K_, self.M_, self.G_ = lb.K_, lb.M_, grad.G_
        self.excluded_ = excluded_points(lb)
        self.spacing_ = mean_spacing(s)
        self.t_ = float(self.t) if self.t is not None else self.t_factor * self.spacing_ ** 2
        n = self.K_.shape[0]
        self.boundary_mask_ = np.asarray(s.diagnostics["boundary_mask"], dtype=bool)
        self.n_components_, self.labels_ = csgraph.connected_components(
            self.K_, directed=False)
        # K is singular (one constant per piece): pin the first point of every piece
        first = np.full(self.n_components_, -1)
        first[self.labels_[::-1]] = np.arange(n)[::-1]
        self._free = np.ones(n, dtype=bool)
        self._free[first] = False
        K = self.K_.tocsr()
        self._poisson = factor_symmetric(K[self._free][:, self._free], definite=True)
        self._heat = {}                       # level -> (factor, dirichlet factor, interior)
        self._heat_factor(0)
        self._mass = self.M_.diagonal()
        self._area = np.bincount(self.labels_, self._mass, self.n_components_)
        return self

    def _heat_factor(self, level):
        if level not in self._heat:
            t = self.t_ * T_STEP ** level
            A = (self.M_ + t * self.K_).tocsr()
            lu = factor_symmetric(A, definite=True)
            dirichlet = None
            inner = ~self.boundary_mask_
            if self.boundary == "average" and self.boundary_mask_.any() and inner.any():
                dirichlet = factor_symmetric(A[inner][:, inner], definite=True)
            self._heat[level] = (lu, dirichlet, inner)
        return self._heat[level]

    def _heat_solve(self, rhs, level):
        lu, dirichlet, inner = self._heat_factor(level)
        u = lu.solve(rhs)
        if dirichlet is not None:
            ud = np.zeros_like(u)
            ud[inner] = dirichlet.solve(rhs[inner])
            # a source on the boundary keeps its heat in the Neumann half only
            u = 0.5 * (u + ud)
        return u

    def _directions(self, sources, reached):
        """Unit field ``−∇ log u / |∇ log u|`` (n, 3); underflowed rows from larger t."""
        n = self.K_.shape[0]
        rhs = np.zeros(n)
        rhs[sources] = 1.0
        X = np.zeros((n, 3))
        todo = reached.copy()
        absG = abs(self.G_)
        for level in range(MAX_LEVELS + 1):
            u = self._heat_solve(rhs, level)
            ok = reached & (u > U_FLOOR * u[sources].max())
            logu = np.log(np.where(ok, u, 1.0))
            g = (self.G_ @ logu).reshape(3, n).T
            # a row is valid when every point of its stencil kept its heat
            bad = (absG @ (~ok).astype(float)).reshape(3, n).sum(axis=0) > 0
            rows = todo & ok & ~bad
            norm = np.linalg.norm(g[rows], axis=1)
            X[rows] = -g[rows] * _fade(norm, np.median(norm) if len(norm) else 1.0)[:, None]
            todo &= ~rows
            if not todo.any():
                break
        else:
            warn(f"HeatGeodesics: the heat underflowed at {int(todo.sum())} points "
                 f"even at t = {self.t_ * T_STEP ** MAX_LEVELS:.3g}; their "
                 "distances are unreliable (pass a larger `t`)", RuntimeWarning)
        return X

    def distance(self, sources: int | ArrayLike) -> Float64Array:
        """Geodesic distance from each point to the nearest of ``sources``.

        Parameters
        ----------
        sources : int or array_like of int
            Point indices (input order). Repeated indices count once.

        Returns
        -------
        ndarray of shape (n,)
            ``0`` at the sources, ``inf`` on pieces without a source, NaN at points
            excluded as outliers.
        """
        if not hasattr(self, "_poisson"):
            raise ValueError("this HeatGeodesics is not fitted yet; call fit(geometry) first")
        src = check_sources(sources, self.K_.shape[0])
        excluded = getattr(self, "excluded_", None)
        if excluded is not None and excluded[src].any():
            raise ValueError(f"`sources` {src[excluded[src]][:5].tolist()} are excluded "
                             "outliers: choose others, or fit with outliers='keep'")
        out = self._distance(src)
        if excluded is not None:
            out[excluded] = np.nan
        return out

    def _distance(self, src):
        mode = check_option(self.multisource, MULTISOURCE_OPTIONS, name="multisource",
                            owner=type(self).__name__)
        if len(src) == 1 or mode == "joint" or (mode == "auto" and len(src) > MIN_SOURCES):
            return self._solve(src)
        # one solve per source, then the minimum: the joint heat field is smoothed where
        # the sources' fronts meet, and normalising it there bends X along the meeting line
        out = self._solve(src[:1])
        for s in src[1:]:
            np.minimum(out, self._solve(np.array([s])), out=out)
        return out

    def _solve(self, src):
        n = self.K_.shape[0]
        pieces = np.unique(self.labels_[src])
        reached = np.isin(self.labels_, pieces)
        pts, nrm = self.points_, self.normals_

        # the cone of the nearest source (in the same piece) and its surface gradient
        phi0 = np.zeros(n)
        grad0 = np.zeros((n, 3))
        for c in pieces:
            rows = np.flatnonzero(self.labels_ == c)
            sc = src[self.labels_[src] == c]
            r, j = cKDTree(pts[sc]).query(pts[rows])
            phi0[rows] = r
            d = (pts[rows] - pts[sc[j]]) / np.where(r > 0, r, 1.0)[:, None]
            grad0[rows] = d - np.einsum("ij,ij->i", d, nrm[rows])[:, None] * nrm[rows]

        X = self._directions(src, reached)
        near = reached & (phi0 < NEAR_SOURCE * self.spacing_)
        g0 = grad0[near]
        X[near] = g0 / np.maximum(np.linalg.norm(g0, axis=1), 1e-300)[:, None]

        Y = X - grad0
        Y[~reached] = 0.0
        b = self.G_.T @ (np.tile(self._mass, 3) * Y.T.ravel())
        # compatibility: zero total per piece (K·1 = 0), then pin one point per piece
        area = np.where(self._area > 0, self._area, 1.0)      # outliers' pieces: none
        b -= self._mass * (np.bincount(self.labels_, b, self.n_components_)
                           / area)[self.labels_]
        psi = np.zeros(n)
        psi[self._free] = self._poisson.solve(b[self._free])
        phi = phi0 + psi
        # the constant of each piece: φ is 0 at its sources on average
        for c in pieces:
            sc = src[self.labels_[src] == c]
            phi[self.labels_ == c] -= phi[sc].mean()
        phi = np.maximum(phi, 0.0)
        phi[src] = 0.0
        phi[~reached] = np.inf
        return phi


def geodesic_distance(geometry: Geometry, sources: int | ArrayLike, *, t: float | None = None,
                      **options: Any) -> Float64Array:
    """Geodesic distance to the nearest of ``sources`` by the heat method.

    One-shot form of :class:`HeatGeodesics` (fit it once for several queries).

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or Sampling
    sources : int or array_like of int
        Point indices.
    t : float or None, default=None
        Diffusion time; default ``T_FACTOR · h²`` (``h``: mean nearest-neighbour distance).
    **options
        Other parameters of :class:`HeatGeodesics` (``boundary``, ``t_factor``, ``k`` …).

    Returns
    -------
    ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.toolkit.geodesic import geodesic_distance
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(1500, seed=1)
    >>> d = geodesic_distance(p, [0, 1])             # to the nearer of points 0 and 1
    >>> exact = np.arccos(np.clip(p @ p[:2].T, -1, 1)).min(axis=1)
    >>> bool(np.abs(d - exact).max() < 0.1)
    True
    """
    return HeatGeodesics(t=t, **options).fit(geometry).distance(sources)
