"""Derivatives of scattered data in R² and R³ (planar and volumetric point sets).

Each point's ``k`` nearest neighbours give a centre-constrained Taylor least-squares
stencil of order ``n`` (Turner et al., §2–3) in the ambient coordinates — no tangent
projection. Every derivative up to order ``n`` becomes a sparse matrix; error bounds of
the gradient (Bound1/Bound2 of Turner et al., see :mod:`o3d_meshless.scattered.bounds`) come per point
with ``bounds=True``.

Conventions: ``G_`` (d·n × n) stacks the x, y(, z) blocks like the surface gradient, so
``(G_ @ f).reshape(d, n).T`` is the gradient; ``L_`` approximates **−Δ** (the package's
convention for Laplacians), so :meth:`ScatteredDerivatives.laplacian` returns
``Δf = −L_ @ f``.

Rank deficiency: a stencil whose design matrix has numerical rank below the number of
unknowns (e.g. all of its neighbours on one line) is recomputed with more neighbours (up
to 3×k, ``guard=True``); stencils still rank-deficient, or all of them with
``guard=False``, are flagged in ``diagnostics_["rank_deficient"]`` and a
``RuntimeWarning`` is raised (their values are minimum-norm least-squares solutions and
must not be trusted). Coincident points are merged (they share one stencil; values at
merged points are averaged).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from .._params import Params
from ..operators import assembly
from .._validation import (check_bool, check_int, check_option, check_values,
                          n_threads_from_workers)
from .bounds import bound_factors, error_bounds
from ..operators.guard import RCOND_MIN, guarded_stencils, highest_complete_stencils
from ..sampling.neighbors import knn
from ..stencils import METHODS, get_method, method_options, weight_power_from
from .._warnings import warn
from .._typing import ArrayLike, Float64Array, Geometry

__all__ = ["ScatteredDerivatives", "scattered_gradient", "scattered_hessian",
           "scattered_laplacian"]


def _unit(dim, *axes):
    m = [0] * dim
    for a in axes:
        m[a] += 1
    return tuple(m)


class ScatteredDerivatives(Params):
    """Sparse derivative matrices of scattered data in R² or R³ (Taylor least-squares stencils, Turner et al.).

    Parameters
    ----------
    k : int or None, default=None
        Neighbours per point (centre excluded); at least the number of unknowns ``p``
        (5 for order 2, 9 for order 3 in 2-D; 9 and 19 in 3-D). ``None`` uses ``2p``.
        With ``method="moments"``: ``k > d(d+3)/2`` (6 in 2-D, 10 in 3-D), default
        ``d(d+3)`` (10, 18).
    method : {"taylor", "moments", "orthopoly", "clsgsp", "lsgsp"}, default="taylor"
        ``"clsgsp"``/``"lsgsp"``: Ying et al.'s ghost-sample-point stencils (``order`` = the
        polynomial degree 1–4, derivatives of order 1 and 2 in ``D_``; options ``rbf``,
        ``shape``, ``ghosts``; default ``k`` = max(2p, 20, number of ghosts)). ``"moments"``: moment coefficients — ``D_`` then holds the first
        derivatives only, ``H_`` is ``None`` and ``L_`` is the moment Laplacian (equal to
        the unweighted order-2 Taylor one); ``order`` must be 2, ``weights`` ``None`` and
        ``bounds`` ``False``. ``"orthopoly"``: Carley's discrete orthonormal
        polynomials with rank-revealing monomial selection (see ``centre``); derivatives a
        stencil's basis cannot represent are NaN in ``D_`` (flagged per point in
        ``diagnostics_``), never zero.
    order : int or "highest-complete", default=2
        Taylor order ``n`` (1–4). Gradient error ``O(h^n)``, second derivatives
        ``O(h^{n−1})``; Hessians and Laplacians need ``n ≥ 2``. With
        ``method="orthopoly"``, ``"highest-complete"`` picks per point the highest order
        ≤ 4 whose monomial set the ``k`` neighbours support completely (no guard; ``D_``
        holds every derivative up to 4, NaN where a point's order is lower).
    centre : {"interpolate", "least-squares"} or None, default=None
        ``"orthopoly"`` only (``None`` = ``"interpolate"``): fit through the centre value,
        or the published variant with the centre as a least-squares point.
    rbf, shape, ghosts : optional
        ``"clsgsp"``/``"lsgsp"`` only (see :mod:`o3d_meshless.stencils.gsp`).
    weights : None or int, default=None
        ``None``: unweighted Taylor rows; ``0``: Turner et al.'s classical least squares;
        ``d`` in 1..4: the paper's weights ``h_i^{-d}``.
    guard : bool, default=True
        Recompute rank-deficient stencils with more neighbours (no diagonal-dominance
        test here). ``False`` keeps exactly ``k`` neighbours (as in Turner et al.'s tables)
        and only flags rank-deficient stencils.
    bounds : bool, default=False
        Compute Turner et al.'s gradient error bounds per point into ``bounds_``.
    lipschitz : float, array_like of shape (n,) or None
        ``ϑ_max`` multiplying the bounds (needs ``bounds=True``); ``None`` leaves the
        geometric factors ``h_max^n w_max √Σ‖ν_i‖₁^{2n} / ((n+1)! σ)``.
    workers : int, default=-1
        Threads (SciPy's meaning: -1 = all cores).

    Attributes
    ----------
    D_ : dict
        Multi-index (e.g. ``(1, 0)``, ``(0, 2)``, ``(1, 1, 0)``) → CSR (n × n) matrix:
        ``D_[(1, 0)] @ f ≈ ∂f/∂x`` at every point. All derivatives up to ``order``.
    G_ : scipy.sparse.csr_matrix of shape (d·n, n)
        Stacked gradient blocks: ``(G_ @ f).reshape(d, n).T`` is the (n, d) gradient.
    H_ : scipy.sparse.csr_matrix of shape (d·d·n, n) or None
        Stacked Hessian blocks ``(i, j)`` row-major; ``None`` for ``order=1``.
    L_ : scipy.sparse.csr_matrix of shape (n, n) or None
        ``L_ @ f ≈ −Δf`` (rows sum to zero); ``None`` for ``order=1``.
    points_ : ndarray of shape (n, d)
    bounds_ : dict or None
        With ``bounds=True``: per point ``bound1``, ``bound2`` (× ``lipschitz`` if
        given), ``factor1``, ``factor2``, ``h_max``, ``sum_nu``, ``w_max``,
        ``sigma_min_A``, ``sigma_min_A21`` (see :func:`o3d_meshless.scattered.bounds.error_bounds`).
        The bounds are absolute; divide by ``‖∇f‖`` for the paper's relative ones.
    diagnostics_ : dict
        ``rcond``, ``rank`` (per point), ``rank_deficient`` (bool per point),
        ``n_rank_deficient``, ``k_used``, ``enlarged``, ``n_coincident``, ``guard_attempts``;
        with ``method="orthopoly"`` also per point ``complete_order``, ``rejected_mask``
        (bit ``c`` = ``stencils.orthopoly.candidates(4, d, constant)[c]`` rejected; the
        constant is a candidate only for ``centre="least-squares"``), ``n_rejected`` and
        ``order_used``. A derivative of degree above a point's complete order is NaN.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).uniform(size=(2000, 2))
    >>> op = om.ScatteredDerivatives(order=3).fit(p)
    >>> g = op.gradient(np.sin(p[:, 0]) * p[:, 1])
    >>> exact = np.c_[np.cos(p[:, 0]) * p[:, 1], np.sin(p[:, 0])]
    >>> bool(np.abs(g - exact).max() < 1e-4)
    True
    """

    def __init__(self, *, k: int | None = None, order: int | str = 2,
                 weights: int | str | None = None, guard: bool = True, bounds: bool = False,
                 lipschitz: float | ArrayLike | None = None, workers: int = -1,
                 method: str = "taylor", centre: str | None = None, rbf: str | None = None,
                 shape: float | None = None, ghosts: str | int | ArrayLike | None = None) -> None:
        self.method = method
        self.centre = centre
        self.rbf = rbf
        self.shape = shape
        self.ghosts = ghosts
        self.k = k
        self.order = order
        self.weights = weights
        self.guard = guard
        self.bounds = bounds
        self.lipschitz = lipschitz
        self.workers = workers

    def _check_params(self, dim):
        """Validate the options for ``dim``-D points; return the rank of a healthy stencil."""
        name = type(self).__name__
        spec = self._spec = get_method(self.method, owner=name)
        self._kernel_options = opts = method_options(
            spec, centre=self.centre, rbf=self.rbf, shape=self.shape, ghosts=self.ghosts,
            owner=name)
        self._highest = isinstance(self.order, str) and bool(spec.order_policies)
        if self._highest:
            check_option(self.order, spec.order_policies, name="order", owner=name)
            self._order = spec.max_order
        else:
            order = check_int(self.order, name="order", low=1, owner=name)
            if spec.fixed_order is not None and order != spec.fixed_order:
                raise ValueError(f"`order` of {name} must be {spec.fixed_order} for method "
                                 f"{spec.name!r} (its order is fixed); got {order}")
            self._order = check_int(order, name="order", low=1, high=spec.max_order,
                                    owner=name)
        if self.weights is not None and not spec.weighted:
            raise ValueError(f"`weights` of {name} must be None for method {spec.name!r} (the "
                             "published fit is unweighted)")
        if (self.bounds or self.lipschitz is not None) and not spec.error_bounds:
            raise ValueError(f"`bounds`/`lipschitz` of {name} are the Taylor least-squares "
                             "error bounds (Turner et al.); they need method="
                             + " or ".join(repr(s.name) for s in METHODS.values()
                                           if s.error_bounds))
        p = spec.n_unknowns(self._order, dim)
        if self.k is None:
            self._k = spec.default_neighbours(self._order, dim, opts)
        else:
            self._k = check_int(self.k, name="k", low=1, owner=name)
        if spec.check_k is not None:
            spec.check_k(self._k, dim, opts, owner=name)
        if self._k < p and not self._highest:
            raise ValueError(f"`k` of {name} must be at least {p} for order {self._order} "
                             f"in {dim}-D (one neighbour per unknown derivative); got "
                             f"{self._k}: raise `k` or lower `order`")
        self._wp = weight_power_from(self.weights, owner=name)
        check_bool(self.guard, name="guard", owner=name)
        check_bool(self.bounds, name="bounds", owner=name)
        if self.lipschitz is not None and not self.bounds:
            raise ValueError(f"`lipschitz` of {name} only scales the error bounds; pass "
                             "bounds=True as well")
        self._n_threads = n_threads_from_workers(self.workers)
        return spec.rank_needed(self._order, dim)

    def fit(self, points: Geometry) -> ScatteredDerivatives:
        """Build the derivative matrices for ``points`` of shape (n, 2) or (n, 3)."""
        from ..sampling.adapters import as_points

        pts = as_points(points, dims=(2, 3), name="points")    # arrays or geometry objects
        if len(pts) < 2:
            raise ValueError(f"`points` must hold at least 2 points; got {len(pts)}")
        n, dim = pts.shape
        p = self._check_params(dim)
        _check_spread(pts)
        if n < self._k + 1:
            raise ValueError(f"`points` must hold at least k + 1 = {self._k + 1} points for "
                             f"k = {self._k}; got {n} (lower `k` or `order`)")
        nb = knn(pts, self._k, n_threads=self._n_threads, name="points")
        spec = self._spec
        names, targets = spec.targets(self._order, dim)
        ms = [m for m in names if not isinstance(m, str)]   # derivatives; others: extras
        opts = self._kernel_options
        if self._highest:
            st = highest_complete_stencils(nb, None, targets=targets, weight_power=self._wp,
                                           n_threads=self._n_threads, **opts)
        else:
            st = guarded_stencils(nb, None, method=spec, order=self._order,
                                  targets=targets, weight_power=self._wp,
                                  dominance_target=None, min_order=self._order,
                                  guard=self.guard, bounds=self.bounds,
                                  n_threads=self._n_threads, kernel_options=opts)
        inv = nb.inverse
        expand = (lambda a: a) if inv is None else (lambda a: a[inv])

        D = {}
        for t, m in enumerate(ms):
            M = _derivative_matrix(st, t)
            D[m] = M if inv is None else assembly.expand_rows_cols(M, inv)
        self.D_ = D
        self.G_ = sparse.vstack([D[_unit(dim, c)] for c in range(dim)], format="csr")
        if "laplacian" in names:        # a method with a Laplacian but no Hessian
            self.H_ = None
            L = _derivative_matrix(st, names.index("laplacian"))
            self.L_ = (-(L if inv is None else assembly.expand_rows_cols(L, inv))).tocsr()
        elif max(map(sum, ms)) >= 2:
            self.H_ = sparse.vstack([D[_unit(dim, i, j)] for i in range(dim)
                                     for j in range(dim)], format="csr")
            L = D[_unit(dim, 0, 0)]
            for c in range(1, dim):
                L = L + D[_unit(dim, c, c)]
            self.L_ = (-L).tocsr()
        else:
            self.H_ = self.L_ = None
        self.points_ = pts

        rank = st.diagnostics[:, spec.diagnostics.index("rank")].astype(int)
        rcond = st.diagnostics[:, 0]
        if self._highest:        # lower orders are the policy, not a deficiency
            deficient = st.failed.copy()
        elif not spec.polynomial_rank:   # rank of a larger system: test the polynomials
            deficient = ~(rcond >= RCOND_MIN) | ~np.isfinite(
                np.add.reduceat(st.weights.sum(axis=1), st.indptr[:-1]))
        else:
            deficient = (rank < p) | ~(rcond >= RCOND_MIN) | ~np.isfinite(
                np.add.reduceat(st.weights.sum(axis=1), st.indptr[:-1]))
        if st.fallback is not None:
            # rows from the guard's rank fallback dropped the monomials the points cannot
            # support: they stay flagged as rank-deficient
            deficient |= st.fallback
        diag = {"rcond": expand(rcond), "rank": expand(rank),
                "rank_deficient": expand(deficient), "n_rank_deficient": int(deficient.sum()),
                "k_used": expand(st.k_used), "enlarged": expand(st.enlarged),
                "n_coincident": 0 if inv is None else int(len(inv) - len(nb.points)),
                "guard_attempts": st.attempts}
        # the method's own columns (orthopoly: highest complete order and the rejected
        # candidate monomials, bit c of rejected_mask = candidates(4, d, constant)[c])
        diag.update({key: v for key, v in spec.named_diagnostics(st.diagnostics, expand).items()
                     if key != "rcond"})
        if "rejected_mask" in diag:
            diag["n_rejected"] = np.array([bin(int(b)).count("1") for b in diag["rejected_mask"]])
        diag["order_used"] = expand(st.order_used)
        self.diagnostics_ = diag
        if deficient.any():
            warn(f"{type(self).__name__}: {int(deficient.sum())} of {len(deficient)} "
                 "stencils are rank-deficient (neighbours on a line or plane"
                 f"{'' if not self.guard else ' even at 3×k'}); their derivatives are "
                 "unreliable. To fix: more points or a larger k there, or a lower order; "
                 "which points: the estimator's diagnostics_['rank_deficient']", RuntimeWarning)

        self.bounds_ = None
        if self.bounds:
            factors = bound_factors(nb.points, st.indptr, st.indices.astype(np.intp, copy=False),
                                    self._order, self._wp)
            factors = {key: expand(v) for key, v in factors.items()}
            lip = self.lipschitz
            if lip is not None and np.ndim(lip) == 1 and len(lip) != n:
                raise ValueError(f"`lipschitz` must be a scalar or hold one value per point "
                                 f"({n}); got {len(lip)}")
            self.bounds_ = error_bounds(
                factors, expand(st.diagnostics[:, 1]), expand(st.diagnostics[:, 2]),
                self._order, lip)
        return self

    # -- application ---------------------------------------------------------------
    def _values(self, values, attr):
        if not hasattr(self, "points_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(points) "
                             "first")
        if getattr(self, attr) is None:
            if self.L_ is not None:      # a Laplacian but no separate second derivatives
                raise ValueError(f"method {self._spec.name!r} gives no Hessian (only first "
                                 f"derivatives and the Laplacian); use method='taylor', "
                                 f"order >= 2")
            raise ValueError(f"second derivatives need `order` >= 2; this "
                             f"{type(self).__name__} has order {self._order}")
        return check_values(values, len(self.points_), name="values")

    def gradient(self, values: ArrayLike) -> Float64Array:
        """Gradient of ``values`` (n,) → (n, d), or (n, c) → (n, c, d)."""
        f = self._values(values, "G_")
        n, d = self.points_.shape
        g = self.G_ @ f
        if f.ndim == 1:
            return np.ascontiguousarray(g.reshape(d, n).T)
        return np.ascontiguousarray(g.reshape(d, n, -1).transpose(1, 2, 0))

    def hessian(self, values: ArrayLike) -> Float64Array:
        """Hessian of ``values`` (n,) → (n, d, d) (needs ``order >= 2``)."""
        f = self._values(values, "H_")
        if f.ndim != 1:
            raise ValueError(f"`values` must have shape (n,) for the Hessian; got {f.shape}")
        n, d = self.points_.shape
        return np.ascontiguousarray((self.H_ @ f).reshape(d, d, n).transpose(2, 0, 1))

    def laplacian(self, values: ArrayLike) -> Float64Array:
        """Laplacian ``Δf`` of ``values`` (n,) → (n,) (``= −L_ @ f``; needs ``order >= 2``)."""
        f = self._values(values, "L_")
        return -(self.L_ @ f)


def _check_spread(pts):
    """Reject point sets lying on a line (2-D) or in a plane (3-D)."""
    c = pts - pts.mean(axis=0)
    s = np.linalg.svd(c, compute_uv=False)
    if s[0] == 0:
        raise ValueError("`points` are all coincident; nothing to differentiate")
    if s[-1] <= 1e-10 * s[0]:
        what = "on one line" if pts.shape[1] == 2 else "in one plane"
        raise ValueError(f"`points` lie {what}: derivatives in all {pts.shape[1]} directions "
                         "are not determined (for data on a surface use the surface "
                         "operators, e.g. om.surface_gradient)")


def _derivative_matrix(st, target):
    """CSR (n × n) with off-diagonal weights ``w_j`` and centre ``−Σ w_j``."""
    n = len(st.indptr) - 1
    indptr, indices, centre_pos, mask = assembly._rows_with_centre(st, 1)
    w = st.weights[:, target]
    data = np.empty(len(indices))
    data[mask] = w
    data[centre_pos] = -np.add.reduceat(w, st.indptr[:-1])
    return sparse.csr_matrix((data, indices, indptr), shape=(n, n))


def _fit_apply(points, values, method, options):
    op = ScatteredDerivatives(**options).fit(points)
    return op, getattr(op, method)(values)


def scattered_gradient(points: Geometry, values: ArrayLike, *, k: int | None = None,
                       order: int | str = 2, weights: int | str | None = None, bounds: bool = False,
                       lipschitz: float | ArrayLike | None = None, guard: bool = True,
                       workers: int = -1, **options: Any) -> Float64Array:
    """Gradient of scattered data: ``points`` (n, d), ``values`` (n,) → (n, d).

    With ``bounds=True`` returns ``(gradient, bounds)``, ``bounds`` the dict of
    :attr:`ScatteredDerivatives.bounds_` (Turner et al.'s Bound1/Bound2 per point, times
    ``lipschitz`` when given). Other options (``method``, ``centre``, ``rbf``, ``shape``,
    ``ghosts``) as in :class:`ScatteredDerivatives`.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).uniform(size=(500, 2))
    >>> g, b = om.scattered_gradient(p, p[:, 0] ** 2, k=12, bounds=True, lipschitz=0.0)
    >>> bool(np.allclose(g, np.c_[2 * p[:, 0], 0 * p[:, 0]], atol=1e-9)), float(b["bound2"].max())
    (True, 0.0)
    """
    op, g = _fit_apply(points, values, "gradient",
                       dict(k=k, order=order, weights=weights, bounds=bounds,
                            lipschitz=lipschitz, guard=guard, workers=workers, **options))
    return (g, op.bounds_) if bounds else g


def scattered_hessian(points: Geometry, values: ArrayLike, *, k: int | None = None,
                      order: int | str = 3, weights: int | str | None = None, guard: bool = True,
                      workers: int = -1, **options: Any) -> Float64Array:
    """Hessian of scattered data: ``values`` (n,) → (n, d, d); ``order >= 2`` (default 3).

    Other options (``method``, ``rbf`` …) as in :class:`ScatteredDerivatives`.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).uniform(-1, 1, size=(500, 2))
    >>> H = om.scattered_hessian(p, p[:, 0] ** 2 + p[:, 0] * p[:, 1])
    >>> H.shape, bool(np.allclose(H, [[2, 1], [1, 0]]))
    ((500, 2, 2), True)
    """
    return _fit_apply(points, values, "hessian",
                      dict(k=k, order=order, weights=weights, guard=guard, workers=workers,
                           **options))[1]


def scattered_laplacian(points: Geometry, values: ArrayLike, *, k: int | None = None,
                        order: int | str = 3, weights: int | str | None = None, guard: bool = True,
                        workers: int = -1, **options: Any) -> Float64Array:
    """Laplacian ``Δf`` of scattered data: ``values`` (n,) → (n,); ``order >= 2`` (default 3).

    Other options (``method``, ``rbf`` …) as in :class:`ScatteredDerivatives`, e.g.
    ``method="clsgsp", order=2`` for Ying et al.'s constrained ghost-point stencils.

    Examples
    --------
    On a planar scattered set, ``Δ(x² + y²) = 4``:

    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).uniform(-1, 1, size=(500, 2))
    >>> lap = om.scattered_laplacian(p, (p ** 2).sum(1))
    >>> lap.shape, bool(np.allclose(lap, 4))
    ((500,), True)
    """
    return _fit_apply(points, values, "laplacian",
                      dict(k=k, order=order, weights=weights, guard=guard, workers=workers,
                           **options))[1]
