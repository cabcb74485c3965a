"""Vector calculus on per-point fields: gradient (Jacobian), divergence, curl, Laplacian.

One entry for volumetric/planar point sets and for surfaces, built by default on seed
000's moment coefficients (``method="moments"``, :mod:`o3d_meshless.stencils.moments`):

    ∇Y ≈ Σ a_k b_k ⊗ dY_k,   ∇·Y ≈ Σ a_k b_k · dY_k,   ∇×Y ≈ Σ a_k b_k × dY_k,
    ΔY ≈ Σ 2 a_k dY_k,       dY_k = Y_k − Y_0.

Where the field lives (``surface`` keyword)
------------------------------------------
``surface=None`` (default) decides by the input: a NumPy array (or list) of shape (n, 2)
is **planar** data, of shape (n, 3) **volumetric** data (scattered points filling a
region of R³; :class:`o3d_meshless.ScatteredDerivatives`); an Open3D / trimesh geometry
(or a dict with ``"points"``) is a **surface** (tangent-plane stencils of
:class:`o3d_meshless.SurfaceGradient` / :class:`o3d_meshless.LaplaceBeltrami`). Pass
``surface=True`` for an (n, 3) array of surface samples, ``surface=False`` to treat a
geometry's points as volumetric.

On surfaces all derivatives are tangential (``∇_S``), fields are given by their 3
ambient components, ``field_divergence`` is the surface divergence (intrinsic for tangent
fields), ``curl`` returns the normal component ``n·(∇_S × V)`` (a scalar per point, its
sign relative to ``normals_``: pass ``orient="outward"`` or ``"mst"`` for consistently
oriented normals — the default leaves PCA normals unoriented) and
``field_laplacian`` is the Laplace–Beltrami operator applied componentwise.

Accuracy (``h`` = neighbourhood radius)
---------------------------------------
``method="moments"``: gradient, Jacobian, divergence and curl are **first order**
(exact for linear fields, error ``O(h)``: the third moments of ``a`` are free); the
Laplacian is exact for quadratics and equals the unweighted order-2 Taylor Laplacian
(error ``O(h)`` on irregular stencils, ``O(h²)`` on symmetric ones). For accurate
gradients, divergence or curl pass ``method="taylor", order=3`` (gradient ``O(h³)``;
on surfaces ``O(h²)`` overall from the estimated normals).

Sparse matrices (:class:`FieldCalculus` after ``fit``) act on component-major stacks
``V.T.ravel()``: ``G_`` (D·n × n), ``D_`` (n × D·n), ``C_`` (3n × 3n in volumes, n × 2n
planar, n × 3n on surfaces), ``L_`` (n × n, ``L_ ≈ −Δ``, the package convention).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from .._params import Params
from .._validation import check_bool, check_values
from .._typing import ArrayLike, Float64Array, Geometry

__all__ = ["FieldCalculus", "field_gradient", "field_divergence", "curl", "field_laplacian"]


def _is_array(x):
    return isinstance(x, (np.ndarray, list, tuple))


class FieldCalculus(Params):
    """Sparse gradient, divergence, curl and Laplacian matrices of a point set or surface.

    Parameters
    ----------
    surface : bool or None, default=None
        See the module docstring: ``None`` = arrays are planar/volumetric, geometries are
        surfaces.
    method : {"moments", "taylor"}, default="moments"
        Stencil method. ``"moments"`` has its order fixed at 2 (first-order gradient,
        Laplacian of the quadratic fit).
    k : int or None, default=None
        Neighbours per point; ``None``: the underlying operator's default (``d(d+3)`` for
        moments on point sets, 16 on surfaces).
    order : int or None, default=None
        For ``method="taylor"``: Taylor order of the gradient (default 3 on surfaces, 2
        on point sets); the Laplacian uses ``max(order, 2)``. Must be ``None`` or 2 for
        ``"moments"``.
    workers : int, default=-1
    **options
        Further options of the underlying operators (surface: ``normals``, ``orient``,
        ``guard``, ``height_order`` …; point sets: ``guard``).

    Attributes
    ----------
    G_, D_, C_, L_ : scipy.sparse.csr_matrix (see the module docstring)
    points_ : ndarray of shape (n, D)
    surface_ : bool
    normals_ : ndarray of shape (n, 3) or None (surfaces only)
    diagnostics_ : dict — of the gradient operator

    Examples
    --------
    Fit once on a planar point set, then apply the matrices to several fields:

    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).uniform(size=(2000, 2))
    >>> fc = om.FieldCalculus().fit(p)
    >>> fc.G_.shape, fc.D_.shape, fc.L_.shape
    ((4000, 2000), (2000, 4000), (2000, 2000))
    >>> bool(np.allclose(fc.divergence(p), 2)), bool(np.allclose(fc.laplacian((p ** 2).sum(1)), 4))
    (True, True)
    """

    def __init__(self, *, surface: bool | None = None, method: str = "moments",
                 k: int | None = None, order: int | str | None = None, workers: int = -1,
                 **options: Any) -> None:
        self.surface = surface
        self.method = method
        self.k = k
        self.order = order
        self.workers = workers
        self.options = options

    def fit(self, geometry_or_points: Geometry) -> FieldCalculus:
        """Build the matrices for ``geometry_or_points``; returns ``self``."""
        from ..stencils import get_method

        spec = get_method(self.method, owner="FieldCalculus")
        if spec.fixed_order is not None and self.order not in (None, spec.fixed_order):
            raise ValueError(f"`order` of FieldCalculus must be None or {spec.fixed_order} for "
                             f"method {spec.name!r} (its order is fixed); got {self.order!r}")
        x = geometry_or_points
        surface = self.surface
        if surface is None:
            surface = not _is_array(x)
        check_bool(surface, name="surface", owner="FieldCalculus")
        if surface:
            self._fit_surface(x)
        else:
            self._fit_points(x)
        self.surface_ = bool(surface)
        self._build_div_curl()
        return self

    def _fit_surface(self, x):
        from ..operators.gradient_divergence import LaplaceBeltrami, SurfaceGradient
        from ..sampling.sampled_surface import Sampling, prepare

        opts = dict(self.options, method=self.method, workers=self.workers)
        if self.k is not None:
            opts["k"] = self.k
        gopts, lopts = dict(opts), dict(opts)
        if self.order is not None:
            gopts["order"] = self.order
            lopts["order"] = max(self.order, 2)
        # one k-NN and frames pass shared by both operators (a Sampling carries them)
        shared = {key: opts[key] for key in ("k", "normals", "height_order", "orient",
                                              "workers", "progress") if key in opts}
        sampling = x if isinstance(x, Sampling) else prepare(x, **shared)
        grad = SurfaceGradient(**gopts).fit(sampling)
        lap = LaplaceBeltrami(**lopts).fit(sampling)
        self.G_, self.L_ = grad.G_, lap.L_
        self.points_, self.normals_ = grad.points_, grad.normals_
        self.diagnostics_ = grad.diagnostics_

    def _fit_points(self, x):
        from ..sampling.adapters import as_points
        from .scattered_derivatives import ScatteredDerivatives

        pts = as_points(x, dims=(2, 3), name="points")
        order = 2 if self.order is None else self.order
        opts = dict(self.options, method=self.method, k=self.k, workers=self.workers)
        grad = ScatteredDerivatives(order=order, **opts).fit(pts)
        if grad.L_ is None:                       # taylor, order 1: Laplacian from order 2
            lap = ScatteredDerivatives(order=2, **dict(opts, k=None)).fit(pts)
            grad.L_ = lap.L_
        self.G_, self.L_ = grad.G_, grad.L_
        self.points_, self.normals_ = grad.points_, None
        self.diagnostics_ = grad.diagnostics_

    def _build_div_curl(self):
        n = self.G_.shape[1]
        D = self.G_.shape[0] // n
        g = [self.G_[c * n:(c + 1) * n] for c in range(D)]
        self.D_ = sparse.hstack(g, format="csr")
        Z = sparse.csr_matrix((n, n))
        if D == 2:
            self.C_ = sparse.hstack([-g[1], g[0]], format="csr")
        elif not self.surface_:
            self.C_ = sparse.bmat([[Z, -g[2], g[1]], [g[2], Z, -g[0]], [-g[1], g[0], Z]],
                                  format="csr")
        else:
            # n·(∇_S × V) = Σ ε_ijk n_i ∂_j V_k: block k = Σ_ij ε_ijk diag(n_i) G_j
            nd = [sparse.diags(self.normals_[:, i]) for i in range(3)]
            blocks = []
            for kk in range(3):
                i, j = (kk + 1) % 3, (kk + 2) % 3     # ε_ijk = +1 for cyclic (i, j, k)
                blocks.append(nd[i] @ g[j] - nd[j] @ g[i])
            self.C_ = sparse.hstack(blocks, format="csr")
        self.dim_ = D

    # -- application ---------------------------------------------------------------
    def _field(self, field, name="field"):
        if not hasattr(self, "G_"):
            raise ValueError("this FieldCalculus is not fitted yet; call fit(...) first")
        arr = np.asarray(field)
        n = self.G_.shape[1]
        if arr.ndim == 0 or arr.shape[0] != n:
            raise ValueError(f"`{name}` must have one row per point ({n}); got shape "
                             f"{arr.shape}")
        flat = check_values(arr.reshape(n, -1), n, name=name)
        return flat, arr.shape[1:]

    def _vector(self, field, name="field"):
        flat, trail = self._field(field, name)
        if trail != (self.dim_,):
            raise ValueError(f"`{name}` must be a vector field of shape (n, {self.dim_}); got "
                             f"(n, {', '.join(map(str, trail))})")
        return flat

    def gradient(self, field: ArrayLike) -> Float64Array:
        """∇ of a scalar (n,) → (n, D); of a field (n, *s) → (n, *s, D), e.g. the Jacobian
        ``J[i, a, b] = ∂V_a/∂x_b`` (n, D, D) of a vector field."""
        flat, trail = self._field(field)
        n, D = flat.shape[0], self.dim_
        g = (self.G_ @ flat).reshape(D, n, -1).transpose(1, 2, 0)
        return np.ascontiguousarray(g.reshape((n,) + trail + (D,)))

    def divergence(self, field):
        """∇·V of a vector field (n, D) → (n,); of a tensor (n, *s, D) → (n, *s),
        contracting the last index."""
        flat, trail = self._field(field)
        if not trail or trail[-1] != self.dim_:
            raise ValueError(f"`field` must have a last axis of length {self.dim_} (a vector "
                             f"or tensor field); got shape {(flat.shape[0],) + trail}")
        if trail == (self.dim_,):
            return self.D_ @ flat.T.ravel()
        return np.trace(self.gradient(field), axis1=-2, axis2=-1)

    def curl(self, field):
        """∇×V: volumes (n, 3) → (n, 3); planar (n, 2) → (n,) ``∂_x V_y − ∂_y V_x``;
        surfaces (n, 3) → (n,) the normal component ``n·(∇_S × V)``."""
        flat = self._vector(field)
        out = self.C_ @ flat.T.ravel()
        if self.C_.shape[0] == flat.shape[0]:
            return out
        return np.ascontiguousarray(out.reshape(3, -1).T)

    def laplacian(self, field: ArrayLike) -> Float64Array:
        """ΔY componentwise: (n,) → (n,), (n, *s) → (n, *s) (``= −L_ @ Y``)."""
        flat, trail = self._field(field)
        out = -(self.L_ @ flat)
        return out.reshape((flat.shape[0],) + trail)


def _fit(x, surface, method, options):
    return FieldCalculus(surface=surface, method=method, **options).fit(x)


def field_gradient(geometry_or_points: Geometry, field: ArrayLike, *, surface: bool | None = None,
                   method: str = "moments", **options: Any) -> Float64Array:
    """Gradient of a scalar (n,) → (n, D), or Jacobian of a vector field (n, D) → (n, D, D)
    (``J[i, a, b] = ∂V_a/∂x_b``), or of any tensor field (n, *s) → (n, *s, D).

    ``options``: ``k``, ``order``, ``workers`` … of :class:`FieldCalculus`. First order
    with ``method="moments"``; use ``method="taylor", order=3`` for accurate gradients.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).uniform(size=(2000, 3))
    >>> J = om.field_gradient(p, p @ np.array([[1., 2, 0], [0, 1, 0], [3, 0, 1]]).T)
    >>> bool(np.allclose(J, [[1, 2, 0], [0, 1, 0], [3, 0, 1]]))
    True
    """
    return _fit(geometry_or_points, surface, method, options).gradient(field)


def field_divergence(geometry_or_points: Geometry, field: ArrayLike, *, surface: bool | None = None,
                     method: str = "moments", **options: Any) -> Float64Array:
    """Divergence of a vector field (n, D) → (n,) (tensor fields: last index contracted).

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).uniform(size=(2000, 3))
    >>> bool(np.allclose(om.field_divergence(p, p - 0.5), 3))      # radial field: div = d
    True
    """
    return _fit(geometry_or_points, surface, method, options).divergence(field)


def curl(geometry_or_points: Geometry, field: ArrayLike, *, surface: bool | None = None,
         method: str = "moments", **options: Any) -> Float64Array:
    """Curl: (n, 3) → (n, 3) in volumes; (n, 2) → (n,) in the plane; n·curl (n,) on surfaces.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).uniform(size=(2000, 3))
    >>> w = np.array([0.0, 0.0, 1.5])
    >>> bool(np.allclose(om.curl(p, np.cross(w, p)), 2 * w))       # rotation: curl = 2ω
    True
    """
    return _fit(geometry_or_points, surface, method, options).curl(field)


def field_laplacian(geometry_or_points: Geometry, field: ArrayLike, *, surface: bool | None = None,
                    method: str = "moments", **options: Any) -> Float64Array:
    """Laplacian of a scalar, vector or tensor field, componentwise: (n, *s) → (n, *s).

    On surfaces the Laplace–Beltrami operator of each ambient component.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).uniform(size=(2000, 2))
    >>> lap = om.field_laplacian(p, p ** 2)          # a vector field (x², y²): Δ = (2, 2)
    >>> lap.shape, bool(np.allclose(lap, 2))
    ((2000, 2), True)
    """
    return _fit(geometry_or_points, surface, method, options).laplacian(field)
