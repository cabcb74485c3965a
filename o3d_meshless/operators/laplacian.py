"""The Laplace–Beltrami operator of a sampled surface (strong or weak form), its one-line
function and the surface spectrum built from it."""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
from scipy import sparse

from . import assembly
from .._progress import Stages
from .._memory import release_freed_memory
from .._validation import check_option
from .._warnings import warn
from .spectra import SpectrumResult, eigenpairs
from .weak import MASS_KINDS, averaged_mass, expand_stiffness, voronoi_stiffness
from ..stencils import DEFAULT_METHOD
from .surface_operator import _SurfaceOperator
from .._typing import Geometry
from .._typing import ArrayLike

__all__ = ["LaplaceBeltrami", "laplace_beltrami", "spectrum", "FORMS", "STENCIL_OPTIONS"]

logger = logging.getLogger(__name__)

LAPLACIAN = {(2, 0): 1.0, (0, 2): 1.0}
#: ``"strong"``: pointwise stencils (collocation, Poisson); ``"weak"``: symmetric stiffness
FORMS = ("strong", "weak")
#: options that choose the strong form's stencils (``form="weak"`` has none)
STENCIL_OPTIONS = ("method", "order", "weights", "centre", "rbf", "shape", "ghosts")



class LaplaceBeltrami(_SurfaceOperator):
    """Meshless Laplace–Beltrami operator ``L ≈ −Δ_S`` of a sampled surface.

    Each point's neighbours are projected onto its tangent plane and a
    centre-constrained Taylor least-squares fit (Turner et al.) gives the weights of
    ``∂²/∂u² + ∂²/∂v²``. In tangent-plane coordinates of an exact tangent plane the
    Christoffel symbols vanish at the centre, so this *is* Δ_S there.

    Parameters
    ----------
    form : {"strong", "weak"}, default="strong"
        ``"strong"``: pointwise stencils, ``L_ @ f ≈ −Δ_S f`` at every point (what PDE
        collocation and :func:`~o3d_meshless.solve_poisson` need); not symmetric.
        ``"weak"``: the symmetric stiffness ``K_ ≈ M(−Δ_S)`` of the tangent-plane
        Voronoi cells (see :mod:`o3d_meshless.operators.weak`): positive semi-definite by
        construction, a real spectrum with M-orthonormal eigenvectors, and more accurate
        eigenvalues than the strong form on irregular samples. It has no stencil options
        (``method``, ``order``, ``weights`` … must stay unset).
    mass : {"lumped", "averaged"} or None, default=None
        ``form="weak"`` only: the mass matrix ``mass_`` of the pencil
        ``K_ v = λ mass_ v`` that :meth:`spectrum` solves. ``"lumped"``: the diagonal
        cell areas ``M_``, cells measured at chord length. ``"averaged"``: the mean of
        the lumped and the consistent mass (:func:`o3d_meshless.operators.weak.averaged_mass`),
        cells (``K_`` and ``M_``) measured at arc length
        (:func:`o3d_meshless.operators.assembly.chart_distance`) except where the neighbours rise
        too steeply for it (:data:`o3d_meshless.operators.weak.ARC_MAX_ELEVATION`). The lumped
        mass's two second-order errors have opposite signs and partly cancel;
        ``"averaged"`` removes each: modes 1–30 at 20 000 i.i.d. points, sphere
        0.12 → 0.02 %, ellipsoid 0.10 → 0.013 %, torus 0.11 → 0.02 %, Spot
        0.092 → 0.058 %, bunny 0.111 → 0.057 % (``benchmarks/bench_weak_mass.py``).
        On open surfaces whose rim is sampled (meshes, scans) likewise: Neumann
        hemisphere / disc at 10 000 points with points on the rim, 0.126 / 0.141 %
        lumped, 0.020 / 0.022 % averaged. Where the samples stop short of the true
        rim (i.i.d. points of a larger domain) the missing strip, about half a spacing
        wide, dominates both (0.81 / 1.10 % lumped, 0.94 / 1.23 % averaged). ``None``:
        ``"averaged"``; ``mass_kind_`` says which was used.
    method : {"taylor", "moments", "orthopoly", "clsgsp", "lsgsp"}, default="taylor"
        ``"moments"``: moment coefficients (order fixed at 2, ``k >= 6``; its
        Laplacian is the unweighted order-2 Taylor one, its gradient first order).
        ``"orthopoly"``: Carley's orthonormal polynomials with rank-revealing monomial
        selection (incomplete rows go through the guard like rank failures).
        ``"clsgsp"``: Ying et al.'s constrained least squares on RBFs centred at ghost
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
        ``None``: unweighted Taylor rows; ``0``: Turner et al.'s classical rows (divided by
        ``h_j``); ``d`` in 1..4: Turner et al.'s ``h_j^-d`` row weights on top.
    normals : {"auto", "estimate"} or array_like of shape (n, 3), default="auto"
        ``"auto"`` uses normals stored on the geometry, else a mesh's area-weighted
        vertex normals (Open3D/trimesh meshes; vertices in no face are estimated), else
        estimates them; ``"estimate"`` always estimates (PCA + quadratic height-fit
        correction); an array gives one normal per point (any length, any sign).
    height_order : {0, 2, 3}, default=2
        Order of the height-function fit correcting PCA normals (0 = PCA only).
    orient : {None, "outward", "mst"}, default=None
        Consistent normal orientation (only ``normals_`` depends on it; ``L`` does not).
    outliers : {"exclude", "keep", "error"}, default="exclude"
        Points off the surface their neighbours describe, and stray pieces of fewer than
        ``k + 1`` points (:mod:`o3d_meshless.sampling.outliers`). ``"exclude"``: their rows and
        columns of ``L_``, ``K_``, ``M_`` and ``mass_`` are empty (no mass, in nobody's
        neighbourhood), their eigenvector entries NaN, and
        ``diagnostics_["outlier_mask"]`` marks them. ``"keep"``: treated as surface
        points; ``"error"``: a ValueError.
    denoise : {"auto", True, False}, default="auto"
        Measure the operator on smoothed positions (:mod:`o3d_meshless.sampling.denoise`) while
        results stay at the input points. ``"auto"``: point clouds (not meshes) whose
        noise level exceeds 0.03 spacings and is noise, not a coarse sampling's fit
        error (see :func:`o3d_meshless.prepare`). Ellipsoid, 20 000 points, modes 1–30:
        noise 0.05 / 0.2 / 0.5 spacings give 0.22 / 2.6 / 10.4 % without, 0.020 / 0.079
        / 0.31 % with.
        ``diagnostics_["denoised"]`` says whether it was done.
    guard : bool, default=True
        Recompute rows that fail the rank or diagonal-dominance test (see
        :mod:`o3d_meshless.operators.guard`).
    bounds : bool, default=False
        Also store Turner et al.'s per-point singular values in ``diagnostics_``.
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
    mass_ : scipy.sparse.csr_matrix of shape (n, n)
        ``form="weak"`` only: the pencil's mass matrix (see ``mass``), symmetric positive
        definite, rows summing to the areas; ``M_`` itself when the mass is lumped, not
        diagonal when it is averaged (the default).
    mass_kind_ : {"lumped", "averaged"}
        ``form="weak"`` only: the mass that was built (``mass``, or what ``None`` chose).
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

    def __init__(self, *, form: str = "strong", method: str = "taylor", k: int = 16,
                 order: int | str | None = None, weights: int | str | None = None,
                 normals: str | ArrayLike = "auto", height_order: int = 2,
                 orient: str | None = None, guard: bool = True, bounds: bool = False,
                 workers: int = -1, progress: bool | None = None, centre: str | None = None,
                 rbf: str | None = None, shape: float | None = None,
                 ghosts: str | int | ArrayLike | None = None,
                 mass: str | None = None, outliers: str = "exclude",
                 denoise: str | bool = "auto") -> None:
        self.form = form
        self.mass = mass
        super().__init__(method=method, k=k, order=order, weights=weights, normals=normals,
                         height_order=height_order, orient=orient, guard=guard, bounds=bounds,
                         workers=workers, progress=progress, centre=centre, rbf=rbf,
                         shape=shape, ghosts=ghosts, outliers=outliers, denoise=denoise)

    def _check_params(self):
        check_option(self.form, FORMS, name="form", owner="LaplaceBeltrami")
        if self.mass is not None:
            check_option(self.mass, MASS_KINDS, name="mass", owner="LaplaceBeltrami")
            if self.form != "weak":
                raise ValueError("`mass` of LaplaceBeltrami chooses the weak form's mass "
                                 "matrix; the strong form has none: drop it or use "
                                 "form='weak'")
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

    def fit(self, geometry: Geometry) -> LaplaceBeltrami:
        """Build ``L_`` and ``M_`` (and ``K_`` for ``form="weak"``); returns ``self``."""
        stages = Stages(5, desc="LaplaceBeltrami", progress=self.progress)
        for name in ("K_", "mass_", "mass_kind_"):      # a refit in the other form
            self.__dict__.pop(name, None)                # must not keep the old ones
        try:
            nb, frames = self._prepare(geometry, stages)
            if self.form == "weak":
                kind = self.mass or "averaged"
                averaged = kind == "averaged"
                with stages("Voronoi cells"):
                    K, areas, is_open, chord = voronoi_stiffness(
                        nb, frames, conormals=self.sampling_.conormals,
                        n_threads=self._n_threads, arc=averaged)
                with stages("assembly"):
                    self.mass_kind_ = kind
                    self.diagnostics_["open_cells"] = int(is_open.sum())
                    self.diagnostics_["chord_cells"] = int(chord.sum())
                    mass, n_capped = None, 0
                    if averaged:
                        mass, n_capped = averaged_mass(K, nb.points, areas,
                                                       inverse=nb.inverse)
                    self.diagnostics_["mass_capped_rows"] = n_capped
                    if nb.inverse is None:
                        M = assembly.mass_matrix(areas)
                    else:
                        K = expand_stiffness(K, nb.inverse)
                        M = assembly.expand_mass(areas, nb.inverse)
                    K, M = self._embed(K), self._embed(M)
                    mass = None if mass is None else self._embed(mass)
                    self.K_ = K
                    self.mass_ = M if mass is None else mass
                    d = M.diagonal()
                    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
                    L = (sparse.diags(inv) @ K).tocsr()
                self.form_ = "weak"
                self.L_, self.M_ = L, M
                self.diagnostics_["timings"] = stages.timings
                return self
            with stages("stencils"):
                st = self._stencils(nb, frames, [LAPLACIAN], 0, 2)
                release_freed_memory()      # the stencil pass's temporaries (peak memory)
            with stages("assembly"):
                reordering = assembly.is_reordering(nb.inverse, len(nb.points))
                L = assembly.laplacian_matrix(st, inverse=nb.inverse if reordering else None)
                del st                # its per-row arrays are L's size again (peak memory)
                areas, n_open = assembly.lumped_areas(nb, frames, n_threads=self._n_threads)
                self.diagnostics_["open_cells"] = n_open
                if nb.inverse is None:
                    M = assembly.mass_matrix(areas)
                else:
                    if not reordering:
                        L = assembly.expand_rows_cols(L, nb.inverse, tie=L.diagonal())
                    M = assembly.expand_mass(areas, nb.inverse)
                L, M = self._embed(L), self._embed(M)
        finally:
            stages.close()
        self.form_ = "strong"
        self.L_, self.M_ = L, M
        self.diagnostics_["timings"] = stages.timings
        return self

    def spectrum(self, n_modes: int = 20, *, sigma: float | None = None) -> SpectrumResult:
        """Smallest ``n_modes`` eigenpairs of ``L_`` (see :func:`o3d_meshless.spectrum`).

        Returns a :class:`~o3d_meshless.SpectrumResult` ``(vals, vecs)`` with ``.report``;
        sets ``eigenvalues_``, ``eigenvectors_`` and ``spectrum_report_``.
        """
        self._check_fitted("L_")
        if getattr(self, "form_", "strong") == "weak":
            vals, vecs, report = eigenpairs(self.K_, self.mass_, n_modes, sigma=sigma,
                                            symmetric=True, progress=self.progress)
        else:
            vals, vecs, report = eigenpairs(self.L_, self.M_, n_modes, sigma=sigma,
                                            progress=self.progress)
        diag = getattr(self, "diagnostics_", {})
        report = dataclasses.replace(report, n_outliers=diag.get("n_outliers", 0),
                                     noise_level=diag.get("noise_level", float("nan")),
                                     denoised=bool(diag.get("denoised")),
                                     coarse=bool(diag.get("coarse")),
                                     sheet_conflicts=int(diag.get("sheet_conflicts", 0)),
                                     sheets_unresolved=int(diag.get("sheets_unresolved", 0)),
                                     sheets_unresolved_share=float(
                                         diag.get("sheets_unresolved_share", 0.0)))
        if report.reason and not report.n_negative and "complex" not in report.reason:
            # (negative and complex eigenvalues have been warned about already)
            warn(f"spectrum: {report.reason}", RuntimeWarning)
        self.eigenvalues_, self.eigenvectors_, self.spectrum_report_ = vals, vecs, report
        self.max_imag_ = report.max_imag
        return SpectrumResult(vals, vecs, report)


def laplace_beltrami(geometry: Geometry, *, form: str = "strong",
                     **options: Any) -> tuple[sparse.csr_matrix, sparse.dia_matrix]:
    """``(L, M)``: strong-form ``L ≈ −Δ_S`` (CSR) and diagonal lumped areas ``M``; with
    ``form="weak"``, ``(K, M)``: the symmetric positive semi-definite stiffness
    ``K ≈ M(−Δ_S)`` and the pencil's mass matrix (``mass_``: by default the averaged
    mass, symmetric positive definite but not diagonal, its rows summing to the areas;
    the diagonal areas with ``mass="lumped"``).

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
    if op.form_ == "weak":
        return op.K_, op.mass_             # not diagonal when op.mass_kind_ == "averaged"
    return op.L_, op.M_


def spectrum(geometry: Geometry, n_modes: int = 20, *, form: str | None = None,
             sigma: float | None = None, **options: Any) -> SpectrumResult:
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
            round-off for the weak form, where ``M`` is the estimator's ``mass_``: the
            averaged mass by default, the lumped areas with ``mass="lumped"``).
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
