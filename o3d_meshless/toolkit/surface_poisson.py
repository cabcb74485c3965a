"""The surface Poisson equation ``Δ_S u = f`` on a sampled surface.

(The module is not called ``poisson``: :mod:`o3d_meshless.scattered.poisson` solves the planar
Dirichlet problems of seed 003 on scattered points; this one solves on a surface.)

**Discretisation.** With the symmetric weak form of
:class:`~o3d_meshless.LaplaceBeltrami` (``form="weak"``, the default): stiffness
``K ≈ M(−Δ_S)`` and lumped areas ``M``, the equation is

    K u = −M f,

the linear-FEM system of the triangulation the tangent-plane Voronoi cells imply, with a
lumped load. ``form="strong"`` collocates instead: ``L u = −f`` with the pointwise ``L ≈
−Δ_S`` (not symmetric).

**Closed surfaces** (and pieces without a Dirichlet point). ``K`` has one constant null
vector per connected piece of its graph, so ``f`` must have zero mean on each piece and
``u`` is fixed up to a constant per piece. Each such piece gets one border row and
column: the system solved is

    [ K      M 1_p ] [u]   [−M f]
    [ 1_pᵀ M   0   ] [c] = [  0 ],

which is nonsingular, makes ``u`` M-mean-zero on the piece (``Σ_p m_i u_i = 0``), and
whose multiplier ``c = −f̄`` removes the M-weighted mean ``f̄`` of ``f`` on the piece:
``u`` solves ``Δ_S u = f − f̄`` exactly in the discrete sense. A mean larger than
``MEAN_WARN`` (1 %) of the RMS of ``f`` on the piece raises a ``RuntimeWarning``: the
problem as posed had no solution, and the one returned is for the mean-zero part. (The
strong form borders ``L`` with the column ``1_p`` and the row ``1_pᵀ M``; its ``c`` is
the constant that puts ``f`` in the range of ``L``, close to but not exactly the
M-weighted mean.) The pieces are the connected components of the matrix's graph
(:func:`scipy.sparse.csgraph.connected_components`).

**Open surfaces.** Dirichlet values are imposed at the *boundary points*: by default the
open-boundary points :func:`o3d_meshless.prepare` detects (``Sampling.boundary``; a
mesh's boundary edges when the geometry is a mesh), or the points given by ``boundary``.
The rows of the other points are solved with the Dirichlet columns moved to the right:
``A_II u_I = −M_I f_I − A_ID g_D``. ``A`` is not the symmetric ``K`` there but each
point's *own* cell: ``A_ij = −ℓ_ij / |x_ij|`` with ``ℓ_ij`` the edge of ``i``'s
tangent-plane Voronoi cell facing ``j`` (``K`` averages ``ℓ_ij`` and ``ℓ_ji``). The
reason: a boundary point's cell is cut along the boundary line through it, so the edge
it reports to an interior neighbour is not the one the neighbour's cell has, and with
the average the rows next to the boundary are inconsistent (flat disc, 2 000 points:
``(K(x² + y²))_i / m_i`` is off from −4 by up to 600 % at interior points near the
rim). Measured on a flat unit disc, ``u = x² + y²``, relative L2 error at 2 000 /
8 000 / 32 000 i.i.d. points: 9.6e-3 / 5.2e-3 / 2.5e-3 with ``K`` (first order), round-off
with own-cell rows (they are exact for quadratics on a plane); upper unit hemisphere,
``u = xy``: 2.5e-3 / 1.3e-3 / 2.7e-4 with ``K``, 1.2e-3 / 2.9e-4 / 7.2e-5 with own-cell
rows. Own-cell rows sum to 0 with off-diagonals <= 0, so with Dirichlet points the
matrix is an M-matrix (discrete maximum principle), but not symmetric. (Inputs with
coincident points fall back to ``K``.) Pieces without a Dirichlet point keep ``K``.

Without ``boundary_values`` an open surface gets the weak form's natural condition (zero
normal derivative) and the mean-zero treatment of a closed surface. That is only first
order on i.i.d. samples: the cells end at the outermost points, on average ``O(h)``
inside the true boundary (upper unit hemisphere, ``u = xy``, whose normal derivative
vanishes at the rim: relative L2 error 3.0e-2 / 1.6e-2 / 5.4e-3 at 2 000 / 8 000 / 32
000 points, and the cells' total area is short by 1.9 / 0.9 / 0.5 %).

**Neighbours.** The default ``k`` is 32 for the weak form (the operators' default is
16). The weak stiffness is built from each point's Voronoi cell among its ``k`` nearest
neighbours; on i.i.d. samples a Voronoi neighbour is sometimes not among the 16 nearest.
Measured on a 32 000-point i.i.d. unit sphere against the exact Delaunay cotangent
weights of the same points: 2.7 % of the rows differ by more than 1 % at ``k = 16`` (one
by 127 %: a closed sphere where the gap test flagged 2 points as open boundary), 0.3 %
at ``k = 24``, 0.03 % at ``k = 32``. The Poisson error follows: relative M-weighted L2
error of ``u = xy`` (median of 5 seeds) 5.5e-4 at ``k = 16``, 2.9e-4 at 24, 2.4e-4 at
32, and the observed order from 8 000 to 32 000 points rises from 1.2 to 2.1. The strong
form defaults to ``k = 24``: at ``k = 16`` two of five 32 000-point samples gave errors
50–150× larger than the others.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.sparse.linalg import splu

from .._validation import check_option
from .._warnings import warn
from ..operators.laplacian import FORMS, LaplaceBeltrami
from ..sampling.sampled_surface import Sampling
from ..operators.weak import own_cell_stiffness
from .._typing import ArrayLike, Geometry
from .surface_poisson_result import SurfacePoissonResult

__all__ = ["solve_surface_poisson", "SurfacePoissonResult", "DEFAULT_K", "MEAN_WARN"]

#: default neighbours per form (see the module notes)
DEFAULT_K = {"weak": 32, "strong": 24}
#: warn when a mean larger than this fraction of the RMS of ``f`` is removed from a piece
MEAN_WARN = 0.01
#: ``boundary`` value meaning "no Dirichlet points: the natural condition everywhere"
NATURAL = "natural"




def _real_array(value, name, fix):
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)) \
            or arr.dtype == bool:
        raise ValueError(f"`{name}` must be real numbers; got dtype {arr.dtype} ({fix})")
    return arr


def _check_f(f, n):
    fix = f"pass one value per point, shape ({n},), or a single number"
    arr = _real_array(f, "f", fix)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"`f` must have shape ({n},) (one value per point, in input order) "
                         f"or be a single number; got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"`f` must be finite; {int(bad.sum())} value(s) are NaN or inf "
                         f"(first at index {int(np.flatnonzero(bad)[0])})")
    return arr


def _check_boundary(boundary, n):
    """``boundary`` as a bool mask (n,), or None (detected) / NATURAL."""
    if boundary is None:
        return None
    if isinstance(boundary, str):
        check_option(boundary, (NATURAL,), name="boundary")
        return NATURAL
    arr = np.asarray(boundary)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"`boundary` as a mask must have shape ({n},) (one flag per "
                             f"point); got shape {arr.shape}")
        return arr.copy()
    if arr.size == 0:
        return np.zeros(n, dtype=bool)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError("`boundary` must be None (the detected open boundary), 'natural', "
                         f"a boolean mask of shape ({n},) or an array of point indices; got "
                         f"dtype {arr.dtype}")
    arr = np.atleast_1d(arr)
    if arr.ndim != 1:
        raise ValueError(f"`boundary` indices must be a 1-D array; got shape {arr.shape}")
    if arr.min() < 0 or arr.max() >= n:
        bad = arr[(arr < 0) | (arr >= n)][0]
        raise ValueError(f"`boundary` indices must be in 0 <= i < {n}; got {bad} (negative "
                         "indices are not accepted)")
    mask = np.zeros(n, dtype=bool)
    mask[arr] = True
    return mask


def _check_values(boundary_values, mask, n):
    """Dirichlet values as an (n,) array, finite at ``mask``."""
    fix = (f"pass an array of shape ({n},) whose entries at the boundary points are used "
           "(NaN elsewhere is fine), or a single number")
    arr = _real_array(boundary_values, "boundary_values", fix)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"`boundary_values` must have shape ({n},) (one entry per point, "
                         f"read at the boundary points only) or be a single number; got "
                         f"shape {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64)
    bad = mask & ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"`boundary_values` must be finite at the {int(mask.sum())} boundary "
                         f"points; {int(bad.sum())} are NaN or inf (first at index "
                         f"{int(np.flatnonzero(bad)[0])}): give values there, or choose the "
                         "Dirichlet points yourself with `boundary`")
    return np.where(mask, arr, 0.0)


def _operator(geometry, form, options):
    """A fitted :class:`LaplaceBeltrami` of ``form`` for ``geometry``."""
    if isinstance(geometry, LaplaceBeltrami):
        if options:
            raise ValueError(f"options {sorted(options)} cannot be applied to a fitted "
                             "LaplaceBeltrami: set them on it, or pass the points instead")
        if not hasattr(geometry, "L_"):
            raise ValueError("`geometry` is an unfitted LaplaceBeltrami: fit it first")
        have = getattr(geometry, "form_", "strong")
        if have != form:
            raise ValueError(f"`geometry` is a LaplaceBeltrami fitted with form={have!r} but "
                             f"form={form!r} was asked: pass form={have!r}, or fit "
                             f"LaplaceBeltrami(form={form!r})")
        return geometry
    known = LaplaceBeltrami._param_defaults()
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} of solve_surface_poisson: the options "
                         "are those of LaplaceBeltrami "
                         f"({', '.join(sorted(set(known) - {'form'}))})")
    opts = dict(options)
    if isinstance(geometry, Sampling):          # its own options, unless given
        so = geometry.options
        opts.setdefault("normals", so["normals_array"] if so["normals"] == "array"
                        else so["normals"])
        for name in ("k", "height_order", "orient", "outliers", "denoise"):
            if name in so:
                opts.setdefault(name, so[name])
    else:
        opts.setdefault("k", DEFAULT_K[form])
    opts.setdefault("progress", False)
    return LaplaceBeltrami(form=form, **opts).fit(geometry)


def solve_surface_poisson(geometry: Geometry, f: ArrayLike, *,
                          boundary_values: ArrayLike | float | None = None, boundary: Any = None,
                          form: str = "weak", **options: Any) -> SurfacePoissonResult:
    """Solve ``Δ_S u = f`` on a sampled surface (closed, or open with Dirichlet values).

    See :mod:`o3d_meshless.toolkit.surface_poisson` for the discretisation and the measured
    choice of ``k``.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), Sampling, or fitted LaplaceBeltrami
        The surface. A fitted :class:`~o3d_meshless.LaplaceBeltrami` is used as it is
        (its form must equal ``form``; no ``options`` then): fit one to solve several
        right-hand sides.
    f : array_like of shape (n,) or float
        ``Δ_S u`` at every point (input order); a number means a constant.
    boundary_values : array_like of shape (n,), float, or None, default=None
        Dirichlet values: only the entries at the boundary points are read (put NaN, or
        anything finite, elsewhere); a number is the same value at every boundary point.
        ``None``: no Dirichlet condition; closed surfaces, or the natural condition (zero
        normal derivative) at an open boundary.
    boundary : None, "natural", array_like of bool of shape (n,), or array_like of int, default=None
        The Dirichlet points. ``None``: the detected open-boundary points
        (``Sampling.boundary``) when ``boundary_values`` is given, none otherwise.
        ``"natural"``: none (the natural condition on any open boundary; silences the
        warning about a detected boundary). A mask or indices: those points (on any
        surface, closed ones too).
    form : {"weak", "strong"}, default="weak"
        ``"weak"``: ``K u = −M f`` with the symmetric stiffness (recommended: positive
        semi-definite by construction, second-order accurate on i.i.d. samples).
        ``"strong"``: collocation ``L u = −f``.
    **options
        Options of :class:`~o3d_meshless.LaplaceBeltrami` (``k``, ``normals``,
        ``height_order``, ``orient``, ``workers``, and for the strong form its stencil
        options). Default ``k``: ``DEFAULT_K`` (32 weak, 24 strong); a ``Sampling``
        keeps its own.

    Returns
    -------
    SurfacePoissonResult
        ``u`` (n,), ``residual``, ``n_pieces``, ``boundary`` (indices of the Dirichlet
        points), ``f_mean`` (n_pieces,) removed from ``f``, ``labels`` (n,), ``form``
        and the fitted ``operator``.

    Raises
    ------
    ValueError
        ``f`` or ``boundary_values`` of the wrong shape, non-numeric or non-finite where
        used; ``boundary`` not a mask, indices or ``"natural"``, or out of range;
        ``boundary_values`` with no boundary point to put them on (a closed surface:
        give ``boundary`` explicitly); ``boundary`` as points without
        ``boundary_values``; unknown options; bad operator options.
    RuntimeError
        The bordered system is singular (e.g. a strong-form operator with a larger
        null space than one constant per piece).

    Warns
    -----
    RuntimeWarning
        A mean larger than ``MEAN_WARN`` × RMS was removed from ``f`` on some piece; or
        open-boundary points were detected but no ``boundary_values`` given (the
        natural condition is used: pass ``boundary="natural"`` to say so).

    Examples
    --------
    ``u = xy`` is a spherical harmonic of degree 2: ``Δ_S u = −6u`` on the unit sphere.

    >>> import numpy as np
    >>> from o3d_meshless.toolkit.surface_poisson import solve_surface_poisson
    >>> p = np.random.default_rng(0).normal(size=(1000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> exact = p[:, 0] * p[:, 1]
    >>> sol = solve_surface_poisson(p, -6 * exact)
    >>> bool(np.abs(sol.u - exact).max() < 0.02), sol.n_pieces, sol.residual < 1e-10
    (True, 1, True)

    On the upper hemisphere the rim is detected and carries the exact values:

    >>> top = p[p[:, 2] > 0]
    >>> exact = top[:, 0] * top[:, 1]
    >>> sol = solve_surface_poisson(top, -6 * exact, boundary_values=exact)
    >>> len(sol.boundary) > 0, bool(np.abs(sol.u - exact).max() < 0.02)
    (True, True)
    """
    check_option(form, FORMS, name="form")
    op = _operator(geometry, form, options)
    A = (op.K_ if form == "weak" else op.L_).tocsr()
    n = A.shape[0]
    m = op.M_.diagonal()
    fv = _check_f(f, n)

    mask = _check_boundary(boundary, n)
    detected = np.asarray(op.sampling_.diagnostics["boundary_mask"], dtype=bool)
    if mask is None:
        if boundary_values is None:
            if detected.any():
                warn(f"solve_surface_poisson: {int(detected.sum())} open-boundary "
                     "points were detected but no `boundary_values` were given; the "
                     "natural condition (zero normal derivative) is used there. To fix: "
                     "pass boundary_values=... for Dirichlet values, or "
                     "boundary='natural' to say the natural condition is meant", RuntimeWarning)
            mask = np.zeros(n, dtype=bool)
        elif not detected.any():
            raise ValueError("`boundary_values` were given but no open-boundary point was "
                             "detected (a closed surface): pass `boundary` (a mask or the "
                             "indices of the points that carry the values), or drop "
                             "`boundary_values` to solve the closed-surface problem")
        else:
            mask = detected
    elif isinstance(mask, str):                       # "natural"
        if boundary_values is not None:
            raise ValueError("`boundary_values` cannot be used with boundary='natural' (no "
                             "Dirichlet points): drop one of them")
        mask = np.zeros(n, dtype=bool)
    elif boundary_values is None and mask.any():
        raise ValueError("`boundary` selects Dirichlet points but `boundary_values` is None: "
                         "pass boundary_values (shape (n,) or a number)")
    g = (_check_values(boundary_values, mask, n) if boundary_values is not None
         else np.zeros(n))

    excluded = op.diagnostics_.get("outlier_mask", np.zeros(n, bool))  # no row, NaN in u
    mask = mask & ~excluded
    n_pieces, labels = csgraph.connected_components(A, directed=False)
    free = np.ones(n_pieces, dtype=bool)          # pieces without a Dirichlet point
    free[labels[mask | excluded]] = False
    rows = "symmetric" if form == "weak" else "strong"
    if form == "weak" and mask.any():
        own = own_cell_stiffness(op)
        if own is not None:                       # pieces with Dirichlet points
            dirichlet_rows = sparse.diags((~free[labels]).astype(np.float64))
            A = (dirichlet_rows @ own + (sparse.identity(n) - dirichlet_rows) @ A).tocsr()
            rows = "own-cell"
    U = np.flatnonzero(~mask & ~excluded)
    D = np.flatnonzero(mask)
    weight = m if form == "weak" else np.ones(n)  # the load: −M f (weak), −f (strong)
    rhs = -weight * fv
    f_mean = np.zeros(n_pieces)
    u = g.copy()
    residual = 0.0
    if len(U):
        AU = A[U]
        AUU = AU[:, U]
        b = rhs[U] - AU[:, D] @ g[D]
        lu_rows = labels[U]
        in_free = free[lu_rows]
        pieces = np.flatnonzero(free)
        nf = len(pieces)
        if nf:
            col = np.full(n_pieces, -1)
            col[pieces] = np.arange(nf)
            r = np.flatnonzero(in_free)
            c = col[lu_rows[r]]
            # unscaled border: its entries (areas) stay far below the diagonal of A, so
            # SuperLU keeps diagonal pivots and the fill-reducing order (scaled to O(1)
            # it pivots off the diagonal and the factorisation is 9× slower)
            C = sparse.csr_matrix((weight[U][r], (r, c)), shape=(len(U), nf))
            R = sparse.csr_matrix((m[U][r], (c, r)), shape=(nf, len(U)))
            B = sparse.bmat([[AUU, C], [R, sparse.csr_matrix((nf, nf))]], format="csc")
            rhs_b = np.concatenate([b, np.zeros(nf)])
        else:
            B, rhs_b = AUU.tocsc(), b
        try:
            # minimum degree on Aᵀ + A with diagonal pivots preferred: both matrices are
            # structurally symmetric (SuperLU's default mode is 100× slower here)
            lu = splu(B, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
        except RuntimeError as exc:
            raise RuntimeError(f"solve_surface_poisson: the {form}-form system "
                               f"({B.shape[0]}×{B.shape[1]}) is singular ({exc}); check "
                               "op.diagnostics_ (failed rows) or use form='weak'") from exc
        x = lu.solve(rhs_b)
        u[U] = x[:len(U)]
        if nf:
            f_mean[pieces] = -x[len(U):]
            b = b + weight[U] * np.where(in_free, f_mean[lu_rows], 0.0)
        scale = np.abs(b).max()
        residual = float(np.abs(AUU @ u[U] - b).max() / (scale if scale > 0 else 1.0))
        if not np.isfinite(u[~excluded]).all():
            raise RuntimeError(f"solve_surface_poisson: the {form}-form solve gave NaN or inf")
        # warn about large removed means
        if nf:
            msum = np.bincount(labels, m, n_pieces)
            rms = np.sqrt(np.bincount(labels, m * fv ** 2, n_pieces) / msum)
            ratio = np.abs(f_mean) / np.where(rms > 0, rms, 1.0)
            big = free & (ratio > MEAN_WARN)
            if big.any():
                worst = int(np.argmax(np.where(big, ratio, 0.0)))
                warn(f"solve_surface_poisson: `f` did not have zero mean on "
                     f"{int(big.sum())} of {n_pieces} piece(s) without Dirichlet "
                     f"values (largest: mean {f_mean[worst]:.3g} = "
                     f"{ratio[worst]:.1%} of its RMS); Δu = f has no solution there, "
                     "so its mean was removed and u solves Δu = f − mean(f). To fix: "
                     "subtract the M-weighted mean of f on each piece (see f_mean)",
                     RuntimeWarning)
    u[excluded] = np.nan
    return SurfacePoissonResult(u=u, residual=residual,
                                n_pieces=len(np.unique(labels[~excluded])),
                                boundary=D.astype(np.intp), f_mean=f_mean, labels=labels,
                                form=form, rows=rows, operator=op)
