"""Parallel transport and the logarithmic map by the vector heat method (Sharp, Soliman &
Crane 2019), on the package's weak form and heat geodesics.

**Transport.** One implicit Euler step of the vector heat equation,
``(M + t L∇) Y = Σ_s δ_s z_s``, with the connection Laplacian ``L∇``
(:mod:`o3d_meshless.vector_fields.connection`) and lumped areas ``M``: the direction of
``Y`` at a point is the source vector carried there by Levi-Civita transport along the
shortest geodesic (the vector heat kernel's direction as ``t → 0``). The lengths are
interpolated as in the paper, ``u / φ`` with ``(M + tK) u = Σ |z_s| δ_s`` and
``(M + tK) φ = Σ δ_s``. With several sources each point gets the direction of the
nearer ones (a heat-weighted blend where their regions meet).

**Logarithmic map** ``log_s(x) = r e^{iα}`` in the source's frame ``(t_u, t_v)``:

* ``r``: the heat-method geodesic distance (:class:`~o3d_meshless.HeatGeodesics`, 0.27 %
  median error on a 20 000-point sphere);
* the radial direction ``R`` (the geodesic's unit velocity at ``x``): ``−∇ log u`` of a
  scalar heat step ``(M + t_R K) u = δ_s`` with a longer time ``t_R = 8 h²``;
  Varadhan's formula makes it the direction away from the source, and the longer time
  averages out the sampling's irregularity (on the 20 000-point sphere: median 1.8° at
  ``2h²``, 0.65° at ``8h²``, 0.5° at ``16h²``; the gradient of the distance ``r`` itself,
  1.5°, carries the Poisson solve's noise). Within ``4h`` of the source, ``R`` is the
  direction of ``x − x_s`` in ``x``'s tangent plane; at open-boundary points (where the
  heat's gradient bends along the boundary) the gradient of ``r``. (The paper diffuses
  the source's one-ring of radial vectors instead: on i.i.d. points the ring is
  unbalanced and far away its outermost point dominates, 11° median on the sphere.)
* ``T``: the transported source vector ``t_u`` (first bullet, one complex solve);
  the angle is ``α = arg(R / T)``, since transport keeps angles.

Time steps, in units of ``h²`` (``h``: mean nearest-neighbour distance): ``4 h²`` for
the vector step, ``8 h²`` for the radial heat, ``2 h²`` for the distance (its default).
Longer vector steps average the sampling better (great circles of a 20 000-point sphere,
angles 0.05–2.5, median / p99: 0.42° / 4.0° at ``2h²``, 0.23° / 2.1° at ``4h²``,
0.13° / 1.1° at ``8h²``) but blend geodesics of nearly equal length near the cut locus
(ellipsoid 1, 0.6, 0.3: p99 6.5° at ``2h²``, 7.8° at ``4h²``, 10.3° at ``8h²``); the
radial step likewise (below). Measured by ``benchmarks/bench_vector_fields.py``, whose
docstring has the full table beside potpourri3d.

**Near the cut locus.** One implicit step's kernel decays like ``e^{−d/√t}``, not
``e^{−d²/4t}``: where a second branch of geodesics arrives ``Δd`` longer than the
shortest, it weighs ``e^{−Δd/√t}`` in ``u`` and ``Y``, and ``R`` and ``T`` turn towards
it. The errors sit there: torus (R 1, r 0.4), 20 000 points, source on the outer side,
``t_R = 16h²``: direction median / p99 9.0° / 32° where another branch is less than 5 %
longer, 3.6° / 24° at 5–8 %, 1.5° / 12° at 8–12 %, 0.48° / 2.4–3.2° beyond 20 %. Several
steps of ``t/k`` (a more Gaussian kernel) or smoothing ``R`` afterwards trade that
blending for sampling noise everywhere, since both are set by the kernel's width at
distance ``d`` (``16h²`` in 4 steps: torus p99 14.6° → 9.9°, median 0.60° → 1.15°).
The radial time balances the two: log-map direction median / p99 at
``t_R`` = 6, 8, 10, 12, 16 ``h²`` — sphere 0.75 / 3.7, 0.65 / 3.2, 0.59 / 3.0,
0.56 / 2.8, 0.51 / 2.7°; ellipsoid 0.81 / 4.8, 0.68 / 4.6, 0.60 / 4.9, 0.55 / 5.4,
0.50 / 6.8°; torus 1.0 / 10.4, 0.87 / 11.3, 0.77 / 12.3, 0.70 / 13.2, 0.60 / 14.6°. No
setting meets both the sphere's p99 (4°) and the torus's over all targets (8°); ``8h²``
keeps the sphere within 1° / 4° and cuts the curved shapes' p99 by a third. At ``8h²``
the torus's targets whose other branches are all at least 3 ``√t_R`` longer (96 % of
them) have 0.83° / 5.2°, those within 1–2 ``√t_R`` 13° / 28°.

Open boundaries: all three heat steps use the weak form's natural (Neumann) condition.
Points farther than about 700 ``√t`` from every source underflow (no direction: NaN).
All factorisations are made in ``fit`` and reused by every query.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from .._params import Params
from .._validation import n_threads_from_workers
from .._typing import ArrayLike, Float64Array, Geometry
from ..operators.sparse_solve import factor_symmetric
from ..toolkit.geodesic import T_FACTOR, HeatGeodesics, check_sources, check_time
from .connection import connection_matrix, to_complex, to_vectors
from .surface import check_tangent, oriented_frames

__all__ = ["VectorHeat", "transport_vectors", "log_map", "VECTOR_T_FACTOR",
           "RADIAL_T_FACTOR"]

#: vector heat step ``t = VECTOR_T_FACTOR · h²``
VECTOR_T_FACTOR = 4.0
#: radial direction's heat step ``t = RADIAL_T_FACTOR · h²``
RADIAL_T_FACTOR = 8.0
#: within this many spacings of the source the radial direction is the analytic one
NEAR_SOURCE = 4.0
#: heat below this share of its largest value has underflowed (no direction)
FLOOR = 1e-250


class VectorHeat(Params):
    """Parallel transport and logarithmic map by the vector heat method, factorised once.

    ``fit`` builds the weak form, the connection Laplacian and the heat geodesics on one
    shared sampling and factorises ``M + tL∇`` (complex), ``M + t_R K`` and ``M + tK``;
    every query is then a few triangular solves. See
    :mod:`o3d_meshless.vector_fields.vector_heat` for the method and measured errors.

    Parameters
    ----------
    t_factor : float, default=VECTOR_T_FACTOR (4)
        Vector heat step ``t = t_factor · h²`` (``h``: mean nearest-neighbour distance).
    radial_t_factor : float, default=RADIAL_T_FACTOR (8)
        Heat step of the log map's radial direction.
    distance_t_factor : float, default=2
        Heat step of the geodesic distance (:class:`~o3d_meshless.HeatGeodesics`).
    k, normals, height_order, workers :
        As in :class:`~o3d_meshless.LaplaceBeltrami`.
    orient : {"mst", "outward", None}, default="mst"
        Normal orientation (vectors need one).

    Attributes
    ----------
    frames_ : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)`` per input point, normals oriented; log-map coordinates
        are in the source's ``(t_u, t_v)``.
    L_ : scipy.sparse.csr_matrix of shape (n, n), complex128
        Connection Laplacian.
    geodesics_ : HeatGeodesics
        The fitted distance solver (``K_``, ``M_``, ``G_``, ``sampling_``).
    t_, radial_t_, spacing_ : float

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(3000, seed=0)
    >>> vh = om.VectorHeat().fit(p)
    >>> uv = vh.log_map(0)                              # (n, 2) in point 0's frame
    >>> exact = np.arccos(np.clip(p @ p[0], -1, 1))     # great-circle distance
    >>> far = exact > 0.1
    >>> bool(np.median(abs(np.hypot(*uv.T) - exact)[far] / exact[far]) < 0.01)
    True
    >>> v = vh.transport_vectors(0, vh.frames_[0, 0])   # carry t_u of point 0
    >>> v.shape
    (3000, 3)
    """

    def __init__(self, *, t_factor: float = VECTOR_T_FACTOR,
                 radial_t_factor: float = RADIAL_T_FACTOR,
                 distance_t_factor: float = T_FACTOR, k: int = 16,
                 normals: str | ArrayLike = "auto", height_order: int = 2,
                 orient: str | None = "mst", workers: int = -1) -> None:
        self.t_factor = t_factor
        self.radial_t_factor = radial_t_factor
        self.distance_t_factor = distance_t_factor
        self.k = k
        self.normals = normals
        self.height_order = height_order
        self.orient = orient
        self.workers = workers

    def fit(self, geometry: Geometry) -> VectorHeat:
        """Build the operators and factorise; ``geometry`` may be a ``Sampling``."""
        check_time(self.t_factor, name="t_factor")
        check_time(self.radial_t_factor, name="radial_t_factor")
        n_threads_from_workers(self.workers)
        hg = HeatGeodesics(t_factor=self.distance_t_factor, k=self.k,
                           normals=self.normals, height_order=self.height_order,
                           orient=self.orient, workers=self.workers).fit(geometry)
        self.geodesics_ = hg
        self.sampling_ = hg.sampling_
        self.points_ = hg.points_
        self.frames_ = oriented_frames(hg.sampling_)
        self.spacing_ = hg.spacing_
        self.t_ = self.t_factor * self.spacing_ ** 2
        self.radial_t_ = self.radial_t_factor * self.spacing_ ** 2
        self.L_ = connection_matrix(hg.K_, self.frames_, diagonal="stiffness",
                                    points=self.points_)
        self._mass = hg.M_.diagonal()
        self._vector = factor_symmetric(sparse.csc_matrix(hg.M_ + self.t_ * self.L_))
        A = (hg.M_ + self.radial_t_ * hg.K_).tocsr()
        self._radial = factor_symmetric(A, definite=True)
        # open boundary: the mean of the Neumann and Dirichlet heat, as for the distance
        # (Neumann alone turns ∇u along the boundary: 65° p99 on a flat square)
        self._inner = ~hg.boundary_mask_
        self._radial_dirichlet = None
        if hg.boundary_mask_.any() and self._inner.any():
            self._radial_dirichlet = factor_symmetric(A[self._inner][:, self._inner],
                                                      definite=True)
        self._scalar = None                      # M + tK, made on the first blend
        return self

    # ------------------------------------------------------------------ queries
    def _check_fitted(self):
        if not hasattr(self, "_vector"):
            raise ValueError("this VectorHeat is not fitted yet; call fit(geometry) first")

    def _sources(self, sources, *, name="sources"):
        n = self.L_.shape[0]
        excluded = self.geodesics_.excluded_
        arr = np.atleast_1d(np.asarray(sources))
        src = check_sources(sources, n, name=name)
        if len(src) != arr.size:
            raise ValueError(f"`{name}` must not repeat a point (each source has one "
                             "vector); got repeated indices")
        if excluded is not None and excluded[src].any():
            raise ValueError(f"`{name}` {src[excluded[src]][:5].tolist()} are excluded "
                             "outliers: choose others, or fit with outliers='keep'")
        return arr.astype(np.intp)

    def transport_vectors(self, sources: int | ArrayLike,
                          vectors: ArrayLike) -> Float64Array:
        """Parallel transport of tangent vectors from ``sources`` to every point.

        Parameters
        ----------
        sources : int or array_like of int, shape (m,)
            Point indices (input order), distinct.
        vectors : array_like of shape (m, 3), or (3,) for one source
            Tangent vectors at the sources (a normal component up to 1 % of the length
            is projected away; more is an error).

        Returns
        -------
        ndarray of shape (n, 3)
            The transported vectors (tangent at each point). Lengths: the source's, or
            a heat-weighted blend of the sources' lengths. NaN where the heat
            underflowed or at excluded outliers.
        """
        self._check_fitted()
        src = self._sources(sources)
        normals = self.frames_[src, 2]
        vec = check_tangent(vectors, normals, name="vectors",
                            fix_hint=" (vh.frames_[sources, 2])")
        z = to_complex(vec, self.frames_[src])
        Y = self._transport(src, z)
        return to_vectors(Y, self.frames_)

    def _transport(self, src, z):
        n = self.L_.shape[0]
        rhs = np.zeros(n, dtype=np.complex128)
        rhs[src] = z
        Y = self._vector.solve(rhs)
        size = np.abs(Y)
        dead = size <= FLOOR * size.max()
        out = Y / np.where(dead, 1.0, size)
        lengths = np.abs(z)
        if len(src) > 1 and not np.allclose(lengths, lengths[0]):
            if self._scalar is None:
                K, M = self.geodesics_.K_, self.geodesics_.M_
                self._scalar = factor_symmetric(M + self.t_ * K, definite=True)
            b = np.zeros(n)
            b[src] = lengths
            u = self._scalar.solve(b)
            b[src] = 1.0
            phi = self._scalar.solve(b)
            out = out * (u / np.where(phi > 0, phi, 1.0))
        else:
            out = out * lengths[0]
        out[dead] = np.nan
        if self.geodesics_.excluded_ is not None:
            out[self.geodesics_.excluded_] = np.nan
        return out

    def log_map(self, source: int) -> Float64Array:
        """Logarithmic map: 2-D coordinates of every point in the source's tangent plane.

        Parameters
        ----------
        source : int
            Point index (input order).

        Returns
        -------
        ndarray of shape (n, 2)
            ``(u, v)`` in the source's frame ``(frames_[source, 0], frames_[source, 1])``:
            the point lies at geodesic distance ``hypot(u, v)`` in the direction
            ``u t_u + v t_v`` leaving the source. Beyond the cut locus the direction is
            the one of the shortest geodesic on either side (a jump across it). NaN at
            excluded outliers and points the heat did not reach.
        """
        self._check_fitted()
        n = self.L_.shape[0]
        if isinstance(source, (bool, np.bool_)) or not isinstance(source, (int, np.integer)):
            raise ValueError(f"`source` must be one point index (an int); got {source!r}")
        s = int(self._sources(source, name="source")[0])
        hg = self.geodesics_
        r = hg.distance(s)
        T = self._transport(np.array([s]), np.array([1.0 + 0j]))
        b = np.zeros(n)
        b[s] = 1.0
        u = self._radial.solve(b)
        if self._radial_dirichlet is not None:
            ud = np.zeros(n)
            ud[self._inner] = self._radial_dirichlet.solve(b[self._inner])
            u = 0.5 * (u + ud)
        ok = u > FLOOR * u.max()
        g = -(hg.G_ @ np.log(np.where(ok, u, 1.0))).reshape(3, n).T
        R = to_complex(g, self.frames_)
        # underflow, and open-boundary points (the heat's gradient is bent along the
        # boundary there): the distance's gradient
        fallback = ~ok | (np.abs(R) == 0) | hg.boundary_mask_
        if fallback.any():
            gr = (hg.G_ @ np.where(np.isfinite(r), r, 0.0)).reshape(3, n).T
            R[fallback] = to_complex(gr[fallback], self.frames_[fallback])
        e = self.points_ - self.points_[s]
        near = np.linalg.norm(e, axis=1) < NEAR_SOURCE * self.spacing_
        R[near] = to_complex(e[near], self.frames_[near])
        R[s] = 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            z = r * (R / np.abs(R)) / T
        z[s] = 0.0
        return np.c_[z.real, z.imag]


def transport_vectors(geometry: Geometry, sources: int | ArrayLike, vectors: ArrayLike,
                      **options: Any) -> Float64Array:
    """Parallel transport of tangent vectors from ``sources`` to every point.

    One-shot form of :class:`VectorHeat` (fit it once for several queries).

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or Sampling
    sources : int or array_like of int, shape (m,)
    vectors : array_like of shape (m, 3), or (3,) for one source
        Tangent vectors at the sources.
    **options
        Parameters of :class:`VectorHeat`.

    Returns
    -------
    ndarray of shape (n, 3)

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(2000, seed=2)
    >>> v0 = np.cross(p[0], [0, 0, 1.0]); v0 /= np.linalg.norm(v0)
    >>> V = om.transport_vectors(p, 0, v0)
    >>> bool(np.allclose(np.linalg.norm(V, axis=1), 1.0))          # unit length kept
    True
    >>> bool(np.abs(np.einsum("ij,ij->i", V, p)).max() < 0.05)     # tangent
    True
    """
    return VectorHeat(**options).fit(geometry).transport_vectors(sources, vectors)


def log_map(geometry: Geometry, source: int, **options: Any) -> Float64Array:
    """Logarithmic map from ``source``: (n, 2) coordinates in its tangent frame.

    One-shot form of :meth:`VectorHeat.log_map` (the frame is
    ``VectorHeat(...).fit(geometry).frames_[source]``; fit a :class:`VectorHeat` to
    reuse it and its factorisations).

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or Sampling
    source : int
    **options
        Parameters of :class:`VectorHeat`.

    Returns
    -------
    ndarray of shape (n, 2)

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(2000, seed=1)
    >>> uv = om.log_map(p, 0)
    >>> uv.shape, bool(np.allclose(uv[0], 0))
    ((2000, 2), True)
    """
    return VectorHeat(**options).fit(geometry).log_map(source)
