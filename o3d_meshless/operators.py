"""Surface operators on point clouds: thin estimator facades over the pipeline

adapters → neighbors → frames → stencils (+ guard) → assembly.

Every class has a keyword-only ``__init__`` that only stores its options,
``fit(geometry) -> self``, and fitted attributes ending in ``_``.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
from scipy import sparse

from ._params import Params
from . import assembly
from ._progress import Stages
from ._validation import (check_bool, check_int, check_option, check_values,
                          n_threads_from_workers)
from .guard import MAX_AMPLIFICATION, guarded_stencils, repair_laplacian_rows
from .sampling import Sampling, build, check_compatible, check_options
from .spectra import SpectrumResult, eigenpairs
from .weak import expand_stiffness, voronoi_stiffness
from .stencils import DEFAULT_METHOD, get_method, method_options, weight_power_from

__all__ = ["LaplaceBeltrami", "SurfaceGradient", "Divergence", "laplace_beltrami",
           "surface_gradient", "divergence", "spectrum"]

logger = logging.getLogger(__name__)

LAPLACIAN = {(2, 0): 1.0, (0, 2): 1.0}
#: ``"strong"``: pointwise stencils (collocation, Poisson); ``"weak"``: symmetric stiffness
FORMS = ("strong", "weak")
#: options that choose the strong form's stencils (``form="weak"`` has none)
STENCIL_OPTIONS = ("method", "order", "weights", "centre", "rbf", "shape", "ghosts")
GRADIENT = [(1, 0), (0, 1)]


class _SurfaceOperator(Params):
    """Shared options and the points → neighbourhoods → frames part of ``fit``."""

    _default_order = 2
    _min_order = 1

    def __init__(self, *, method="taylor", k=16, order=None, weights=None, normals="auto",
                 height_order=2, orient=None, guard=True, bounds=False, workers=-1,
                 progress=None, centre=None, rbf=None, shape=None, ghosts=None):
        self.method = method
        self.centre = centre
        self.rbf = rbf
        self.shape = shape
        self.ghosts = ghosts
        self.k = k
        self.order = order
        self.weights = weights
        self.normals = normals
        self.height_order = height_order
        self.orient = orient
        self.guard = guard
        self.bounds = bounds
        self.workers = workers
        self.progress = progress

    def _check_params(self):
        name = type(self).__name__
        spec = self._spec = get_method(self.method, owner=name)
        self._kernel_options = method_options(spec, centre=self.centre, rbf=self.rbf,
                                              shape=self.shape, ghosts=self.ghosts, owner=name)
        if spec.max_order < self._min_order:
            raise ValueError(f"{name} needs `order` >= {self._min_order}; method {spec.name!r} "
                             f"({spec.title}) goes up to order {spec.max_order}: choose another "
                             "method")
        # a method with a lower highest order (moments: 2) caps the class default to it
        self._order = min(self._default_order, spec.max_order) if self.order is None \
            else check_int(
            self.order, name="order", low=self._min_order, high=spec.max_order, owner=name)
        check_options(k=self.k, normals=self.normals, height_order=self.height_order,
                      orient=self.orient, owner=name)
        if spec.check_k is not None:
            spec.check_k(self.k, 2, self._kernel_options, owner=name)
        if self.weights is not None and not spec.weighted:
            raise ValueError(f"`weights` of {name} must be None for method {spec.name!r} (the "
                             f"published fit is unweighted); got {self.weights!r}")
        p = spec.n_unknowns(self._order, 2)
        if self.k < p:
            raise ValueError(f"`k` of {name} must be at least {p} for order {self._order} "
                             f"(one neighbour per unknown derivative); got {self.k}: raise `k` "
                             "or lower `order`")
        for flag in ("guard", "bounds"):
            check_bool(getattr(self, flag), name=flag, owner=name)
        if self.progress is not None:
            check_bool(self.progress, name="progress", owner=name)
        self._wp = weight_power_from(self.weights, owner=name)
        self._n_threads = n_threads_from_workers(self.workers)

    def _prepare(self, geometry, stages):
        """The :class:`~o3d_meshless.Sampling` of ``geometry`` (or ``geometry`` itself)."""
        self._check_params()
        owner = type(self).__name__
        if isinstance(geometry, Sampling):
            check_compatible(geometry, k=self.k, normals=self.normals,
                             height_order=self.height_order, orient=self.orient, owner=owner)
            sampling = geometry
        else:
            sampling = build(geometry, k=self.k, normals=self.normals,
                             height_order=self.height_order, orient=self.orient,
                             n_threads=self._n_threads, stages=stages, owner=owner)
        self.sampling_ = sampling
        self.points_ = sampling.points
        self.neighborhoods_ = sampling.neighborhoods
        self.frames_ = sampling.expand(sampling.frames)
        self.normals_ = np.ascontiguousarray(self.frames_[:, 2])
        self.diagnostics_ = dict(sampling.diagnostics)
        return sampling.neighborhoods, sampling.frames

    def _stencils(self, nb, frames, targets, dominance_target, min_order):
        bases = np.ascontiguousarray(frames[:, :2])          # tangent axes t_u, t_v
        st = guarded_stencils(nb, bases, method=self._spec,
                              order=self._order, targets=targets, weight_power=self._wp,
                              dominance_target=dominance_target, min_order=min_order,
                              guard=self.guard, bounds=self.bounds, n_threads=self._n_threads,
                              kernel_options=self._kernel_options,
                              max_amplification=None if dominance_target is not None
                              else MAX_AMPLIFICATION)
        if dominance_target is not None:
            sampling = self.sampling_
            repair_laplacian_rows(st, nb.points, bases,
                                  target=dominance_target, k=nb.k, boundary=sampling.boundary,
                                  conormals=sampling.conormals,
                                  find_boundary=not sampling.boundary_known)
        diag = self.diagnostics_
        diag.update(self._spec.named_diagnostics(st.diagnostics, nb.expand, bounds=self.bounds))
        diag["condition"] = nb.expand(1.0 / np.maximum(st.diagnostics[:, 0], 1e-300))
        diag["k_used"] = nb.expand(st.k_used)
        diag["order_used"] = nb.expand(st.order_used)
        diag["guard_rows"] = int(st.enlarged.sum())
        if st.fallback is not None:      # rows fitted without unsupported monomials
            diag["fallback_rows"] = int(st.fallback.sum())
            diag["fallback_mask"] = nb.expand(st.fallback)
        diag["failed_rows"] = int(st.failed.sum())
        diag["failed_mask"] = nb.expand(st.failed)
        diag["guard_attempts"] = st.attempts
        if st.positive is not None:
            diag["positive_rows"] = int(st.positive.sum())
            diag["positive_mask"] = nb.expand(st.positive)
            diag["boundary_rows"] = int(st.boundary.sum())
            diag["boundary_mask"] = nb.expand(st.boundary)
        if st.failed.any():
            what = ("Laplacian rows are not consistent even with nonnegative weights "
                    "(corners, or neighbourhoods that see no curvature in some direction); "
                    "they cannot cause negative eigenvalues but are wrong pointwise"
                    if dominance_target is not None else
                    "stencils still fail the guard (rank) after enlarging to 3×k and lowering "
                    "the order")
            warnings.warn(f"{type(self).__name__}: {int(st.failed.sum())} of {len(st.failed)} "
                          f"{what}; see diagnostics_['failed_mask']", RuntimeWarning,
                          stacklevel=3)
        return st

    def _check_fitted(self, attr):
        if not hasattr(self, attr):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(geometry) "
                             "first")


class LaplaceBeltrami(_SurfaceOperator):
    """Meshless Laplace–Beltrami operator ``L ≈ −Δ_S`` of a sampled surface.

    Each point's neighbours are projected onto its tangent plane and a
    centre-constrained Taylor least-squares fit (seed 001) gives the weights of
    ``∂²/∂u² + ∂²/∂v²``. In tangent-plane coordinates of an exact tangent plane the
    Christoffel symbols vanish at the centre, so this *is* Δ_S there.

    Parameters
    ----------
    form : {"strong", "weak"}, default="strong"
        ``"strong"``: pointwise stencils, ``L_ @ f ≈ −Δ_S f`` at every point (what PDE
        collocation and :func:`~o3d_meshless.solve_poisson` need); not symmetric.
        ``"weak"``: the symmetric stiffness ``K_ ≈ M(−Δ_S)`` of the tangent-plane
        Voronoi cells (see :mod:`o3d_meshless.weak`): positive semi-definite by
        construction, a real spectrum with M-orthonormal eigenvectors, and more accurate
        eigenvalues than the strong form on irregular samples. It has no stencil options
        (``method``, ``order``, ``weights`` … must stay unset).
    method : {"taylor", "moments", "orthopoly", "clsgsp", "lsgsp"}, default="taylor"
        ``"moments"``: seed 000's moment coefficients (order fixed at 2, ``k >= 6``; its
        Laplacian is the unweighted order-2 Taylor one, its gradient first order).
        ``"orthopoly"``: seed 002's orthonormal polynomials with rank-revealing monomial
        selection (incomplete rows go through the guard like rank failures).
        ``"clsgsp"``: seed 003's constrained least squares on RBFs centred at ghost
        points plus polynomials of degree ``order`` (robust to near-coincident and badly
        distributed samples); ``"lsgsp"``: its unconstrained variant (pointwise
        derivatives only). See :mod:`o3d_meshless.stencils.gsp`.
    centre : {"interpolate", "least-squares"} or None, default=None
        ``"orthopoly"`` only. ``None``/``"interpolate"``: the fit passes through the
        centre value (use this for ``L_`` and spectra); ``"least-squares"``: the published
        variant, centre as an ordinary least-squares point — its ``L_`` has spurious
        near-zero and negative eigenvalues; use it for pointwise derivatives only.
    rbf, shape, ghosts : optional
        ``"clsgsp"``/``"lsgsp"`` only: radial kernel (default ``"gaussian"``), scale-free
        shape parameter ``c·r̄²`` (default 3; 0.1 with ``ghosts="disc"``) and ghost layout (default ``"circle"``: 8
        ghosts on the circle of radius the mean neighbour distance; ``"disc"``, an int or
        an array).
    k : int, default=16
        Neighbours per point (the guard may enlarge single rows up to 3×k).
    order : int, default=2
        Taylor order (2–4).
    weights : None or int, default=None
        ``None``: unweighted Taylor rows; ``0``: seed 001's classical rows (divided by
        ``h_j``); ``d`` in 1..4: seed 001's ``h_j^-d`` row weights on top.
    normals : {"auto", "estimate"} or array_like of shape (n, 3), default="auto"
        ``"auto"`` uses normals stored on the geometry, else a mesh's area-weighted
        vertex normals (Open3D/trimesh meshes; vertices in no face are estimated), else
        estimates them; ``"estimate"`` always estimates (PCA + quadratic height-fit
        correction); an array gives one normal per point (any length, any sign).
    height_order : {0, 2, 3}, default=2
        Order of the height-function fit correcting PCA normals (0 = PCA only).
    orient : {None, "outward", "mst"}, default=None
        Consistent normal orientation (only ``normals_`` depends on it; ``L`` does not).
    guard : bool, default=True
        Recompute rows that fail the rank or diagonal-dominance test (see
        :mod:`o3d_meshless.guard`).
    bounds : bool, default=False
        Also store seed 001's per-point singular values in ``diagnostics_``.
    workers : int, default=-1
        Threads (SciPy's meaning: -1 = all cores).
    progress : bool or None, default=None
        Stage progress bar; None = only when stderr is a terminal.

    Attributes
    ----------
    L_ : scipy.sparse.csr_matrix of shape (n, n)
        Strong-form ``−Δ_S``: ``L_ @ f ≈ −Δ_S f`` at every point; rows sum to 0.
    M_ : scipy.sparse.csr_matrix of shape (n, n)
        Diagonal lumped areas (tangent-plane Voronoi cells); ``M_.sum()`` ≈ area.
    K_ : scipy.sparse.csr_matrix of shape (n, n)
        ``form="weak"`` only: symmetric positive semi-definite stiffness, ``K_ @ 1 = 0``.
        ``L_`` is then ``M_⁻¹ K_``, which is *not* pointwise accurate on irregular
        samples (only in the weak sense); use the strong form for pointwise values.
    form_ : str
        The form that was built.
    points_, normals_ : ndarray of shape (n, 3)
    frames_ : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)``.
    diagnostics_ : dict
        ``rcond``/``condition`` per point, ``k_used``, ``order_used``, ``guard_rows``,
        ``failed_rows``, ``failed_mask``, ``n_coincident``, ``timings`` ….
    eigenvalues_, eigenvectors_, spectrum_report_ :
        Set by :meth:`spectrum`; ``spectrum_report_`` is its
        :class:`~o3d_meshless.SpectrumReport` (negative eigenvalues, largest ``|Im λ|``,
        M-orthogonality defect). ``max_imag_`` (``= spectrum_report_.max_imag``) is
        kept for compatibility.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).normal(size=(3000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> op = om.LaplaceBeltrami(k=16).fit(p)
    >>> vals, vecs = op.spectrum(n_modes=4)
    >>> np.round(vals, 1)
    array([0., 2., 2., 2.])
    """

    _default_order = 2
    _min_order = 2

    def __init__(self, *, form="strong", method="taylor", k=16, order=None, weights=None,
                 normals="auto", height_order=2, orient=None, guard=True, bounds=False,
                 workers=-1, progress=None, centre=None, rbf=None, shape=None, ghosts=None):
        self.form = form
        super().__init__(method=method, k=k, order=order, weights=weights, normals=normals,
                         height_order=height_order, orient=orient, guard=guard, bounds=bounds,
                         workers=workers, progress=progress, centre=centre, rbf=rbf,
                         shape=shape, ghosts=ghosts)

    def _check_params(self):
        check_option(self.form, FORMS, name="form", owner="LaplaceBeltrami")
        if self.form == "weak":
            # `method` has a default ("taylor"); the others are unset by default
            stencil_only = [name for name in STENCIL_OPTIONS
                            if getattr(self, name) is not None
                            and not (name == "method" and self.method == DEFAULT_METHOD)]
            if stencil_only:
                raise ValueError(
                    f"{', '.join(f'`{name}`' for name in stencil_only)} of LaplaceBeltrami "
                    "choose the strong form's stencils; form='weak' has none (it is built "
                    "from the tangent-plane Voronoi cells): drop them or use form='strong'")
        super()._check_params()

    def fit(self, geometry):
        """Build ``L_`` and ``M_`` (and ``K_`` for ``form="weak"``); returns ``self``."""
        stages = Stages(5, desc="LaplaceBeltrami", progress=self.progress)
        try:
            nb, frames = self._prepare(geometry, stages)
            if self.form == "weak":
                with stages("Voronoi cells"):
                    K, areas, is_open = voronoi_stiffness(
                        nb, frames, conormals=self.sampling_.conormals,
                        n_threads=self._n_threads)
                with stages("assembly"):
                    self.diagnostics_["open_cells"] = int(is_open.sum())
                    if nb.inverse is None:
                        M = assembly.mass_matrix(areas)
                    else:
                        K = expand_stiffness(K, nb.inverse)
                        M = assembly.expand_mass(areas, nb.inverse)
                    self.K_ = K
                    L = (sparse.diags(1.0 / M.diagonal()) @ K).tocsr()
                self.form_ = "weak"
                self.L_, self.M_ = L, M
                self.diagnostics_["timings"] = stages.timings
                return self
            with stages("stencils"):
                st = self._stencils(nb, frames, [LAPLACIAN], 0, 2)
            with stages("assembly"):
                L = assembly.laplacian_matrix(st)
                areas, n_open = assembly.lumped_areas(nb, frames, n_threads=self._n_threads)
                self.diagnostics_["open_cells"] = n_open
                if nb.inverse is None:
                    M = assembly.mass_matrix(areas)
                else:
                    L = assembly.expand_rows_cols(L, nb.inverse, tie=L.diagonal())
                    M = assembly.expand_mass(areas, nb.inverse)
        finally:
            stages.close()
        self.form_ = "strong"
        self.L_, self.M_ = L, M
        self.diagnostics_["timings"] = stages.timings
        return self

    def spectrum(self, n_modes=20, *, sigma=None):
        """Smallest ``n_modes`` eigenpairs of ``L_`` (see :func:`o3d_meshless.spectrum`).

        Returns a :class:`~o3d_meshless.SpectrumResult` ``(vals, vecs)`` with ``.report``;
        sets ``eigenvalues_``, ``eigenvectors_`` and ``spectrum_report_``.
        """
        self._check_fitted("L_")
        if getattr(self, "form_", "strong") == "weak":
            vals, vecs, report = eigenpairs(self.K_, self.M_, n_modes, sigma=sigma,
                                            symmetric=True)
        else:
            vals, vecs, report = eigenpairs(self.L_, self.M_, n_modes, sigma=sigma)
        self.eigenvalues_, self.eigenvectors_, self.spectrum_report_ = vals, vecs, report
        self.max_imag_ = report.max_imag
        return SpectrumResult(vals, vecs, report)


class SurfaceGradient(_SurfaceOperator):
    """Tangential gradient ``∇_S f`` of per-point scalars (Taylor least-squares stencils, Turner et al.).

    Same parameters as :class:`LaplaceBeltrami`, with ``order=2`` by default: gradient
    error O(h²). ``order=3`` is 70–400× more accurate on exact samples (analytic or
    CAD-derived points) but amplifies noise 2.8× more: with position noise above about
    0.1 % of the spacing, order 2 is the more accurate (``benchmarks/bench_noise.py``;
    real scans are far noisier). The guard enlarges, then lowers the order of,
    ill-conditioned stencils and stencils whose weights amplify noise more than 10×.

    Attributes
    ----------
    G_ : scipy.sparse.csr_matrix of shape (3n, n)
        Stacked x, y, z blocks: ``(G_ @ f).reshape(3, n).T`` is the (n, 3) gradient.
    points_, normals_, frames_, diagnostics_ : as in :class:`LaplaceBeltrami`

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

    def fit(self, geometry):
        """Build ``G_`` for ``geometry``; returns ``self``."""
        stages = Stages(5, desc=type(self).__name__, progress=self.progress)
        try:
            nb, frames = self._prepare(geometry, stages)
            with stages("stencils"):
                st = self._stencils(nb, frames, GRADIENT, None, 1)
            with stages("assembly"):
                G = assembly.gradient_matrix(st, frames)
                if nb.inverse is not None:
                    G = assembly.expand_rows_cols(G, nb.inverse)
        finally:
            stages.close()
        self.G_ = G
        self.diagnostics_["timings"] = stages.timings
        return self

    def apply(self, values):
        """Gradient of ``values`` (n,) → (n, 3), or (n, c) → (n, c, 3)."""
        self._check_fitted("G_")
        n = self.G_.shape[1]
        f = check_values(values, n, name="values")
        g = self.G_ @ f
        if f.ndim == 1:
            return np.ascontiguousarray(g.reshape(3, n).T)
        return np.ascontiguousarray(g.reshape(3, n, -1).transpose(1, 2, 0))


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

    def fit(self, geometry):
        """Build ``D_`` (and ``G_``) for ``geometry``; returns ``self``."""
        super().fit(geometry)
        self.D_ = assembly.divergence_matrix(self.G_)
        return self

    def apply(self, field):
        """Divergence of ``field`` of shape (n, 3) → (n,)."""
        self._check_fitted("D_")
        n = self.D_.shape[0]
        V = check_values(field, n, name="field")
        if V.ndim != 2 or V.shape[1] != 3:
            raise ValueError(f"`field` must have shape (n, 3); got {V.shape}")
        return self.D_ @ V.T.ravel()


def laplace_beltrami(geometry, *, form="strong", **options):
    """``(L, M)``: strong-form ``L ≈ −Δ_S`` (CSR) and diagonal lumped areas ``M``; with
    ``form="weak"``, ``(K, M)``: the symmetric positive semi-definite stiffness
    ``K ≈ M(−Δ_S)``.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry or array_like of shape (n, 3)
    form : {"strong", "weak"}, default="strong"
        See :class:`LaplaceBeltrami`.
    **options
        Keyword options of :class:`LaplaceBeltrami` (``k``, ``order``, ``weights`` …).

    Returns
    -------
    L or K, M : scipy.sparse.csr_matrix of shape (n, n)

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).normal(size=(2000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> L, M = om.laplace_beltrami(p)
    >>> bool(abs(M.sum() / (4 * np.pi) - 1) < 0.01)
    True
    >>> K, M = om.laplace_beltrami(p, form="weak")
    >>> bool(abs(K - K.T).max() == 0 and abs(K @ np.ones(2000)).max() < 1e-10)
    True
    """
    op = LaplaceBeltrami(form=form, **options).fit(geometry)
    return (op.K_ if op.form_ == "weak" else op.L_), op.M_


def surface_gradient(geometry, values, **options):
    """Tangential gradient of per-point ``values``: (n,) → (n, 3); (n, c) → (n, c, 3).

    ``options`` are those of :class:`SurfaceGradient` (default ``order=2``).
    """
    return SurfaceGradient(**options).fit(geometry).apply(values)


def divergence(geometry, field, **options):
    """Surface divergence of a per-point vector field of shape (n, 3) → (n,)."""
    return Divergence(**options).fit(geometry).apply(field)



def spectrum(geometry, n_modes=20, *, form=None, sigma=None, **options):
    """Smallest Laplace–Beltrami eigenpairs of a point cloud.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or a fitted
        :class:`~o3d_meshless.LaplaceBeltrami` (its own form is used)
    n_modes : int, default=20
    form : {"weak", "strong"} or None, default=None
        ``"weak"``: the symmetric positive semi-definite stiffness (real eigenvalues,
        M-orthonormal eigenvectors; the more accurate spectrum on irregular samples and
        real shapes). ``"strong"``: the eigenvalues of the pointwise operator ``L_``.
        ``None``: ``"weak"``, unless a stencil option (``method``, ``order``,
        ``weights``, ``centre``, ``rbf``, ``shape``, ``ghosts``) is given, which selects
        the strong form it belongs to.
    sigma : float, optional
        Shift-invert shift (default ``-1/area``).
    **options
        Keyword options of :class:`~o3d_meshless.LaplaceBeltrami`.

    Returns
    -------
    result : SpectrumResult
        A ``(vals, vecs)`` pair with a quality report:

        vals : ndarray of shape (n_modes,)
            Ascending; ``0`` first on a closed surface (one zero per connected piece).
        vecs : ndarray of shape (n, n_modes)
            ``vecs[:, i].T @ M @ vecs[:, i] == 1`` (and ``vecs.T @ M @ vecs == I`` to
            round-off for the weak form).
        result.report : SpectrumReport
            Negative eigenvalues, largest ``|Im λ|``, ``max|VᵀMV − I|`` (also the
            estimator's ``spectrum_report_``). A negative eigenvalue is a spurious mode
            and raises a :class:`RuntimeWarning`.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).normal(size=(4000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> vals, vecs = result = om.spectrum(p, n_modes=9)
    >>> np.round(vals).astype(int).tolist()
    [0, 2, 2, 2, 6, 6, 6, 6, 6]
    >>> result.report.n_negative
    0
    """
    if isinstance(geometry, LaplaceBeltrami):
        if options:
            raise ValueError(f"options {sorted(options)} cannot be applied to an already "
                             "fitted LaplaceBeltrami: set them on the estimator instead")
        op = geometry
    else:
        if form is None:
            form = "strong" if any(options.get(name) is not None
                                   for name in STENCIL_OPTIONS) else "weak"
        op = LaplaceBeltrami(form=form, **options).fit(geometry)
    return op.spectrum(n_modes, sigma=sigma)
