"""The symmetric weak-form Laplace–Beltrami: a two-point-flux stiffness on tangent-plane
Voronoi cells.

Each point's Voronoi cell among its neighbours, in its own tangent plane (the cell
:func:`o3d_meshless.assembly.lumped_areas` measures), gives for every neighbour ``j``
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
point (across its outward conormal, see :mod:`o3d_meshless.boundary`), as a mesh's dual
cell does; that edge carries no flux: the natural (Neumann) boundary condition, as in
finite elements.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from . import assembly
from ._validation import n_threads_from_workers

__all__ = ["voronoi_stiffness", "expand_stiffness", "own_cell_stiffness"]


def voronoi_stiffness(nb, frames, *, conormals=None, n_threads=1):
    """Weak-form ``K ≈ M(−Δ_S)`` and lumped areas of the unique points of ``nb``.

    Parameters
    ----------
    nb : Neighborhoods
    frames : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)`` per unique point.
    conormals : ndarray of shape (n, 2) or None
        Outward conormals of open-boundary points (zero rows elsewhere), as
        :func:`o3d_meshless.boundary.detect_boundary` gives them: their cells end at the
        boundary line through the point.
    n_threads : int

    Returns
    -------
    K : scipy.sparse.csr_matrix of shape (n, n)
        Symmetric, nonpositive off-diagonal entries, rows summing to 0.
    areas : ndarray of shape (n,)
    is_open : ndarray of shape (n,), bool
        Cells not closed by their neighbours (open boundary).
    """
    areas, is_open, dual = assembly.voronoi_cells(nb, frames, n_threads=n_threads,
                                                  conormals=conormals)
    n = len(areas)
    d = dual.tocoo()
    # the kernel places neighbours at their 3-D distance along the projected direction
    dist = np.linalg.norm(nb.points[d.row] - nb.points[d.col], axis=1)
    directed = sparse.csr_matrix((d.data / dist, (d.row, d.col)), shape=(n, n))
    W = ((directed + directed.T) * 0.5).tocsr()
    W.eliminate_zeros()
    degree = np.asarray(W.sum(axis=1)).ravel()
    K = (sparse.diags(degree) - W).tocsr()
    K.sort_indices()
    return K, areas, is_open


def expand_stiffness(K, inverse):
    """``K`` on unique points → on the input points, coincident copies tied together.

    A field equal on every copy of a point keeps its energy (``K_full = Rᵀ K R`` with
    ``R`` averaging the copies); differences between copies get the stiffness of the
    point's diagonal (a spring ``d_i Σ (u_a − mean)²``), so they are neither free zero
    modes nor coupled to anything else. Symmetry and positive semi-definiteness are kept.
    """
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
    if nb.inverse is not None:
        return None
    _, _, dual = assembly.voronoi_cells(nb, s.frames, conormals=s.conormals,
                                        n_threads=n_threads_from_workers(op.workers))
    d = dual.tocoo()
    dist = np.linalg.norm(nb.points[d.row] - nb.points[d.col], axis=1)
    n = dual.shape[0]
    W = sparse.csr_matrix((d.data / dist, (d.row, d.col)), shape=(n, n))
    return (sparse.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()
