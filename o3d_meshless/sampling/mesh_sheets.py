"""Neighbours that are near along a mesh, not only in space.

On a coarse mesh with thin parts (a cow's legs, ears and tail) the k nearest vertices
of a point include vertices of another part of the surface that merely passes close
by: the tail hanging against the rump, the far side of an ear. Their normals need not
face the other way (:func:`o3d_meshless.sampling.frames.same_sheet` keeps them), and a normal
test also drops good neighbours across a sharp crease (an ear's rim), which leaves
Voronoi cells open. When the faces are known, connectivity says which is which:

    candidate ``j`` of point ``i`` is kept when ``i`` and ``j`` are joined by mesh edges
    through vertices that all lie within ``rho · |x_j − x_i|`` of ``x_i``,

looking only at ``i`` and its candidate neighbours (the kernel adds them in order of
distance and joins them by union-find). With ``rho = 1`` a kept neighbour is reachable
without leaving the ball it lies on; across a thin part the path has to go round,
through vertices far from ``x_i``. No geodesic or graph distance is computed, so the
cost is one pass over each candidate's edges (0.34 s for a 164k-vertex mesh, 6 % of its
weak-form fit, adjacency included).

Measured (modes 1–30 of the default weak spectrum against P1 FEM on the mesh refined
twice by midpoint subdivision, ``benchmarks/bench_mesh_sheets.py``), with the normal
test replaced by this one (``rho = 2``): ``cow.off`` 9.92 → 6.22 %, ``bunny.off``
1.02 → 0.62 %, Spot 0.73 → 0.73 %. On the cow the rest is the tangent-plane cells of
its tail and horn tips, a few vertices around, which stay open whatever the neighbours
(the k nearest along the mesh give 6–10 %).

Those tips are mended by :func:`mesh_tip_frames`: at a tip sharper than the spacing the
plane of the area-weighted vertex normal (or a fitted plane) can lie nearly along the
tip's axis, so every neighbour projects to one side of the point and its cell has no
far side (the tail's tip of ``cow.off`` got 20× the mean cell). Where the plane across
the axis (the mean direction from the neighbours to the point) leaves a smaller empty
sector, the frame is taken from it. ``cow.off`` 6.22 → 3.45 %,
``cow.obj`` 6.42 → 3.85 % (13 and 11 vertices), ``bunny.off`` and Spot unchanged.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from .._kernels.mesh_sheets import near_along_mesh as _near_along_mesh_kernel

__all__ = ["near_along_mesh", "near_along_graph", "mesh_adjacency", "mesh_tip_frames",
           "MESH_RHO"]

#: a candidate is kept when mesh edges join it to the point through vertices within
#: MESH_RHO times its distance. cow.off modes 1-30: rho = 1 / 1.5 / 2 / 3 and more gave
#: 7.96 / 7.68 / 6.22 / 5.83 %, bunny.off 0.67 / 0.62 / 0.62 / 0.62 %, Spot 0.73 at all;
#: from 3 on the test is mere connectivity among the candidates, which lets a sheet's
#: neighbours through wherever the two sheets meet within the neighbourhood
MESH_RHO = 2.0
#: a vertex is one-sided when its neighbours leave an empty sector above 180° among its
#: k and among its TIP_FACTOR·k nearest (the widest search of the tangent-plane cells)
TIP_FACTOR = 4


def mesh_adjacency(faces, n_rows, *, inverse=None, kept=None):
    """Edge graph of a triangle mesh on the rows of a :class:`Neighborhoods`.

    Parameters
    ----------
    faces : array_like of shape (m, 3), int
        Vertex indices of the input geometry.
    n_rows : int
        Rows (unique points) of the neighbourhoods.
    inverse : ndarray of shape (n_kept,), intp, or None
        ``Neighborhoods.inverse``: input (kept) point → row; coincident vertices share a
        row (their faces are joined there), large clouds are reordered.
    kept : ndarray of shape (n_kept,), intp, or None
        Input indices of the points the neighbourhoods were built from (excluded
        outliers have no row: their edges are dropped).

    Returns
    -------
    adjacency : scipy.sparse.csr_matrix of shape (n_rows, n_rows)
        Symmetric pattern (int8 ones), no self loops.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.sampling.mesh_sheets import mesh_adjacency
    >>> A = mesh_adjacency([[0, 1, 2], [0, 2, 3]], 4)
    >>> A.toarray().tolist()
    [[0, 1, 1, 1], [1, 0, 1, 0], [1, 1, 0, 1], [1, 0, 1, 0]]
    """
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.dtype.kind not in "iu":
        raise ValueError(f"`faces` must be an integer array of shape (m, 3); got "
                         f"{faces.dtype} {faces.shape}")
    faces = faces.astype(np.intp, copy=False)
    if kept is not None:
        kept = np.asarray(kept, dtype=np.intp)
        size = max(int(faces.max(initial=-1)) + 1, int(kept.max(initial=-1)) + 1)
        position = np.full(size, -1, dtype=np.intp)
        position[kept] = np.arange(len(kept))
        faces = position[faces]
        faces = faces[(faces >= 0).all(axis=1)]       # faces of an excluded vertex
    if inverse is not None:
        faces = np.asarray(inverse, dtype=np.intp)[faces]
    if len(faces) and (faces.min() < 0 or faces.max() >= n_rows):
        raise ValueError(f"`faces` index vertices outside 0..{n_rows - 1}: pass the "
                         "neighbourhoods' `inverse` (and `kept`) to map input vertices to rows")
    src = faces.ravel()
    dst = faces[:, [1, 2, 0]].ravel()
    keep = src != dst                                  # merged vertices: no self loops
    src, dst = src[keep], dst[keep]
    ones = np.ones(2 * len(src), dtype=np.int8)
    A = sparse.csr_matrix((ones, (np.concatenate([src, dst]), np.concatenate([dst, src]))),
                          shape=(n_rows, n_rows))
    A.sum_duplicates()
    A.data[:] = 1
    return A


def near_along_mesh(nb, faces, *, kept=None, rho=MESH_RHO, n_threads=1):
    """A neighbour filter that keeps candidates near along the mesh (module docstring).

    Parameters
    ----------
    nb : Neighborhoods
        Neighbourhoods of the mesh's vertices (coincident ones merged, maybe reordered).
    faces : array_like of shape (m, 3), int
        The mesh's faces, indexing its vertices as given (before merging or excluding).
    kept : ndarray of shape (n_kept,), intp, or None
        Input indices of the vertices ``nb`` was built from, when some were excluded.
    rho : float, default=MESH_RHO
        Path radius over neighbour distance, >= 1.
    n_threads : int, default=1

    Returns
    -------
    accept : callable
        ``accept(centers (m,), candidates (m, K)) -> bool (m, K)``, for
        :meth:`o3d_meshless.sampling.neighbors.Neighborhoods.filtered`. Candidates or centres in
        no face (no connectivity known) are accepted.

    Examples
    --------
    Two parallel sheets 0.05 apart, each a 10 × 10 grid with spacing 0.1, meshed
    separately: the nearest neighbours of a point include the other sheet, the filter
    keeps its own.

    >>> import numpy as np
    >>> from o3d_meshless.sampling.neighbors import knn
    >>> from o3d_meshless.sampling.mesh_sheets import near_along_mesh
    >>> g = np.stack(np.meshgrid(np.arange(10), np.arange(10), indexing="ij"), -1)
    >>> g = g.reshape(-1, 2) * 0.1
    >>> points = np.vstack([np.c_[g, np.zeros(100)], np.c_[g, np.full(100, 0.05)]])
    >>> q = (np.arange(9)[:, None] * 10 + np.arange(9)).ravel()
    >>> quads = np.c_[q, q + 10, q + 11, q + 1]
    >>> tri = np.vstack([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    >>> faces = np.vstack([tri, tri + 100])
    >>> nb = knn(points, 8)
    >>> other = (nb.indices >= 100) != (np.arange(200) >= 100)[:, None]
    >>> bool(other.any())
    True
    >>> ok = near_along_mesh(nb, faces)(np.arange(200), nb.indices)
    >>> bool(ok[other].any()), bool(ok[~other].all())
    (False, True)
    """
    A = mesh_adjacency(faces, len(nb.points), inverse=nb.inverse, kept=kept)
    return near_along_graph(nb.points, A, rho=rho, n_threads=n_threads)


def near_along_graph(points, adjacency, *, rho=MESH_RHO, n_threads=1):
    """The same filter on any symmetric edge graph of the rows (a mesh's edges, or the
    same-sheet links of a cloud, :mod:`o3d_meshless.sampling.cloud_sheets`).

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    adjacency : scipy.sparse matrix of shape (n, n)
        Symmetric pattern, no self loops. Rows without an edge accept every candidate.
    rho : float, default=MESH_RHO
    n_threads : int, default=1

    Returns
    -------
    accept : callable
        As :func:`near_along_mesh`.
    """
    rho = float(rho)
    if not (np.isfinite(rho) and rho >= 1.0):
        raise ValueError(f"`rho` must be a finite number >= 1; got {rho!r}")
    points = np.ascontiguousarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"`points` must have shape (n, 3); got {points.shape}")
    A = sparse.csr_matrix(adjacency)
    if A.shape != (len(points), len(points)):
        raise ValueError(f"`adjacency` must have shape ({len(points)}, {len(points)}); "
                         f"got {A.shape}")
    ptr = A.indptr.astype(np.intp, copy=False)
    idx = A.indices.astype(np.intp, copy=False)
    unknown = np.diff(ptr) == 0                         # no edge: nothing to test

    def accept(centers, candidates):
        centers = np.ascontiguousarray(centers, dtype=np.intp)
        candidates = np.ascontiguousarray(candidates, dtype=np.intp)
        out = np.empty(candidates.shape, dtype=np.uint8)
        if out.size:
            _near_along_mesh_kernel(points, ptr, idx, centers, candidates, rho, out,
                                    int(n_threads))
            if out.max() > 1:
                raise MemoryError("no memory for the sheet neighbour filter's work buffers")
        ok = out.view(bool)
        ok |= unknown[candidates] | unknown[centers][:, None]
        return ok

    return accept


def mesh_tip_frames(nb, frames, *, skip=None, n_threads=1):
    """Frames along the tip's axis where a vertex's plane sees all neighbours on one side.

    A row whose neighbours all project to one side of it (largest empty sector above
    180°) and is not on the mesh's boundary gets the plane normal to its tip's axis (the
    mean direction from its neighbours to it) when that leaves a smaller empty sector
    (module docstring).

    Parameters
    ----------
    nb : Neighborhoods
        Neighbourhoods of the rows (after the :func:`near_along_mesh` filter).
    frames : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)``; mended in place, normals keep their side.
    skip : ndarray of shape (n,), bool, or None
        Rows to leave as they are (the mesh's boundary, where one side is empty).
    n_threads : int, default=1

    Returns
    -------
    mended : ndarray of shape (n,), bool
        Rows whose frame was replaced.

    Examples
    --------
    The apex of a cone sampled by rings, with a normal across the axis (as a mesh's
    area-weighted normal can come out there): every neighbour lies on one side.

    >>> import numpy as np
    >>> from o3d_meshless.sampling.neighbors import knn
    >>> from o3d_meshless.sampling.mesh_sheets import mesh_tip_frames
    >>> t = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    >>> rings = [np.c_[0.2 * z * np.cos(t + z), 0.2 * z * np.sin(t + z), np.full(6, -z)]
    ...          for z in (1, 2, 3)]
    >>> points = np.vstack([[0.0, 0.0, 0.0]] + rings)
    >>> nb = knn(points, 8)
    >>> frames = np.tile(np.eye(3), (len(points), 1, 1))[:, [1, 2, 0]]   # normal along x
    >>> bool(mesh_tip_frames(nb, frames, skip=np.arange(19) > 0)[0])
    True
    >>> bool(frames[0, 2, 2] > 0.99)          # now nearly along the axis
    True
    """
    from .boundary import largest_gap
    from .frames import frames_from_normals

    n = len(nb.points)
    mended = np.zeros(n, dtype=bool)
    gap, _ = largest_gap(nb.points, np.arange(n), nb.indices, frames, n_threads=n_threads)
    rows = np.flatnonzero((gap > np.pi) & (np.ones(n, dtype=bool) if skip is None else ~skip))
    if not len(rows):
        return mended
    # as the cells do, look again among 4k before calling it one-sided
    wide = nb.query(rows, min(TIP_FACTOR * nb.k, n - 1), n_threads=n_threads)
    before, _ = largest_gap(nb.points, rows, wide, frames, n_threads=n_threads)
    offsets = nb.points[rows, None, :] - nb.points[nb.indices[rows]]
    length = np.linalg.norm(offsets, axis=2, keepdims=True)
    axis = (offsets / np.where(length > 0, length, np.inf)).sum(axis=1)
    size = np.linalg.norm(axis, axis=1)
    keep = (before > np.pi) & (size > 0)
    rows, wide, before = rows[keep], wide[keep], before[keep]
    axis = axis[keep] / size[keep, None]
    axis *= np.where(np.einsum("ij,ij->i", axis, frames[rows, 2]) < 0, -1.0, 1.0)[:, None]
    trial = frames.copy()
    trial[rows] = frames_from_normals(axis)
    after, _ = largest_gap(nb.points, rows, wide, trial, n_threads=n_threads)
    rows = rows[after < before]
    frames[rows] = trial[rows]
    mended[rows] = True
    return mended
