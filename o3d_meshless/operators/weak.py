"""The symmetric weak-form Laplace–Beltrami: a two-point-flux stiffness on tangent-plane
Voronoi cells.

Each point's Voronoi cell among its neighbours, in its own tangent plane (the cell
:func:`o3d_meshless.operators.assembly.lumped_areas` measures), gives for every neighbour ``j``
whose bisector bounds the cell the length ``ℓ_ij`` of the shared cell edge. The flux of
``∇u`` through that edge is ``ℓ_ij (u_j − u_i) / |x_j − x_i|`` (the edge is
perpendicular to ``x_j − x_i`` and halves it), so

    (K u)_i = Σ_j w_ij (u_i − u_j),    w_ij = (ℓ_ij / |x_ij| + ℓ_ji / |x_ji|) / 2

approximates ``−∫_cell Δ_S u = m_i (−Δ_S u)(x_i)``. On a Delaunay triangulation these
weights are exactly the cotangent weights ``(cot α + cot β) / 2``: ``K`` is the
linear-FEM stiffness of the triangulation every point's tangent plane implies, without
ever building a global mesh. Averaging the two cells' edges makes ``K`` symmetric; the
two agree except where the local triangulations of neighbouring points differ (nearly
co-circular neighbours, where the weights are small anyway).

Properties that hold by construction, on any input:

* ``K`` is symmetric, its off-diagonal entries are ``−w_ij <= 0`` and ``K·1 = 0``, so
  ``K`` is positive semi-definite: no negative eigenvalue can appear, and there is one
  zero eigenvalue per connected piece of the neighbour graph;
* ``M`` (the cell areas) is diagonal and positive.

On an open boundary the cell of a boundary point ends at the boundary line through the
point (across its outward conormal, see :mod:`o3d_meshless.sampling.boundary`), as a mesh's dual
cell does; that edge carries no flux: the natural (Neumann) boundary condition, as in
finite elements.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from . import assembly
from .._validation import n_threads_from_workers

__all__ = ["voronoi_stiffness", "steep_cells", "expand_stiffness", "own_cell_stiffness",
           "averaged_mass", "MASS_KINDS", "ARC_MAX_ELEVATION"]

#: ``"lumped"``: the diagonal cell areas; ``"averaged"``: the mean of the lumped and the
#: consistent mass (see :func:`averaged_mass`)
MASS_KINDS = ("lumped", "averaged")
#: weight of the edge-length correction in :func:`averaged_mass`: the lumped minus the
#: consistent P1 mass of an equilateral triangulation is ``K_h / 8``, half of it is 1/16
AVERAGED_MASS_WEIGHT = 1.0 / 16.0
#: each row's correction is capped so that its off-diagonal sum stays below this share of
#: its cell area: the mass matrix stays strictly diagonally dominant, hence positive definite
MASS_ROW_CAP = 0.45
#: cells at arc length (``arc=True``) only where the neighbours that bound the cell rise
#: less than this (RMS elevation above the tangent plane, in radians, weighted by the
#: shared edges); steeper cells stay at chord length. The arc length is a second-order
#: expansion in the elevation: where a cell's neighbours are 0.4 curvature radii away or
#: more (tips, necks and creases only a few points across) it inflates the cells and
#: lowers the stiffness, and the eigenvalues come out low (at 20 000 points, modes 1–30:
#: Spot −0.10 → −0.015 %, bunny −0.15 → −0.014 % signed error with this limit). No cell
#: of the unit sphere or the (1, 0.6, 0.3) ellipsoid at 20 000 points rises above 0.1.
ARC_MAX_ELEVATION = 0.2


def voronoi_stiffness(nb, frames, *, conormals=None, n_threads=1, arc=False):
    """Weak-form ``K ≈ M(−Δ_S)`` and lumped areas of the unique points of ``nb``.

    Parameters
    ----------
    nb : Neighborhoods
    frames : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)`` per unique point.
    conormals : ndarray of shape (n, 2) or None
        Outward conormals of open-boundary points (zero rows elsewhere), as
        :func:`o3d_meshless.sampling.boundary.detect_boundary` gives them: their cells end at the
        boundary line through the point.
    n_threads : int
    arc : bool, default=False
        Place neighbours at arc length instead of chord length (see
        :func:`o3d_meshless.operators.assembly.chart_distance`) in the cells whose neighbours rise
        less than :data:`ARC_MAX_ELEVATION`; ``mass="averaged"`` uses it.

    Returns
    -------
    K : scipy.sparse.csr_matrix of shape (n, n)
        Symmetric, nonpositive off-diagonal entries, rows summing to 0.
    areas : ndarray of shape (n,)
    is_open : ndarray of shape (n,), bool
        Cells not closed by their neighbours (open boundary).
    chord : ndarray of shape (n,), bool
        Cells at chord length although ``arc=True`` (all False without ``arc``).
    """
    areas, is_open, dual = assembly.voronoi_cells(nb, frames, n_threads=n_threads,
                                                  conormals=conormals, arc=arc)
    n = len(areas)
    chord = np.zeros(n, dtype=bool)
    if arc:
        chord = steep_cells(nb.points, frames, dual)
        if chord.any():                  # measure those cells again at chord length
            rows = np.flatnonzero(chord)
            areas[rows], is_open[rows], redone = assembly.voronoi_cells(
                nb, frames, n_threads=n_threads, conormals=conormals, rows=rows)
            dual = sparse.diags((~chord).astype(np.float64)) @ dual + redone
            dual.eliminate_zeros()
    d = dual.tocoo()
    dist = assembly.chart_distance(nb.points, frames, d.row, d.col,
                                   arc=arc and ~chord[d.row])
    directed = sparse.csr_matrix((d.data / dist, (d.row, d.col)), shape=(n, n))
    W = ((directed + directed.T) * 0.5).tocsr()
    W.eliminate_zeros()
    degree = np.asarray(W.sum(axis=1)).ravel()
    K = (sparse.diags(degree) - W).tocsr()
    K.sort_indices()
    return K, areas, is_open, chord


def steep_cells(points, frames, dual):
    """Cells whose bounding neighbours rise more than :data:`ARC_MAX_ELEVATION` above the
    tangent plane (RMS of the elevation angles, weighted by the shared edges).

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    frames : ndarray of shape (n, 3, 3)
    dual : scipy.sparse.csr_matrix of shape (n, n)
        Cell edge lengths, as :func:`o3d_meshless.operators.assembly.voronoi_cells` gives them.

    Returns
    -------
    ndarray of shape (n,), bool
    """
    d = dual.tocoo()
    n = dual.shape[0]
    _, elevation = assembly.chord_elevation(points, frames, d.row, d.col)
    edge = np.bincount(d.row, d.data, minlength=n)
    moment = np.bincount(d.row, d.data * elevation ** 2, minlength=n)
    return moment > ARC_MAX_ELEVATION ** 2 * edge


def expand_stiffness(K, inverse):
    """``K`` on unique points → on the input points, coincident copies tied together.

    A field equal on every copy of a point keeps its energy (``K_full = Rᵀ K R`` with
    ``R`` averaging the copies); differences between copies get the stiffness of the
    point's diagonal (a spring ``d_i Σ (u_a − mean)²``), so they are neither free zero
    modes nor coupled to anything else. Symmetry and positive semi-definiteness are kept.
    """
    if assembly.is_reordering(inverse, K.shape[0]):
        return assembly.reordered(K, inverse)
    n_full = len(inverse)
    counts, P, R = assembly.coincident_maps(inverse, K.shape[0])
    out = R.T @ K @ R
    grouped = counts[inverse] > 1
    if grouped.any():
        t = np.where(grouped, K.diagonal()[inverse], 0.0)
        T = sparse.diags(np.sqrt(t))
        # T (I − P R) T is symmetric PSD: (I − P R) is the projector on within-group
        # differences and is symmetric because P R = P diag(1/count) Pᵀ
        out = out + T @ (sparse.identity(n_full) - P @ R) @ T
    out = ((out + out.T) * 0.5).tocsr()
    out.sort_indices()
    return out


def own_cell_stiffness(op):
    """Weak-form rows of a fitted weak :class:`~o3d_meshless.LaplaceBeltrami` from each
    point's own Voronoi cell (not symmetrised), or None.

    Next to an open boundary the symmetric ``K`` averages the cut cell of one point with
    the uncut cell of its neighbour, which leaves rows just inside the rim inconsistent
    (up to 600 % off on a flat disc); a Dirichlet solve that keeps only interior rows
    is second-order accurate with these rows instead.

    ``A_ij = −ℓ_ij / |x_ij|`` with ``ℓ_ij`` the edge of ``i``'s tangent-plane cell facing
    ``j``, ``A_ii = Σ_j ℓ_ij / |x_ij|``: rows sum to 0, off-diagonals <= 0. ``None`` when
    coincident points were merged (the symmetric ``K_`` is used then).
    """
    s = op.sampling_
    nb = s.neighborhoods
    if nb.merged:
        return None
    _, _, dual = assembly.voronoi_cells(nb, s.frames, conormals=s.conormals,
                                        n_threads=n_threads_from_workers(op.workers))
    d = dual.tocoo()
    dist = assembly.chart_distance(nb.points, s.frames, d.row, d.col)
    n = dual.shape[0]
    W = sparse.csr_matrix((d.data / dist, (d.row, d.col)), shape=(n, n))
    A = (sparse.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()
    A = A if nb.inverse is None else assembly.reordered(A, nb.inverse)
    if s.kept is not None:                # outliers excluded: their rows stay empty
        A = assembly.embed_rows_cols(A, s.kept, len(s.points))
    return A


def averaged_mass(K, points, areas, *, inverse=None):
    """Mass matrix of the weak pencil ``K v = λ B v``: the mean of the lumped and the
    consistent mass, built from ``K``'s own edges.

    Lumped (diagonal) mass puts a two-point-flux or linear-FEM spectrum below the exact
    one, and consistent mass above it, both at second order; their mean cancels the
    leading term (exactly so on a uniform 1-D grid, where the error becomes fourth order).
    The consistent mass of the triangulation that every point's tangent-plane cell
    implies is not needed explicitly: lumped minus consistent mass is a graph Laplacian
    whose edge weight is a twelfth of the two triangles beside the edge, which on an
    equilateral triangulation is ``w_ij |x_ij|² / 8`` (``w_ij`` the stiffness weight, so
    ``w_ij |x_ij|²`` is the edge's share of the cells). Hence

        B = diag(areas) − γ K_h,    (K_h)_ij = −w_ij |x_ij|²,  K_h · 1 = 0,  γ = 1/16.

    ``B · 1 = areas``: the total area is kept. Each edge's ``γ`` is capped at
    ``0.45 · area_i / Σ_j w_ij |x_ij|²`` of both its ends, so that ``B`` stays strictly
    diagonally dominant with a positive diagonal: symmetric positive definite on any
    input (the cap is rarely reached: about ``4 · area_i`` is the usual row sum).

    With the same chord-length cells, modes 1–30 at 20 000 i.i.d. points
    (``benchmarks/bench_weak_mass.py``): unit sphere 0.12 % → 0.02 % mean error,
    ellipsoid 0.10 % → 0.02 %; ``LaplaceBeltrami(mass="averaged")`` also measures the
    cells at arc length, which matters on strongly curved parts.

    Parameters
    ----------
    K : scipy.sparse matrix of shape (n, n)
        Weak-form stiffness on the unique points (:func:`voronoi_stiffness`).
    points : ndarray of shape (n, 3)
        The unique points.
    areas : ndarray of shape (n,)
        Their cell areas.
    inverse : ndarray of shape (n_input,) or None
        Input point → unique point, when coincident points were merged: ``B`` is then
        expanded to the input points (a group's area split among its copies, the
        correction acting on the group's mean), still positive definite.

    Returns
    -------
    B : scipy.sparse.csr_matrix of shape (n, n) or (n_input, n_input)
        Symmetric positive definite where every area is positive; ``B.sum(axis=1)``
        equals the (split) areas.
    n_capped : int
        Rows whose correction was capped.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> op = om.LaplaceBeltrami(form="weak", mass="averaged").fit(random_sphere(2000))
    >>> B = op.mass_
    >>> bool(np.allclose(np.asarray(B.sum(axis=1)).ravel(), op.M_.diagonal()))
    True
    """
    n = K.shape[0]
    areas = np.asarray(areas, dtype=np.float64)
    points = np.asarray(points, dtype=np.float64)
    if K.shape != (n, n) or areas.shape != (n,) or points.shape != (n, 3):
        raise ValueError(f"averaged_mass needs a square `K`, `areas` of shape (n,) and "
                         f"`points` of shape (n, 3) for the same n; got K {K.shape}, areas "
                         f"{areas.shape}, points {points.shape}")
    if not (np.isfinite(areas).all() and (areas >= 0).all()):
        raise ValueError("`areas` of averaged_mass must be finite and >= 0 (cell areas)")
    upper = sparse.triu(K, 1).tocoo()
    d2 = np.einsum("ij,ij->i", points[upper.row] - points[upper.col],
                   points[upper.row] - points[upper.col])
    share = -upper.data * d2                        # w_ij |x_ij|² >= 0
    row_share = (np.bincount(upper.row, share, minlength=n)
                 + np.bincount(upper.col, share, minlength=n))
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = np.where(row_share > 0, MASS_ROW_CAP * areas / row_share, np.inf)
    gamma = np.minimum(AVERAGED_MASS_WEIGHT, np.minimum(cap[upper.row], cap[upper.col]))
    n_capped = int(np.count_nonzero(cap < AVERAGED_MASS_WEIGHT))
    c = gamma * share
    off = sparse.csr_matrix((np.concatenate([c, c]),
                             (np.concatenate([upper.row, upper.col]),
                              np.concatenate([upper.col, upper.row]))), shape=(n, n))
    # correction −γ K_h: positive off-diagonal entries, rows summing to zero
    correction = (off - sparse.diags(np.asarray(off.sum(axis=1)).ravel())).tocsr()
    if inverse is None or assembly.is_reordering(inverse, n):
        B = (sparse.diags(areas) + correction).tocsr()
        if inverse is not None:
            B = assembly.reordered(B, inverse)
    else:
        _, _, R = assembly.coincident_maps(inverse, n)
        B = (assembly.expand_mass(areas, inverse) + R.T @ correction @ R).tocsr()
        B = ((B + B.T) * 0.5).tocsr()
    B.sort_indices()
    return B, n_capped
