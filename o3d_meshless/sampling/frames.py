"""Normals and tangent frames.

Frames are stored as ``(n, 3, 3)`` arrays whose rows are ``(t_u, t_v, n)``, a
right-handed orthonormal basis with the normal last.

Estimated normals come from PCA of each neighbourhood, then a Taylor fit of the
height function ``h(u, v)`` over the PCA tangent plane tilts the normal by the fitted
slope: PCA alone has an O(h) normal error on curved surfaces, which caps gradients
and Laplacians at first order; the quadratic fit makes it O(h²).
"""
from __future__ import annotations

import logging

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .._kernels.frames import pca_height_frames
from .._validation import (check_int, check_option, check_stencil_arrays,
                          n_threads_from_workers)
from .monomials import monomial_tables
from .._typing import Float64Array, Geometry

__all__ = ["estimate_frames", "frames_from_normals", "orient_normals", "pca_frames",
           "same_sheet", "is_planar", "estimated_frames", "PLANARITY_MAX", "WRAPPED_K"]

logger = logging.getLogger(__name__)

ORIENT_OPTIONS = (None, "outward", "mst")
#: orders of the height-function fit that corrects PCA normals (0: PCA only)
HEIGHT_ORDERS = (0, 2, 3)
#: a neighbourhood whose smallest/middle covariance eigenvalue ratio exceeds this wraps
#: around a thin part (see is_planar)
PLANARITY_MAX = 0.2
#: wrapped neighbourhoods take their frame from this many nearest neighbours
WRAPPED_K = 8

def same_sheet(frames):
    """A neighbour filter for consistently oriented normals: keep ``n_i · n_j > 0``.

    Where a part of the surface is thinner than the neighbourhood (a leg, an ear, a tail
    sampled a few points across), the nearest neighbours include points of the far
    side. Projected onto the tangent plane they look like close neighbours and couple
    the two sides. With normals oriented consistently (a mesh's, from its face winding)
    far-side points face the other way and are dropped. (An elevation test, dropping
    neighbours seen steeply from the tangent plane, was measured too: on the coarse
    closed meshes it removed more good neighbours than bad ones.)

    Parameters
    ----------
    frames : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)`` with consistently oriented ``n``.

    Returns
    -------
    accept : callable
        ``accept(centers (m,), candidates (m, K)) -> bool (m, K)``, for
        :meth:`o3d_meshless.sampling.neighbors.Neighborhoods.filtered`.
    """
    normals = np.ascontiguousarray(frames[:, 2])

    def accept(centers, candidates):
        return np.einsum("mkc,mc->mk", normals[candidates], normals[centers]) > 0

    return accept


def frames_from_normals(normals):
    """Right-handed frames ``(t_u, t_v, n)`` around given unit normals.

    Parameters
    ----------
    normals : ndarray of shape (n, 3)

    Returns
    -------
    ndarray of shape (n, 3, 3)
    """
    n = np.asarray(normals, dtype=np.float64)
    norm = np.linalg.norm(n, axis=1)
    if (norm < 1e-12).any() or not np.isfinite(norm).all():
        raise ValueError("`normals` must be finite and non-zero for every point")
    n = n / norm[:, None]
    helper = np.zeros_like(n)
    use_x = np.abs(n[:, 0]) < 0.9
    helper[use_x, 0] = 1.0
    helper[~use_x, 1] = 1.0
    t1 = np.cross(n, helper)
    t1 /= np.linalg.norm(t1, axis=1)[:, None]
    t2 = np.cross(n, t1)
    return np.ascontiguousarray(np.stack([t1, t2, n], axis=1))


def pca_frames(points, neighbors, *, centers=None, height_order=2, n_threads=1,
               return_flatness=False):
    """Frames by PCA plus height-function normal correction (compiled kernel).

    Parameters
    ----------
    points : ndarray of shape (n, 3), float64
    neighbors : ndarray of shape (m, k), intp
        Neighbours of each centre (the centre excluded).
    centers : ndarray of shape (m,), intp, optional
        The point each row of ``neighbors`` is about; default every point (``m = n``).
    height_order : int
        Order of the Taylor fit of the height function (0 = PCA only, 2 = quadratic).

    Returns
    -------
    frames : ndarray of shape (m, 3, 3)
    planarity : ndarray of shape (m,)
        Middle over largest covariance eigenvalue; near 0 means a collinear neighbourhood.
    status : ndarray of shape (m,), int32
        0 ok, 1 degenerate (collinear) neighbourhood, negative: the eigen-solve failed
        (non-finite coordinates) or no memory.
    flatness : ndarray of shape (m,)
        Only with ``return_flatness=True``: smallest over middle covariance eigenvalue
        (0 on a flat patch; see :func:`is_planar`).
    """
    n = len(points)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"`points` must have shape (n, 3); got {points.shape}")
    centers = (np.arange(n, dtype=np.intp) if centers is None
               else np.ascontiguousarray(centers, dtype=np.intp))
    check_stencil_arrays(points, neighbors, centers, None, 3, n_threads)
    # the kernel's fixed buffers hold the monomials of these orders only
    check_option(height_order, HEIGHT_ORDERS, name="height_order")
    if height_order:
        expo, inv_fact, degree = monomial_tables(height_order, 2)
    else:
        expo, inv_fact, degree = (np.zeros((0, 2), dtype=np.intp), np.zeros(0),
                                  np.zeros(0, dtype=np.intp))
    m = len(centers)
    frames = np.empty((m, 3, 3))
    planarity = np.empty(m)
    flatness = np.ones(m)
    status = np.zeros(m, dtype=np.intc)
    pca_height_frames(points, neighbors, centers, expo, inv_fact, degree, frames, planarity,
                      flatness, status, int(n_threads))
    if (status == -3).any():
        raise MemoryError("the frames kernel could not allocate its per-thread scratch")
    if return_flatness:
        return frames, planarity, status, flatness
    return frames, planarity, status


def is_planar(points, centers, neighbors, *, limit=PLANARITY_MAX):
    """Whether each neighbourhood (centre included) is flat: a surface patch, not wrapped.

    The ratio of the smallest to the middle eigenvalue of the neighbourhood's covariance
    is near 0 on a resolved surface, with or without a boundary (measured 90 % quantile:
    0.002 on a 10 000-point hemisphere's rim, 0.09 on the raw scan bun000's). Where a
    part of the surface is thinner than the neighbourhood (a coarse leg, ear or tip),
    the neighbours wrap around it (ratio 0.2–0.8): the PCA normal is off there, often by
    50–90°.

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    centers : ndarray of shape (m,), intp
    neighbors : ndarray of shape (m, k), intp
    limit : float, default=PLANARITY_MAX (0.2)

    Returns
    -------
    ndarray of shape (m,), bool
    """
    q = np.concatenate([points[centers][:, None, :], points[neighbors]], axis=1)
    q = q - q.mean(axis=1, keepdims=True)
    ev = np.linalg.eigvalsh(np.einsum("mki,mkj->mij", q, q))
    return ev[:, 0] <= limit * np.maximum(ev[:, 1], 1e-300)


def estimated_frames(points, neighbors, *, height_order=2, n_threads=1):
    """Estimated frames of every point, wrapped neighbourhoods re-estimated from fewer.

    :func:`pca_frames` on the ``k`` neighbours; rows whose neighbourhood is not flat
    (:func:`is_planar` fails: it wraps around a thin part) get the frame of their
    ``WRAPPED_K`` nearest instead, which wrap less. Measured: on a tube one spacing in
    radius, normals more than 45° off drop from 16 % to 2 %; on the coarse ``bunny.off``
    used as a cloud (meshes' own normals as reference) from 45 to 15 of 3485, and its
    modes 1–30 move 5.8 % from FEM instead of 6.3 %. On the coarse cows the count stays
    about the same (legs a few points across).

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    neighbors : ndarray of shape (n, k), intp
    height_order : int
    n_threads : int

    Returns
    -------
    frames : ndarray of shape (n, 3, 3)
    status : ndarray of shape (n,), int32
        As :func:`pca_frames`.
    refined : ndarray of shape (n,), bool
        The rows re-estimated from ``WRAPPED_K`` neighbours.
    """
    n, k = neighbors.shape
    frames, _, status, flatness = pca_frames(points, neighbors, height_order=height_order,
                                             n_threads=n_threads, return_flatness=True)
    refined = np.zeros(n, dtype=bool)
    rows = np.flatnonzero((flatness > PLANARITY_MAX) & (status == 0))
    if len(rows) and k > WRAPPED_K:
        small, _, st = pca_frames(points, np.ascontiguousarray(neighbors[rows, :WRAPPED_K]),
                                  centers=rows, height_order=height_order,
                                  n_threads=n_threads)
        ok = st == 0
        frames[rows[ok]] = small[ok]
        refined[rows[ok]] = True
    return frames, status, refined


def orient_normals(points, frames, neighbors, how, *, reference=None, centre=None):
    """Flip frames in place so normals are consistently oriented.

    ``"outward"`` points normals away from the centroid, or from ``centre`` when given
    (closed, star-shaped shapes; a part of a larger cloud passes the whole cloud's);
    ``"mst"`` propagates one orientation over a minimum spanning tree of the k-NN graph
    weighted by ``1 - |n_i · n_j|`` (Hoppe et al. 1992), seeded outward at the
    highest point. With ``reference`` normals (e.g. a mesh's vertex normals) each normal
    is flipped to agree with its reference instead. A flip negates ``n`` and ``t_v`` so
    frames stay right-handed.
    """
    normals = frames[:, 2]
    if reference is not None:
        flip = np.einsum("ij,ij->i", normals, reference) < 0
    elif how == "outward":
        middle = points.mean(axis=0) if centre is None else np.asarray(centre)
        flip = np.einsum("ij,ij->i", normals, points - middle) < 0
    elif how == "mst":
        n, k = neighbors.shape
        rows = np.repeat(np.arange(n), k)
        cols = neighbors.ravel()
        w = 1.0 - np.abs(np.einsum("ij,ij->i", normals[rows], normals[cols])) + 1e-9
        graph = sparse.csr_matrix((w, (rows, cols)), shape=(n, n))
        tree = csgraph.minimum_spanning_tree(graph + graph.T)
        sign = np.zeros(n)
        for comp_root in _component_roots(tree, points):
            order, pred = csgraph.breadth_first_order(tree, comp_root, directed=False)
            sign[comp_root] = 1.0 if normals[comp_root] @ (points[comp_root] - points.mean(0)) >= 0 else -1.0
            for node in order[1:]:           # parents come before children in BFS order
                p = pred[node]
                sign[node] = sign[p] * (1.0 if normals[node] @ normals[p] >= 0 else -1.0)
        flip = sign < 0
    else:
        return frames
    frames[flip, 2] *= -1.0
    frames[flip, 1] *= -1.0
    return frames


def _component_roots(tree, points):
    ncomp, labels = csgraph.connected_components(tree, directed=False)
    roots = []
    for c in range(ncomp):
        members = np.flatnonzero(labels == c)
        roots.append(members[np.argmax(points[members, 2])])
    return roots


def estimate_frames(geometry: Geometry, *, k: int = 16, height_order: int = 2,
                    orient: str | None = None, workers: int = -1) -> Float64Array:
    """Estimate oriented normals and tangent frames of a point cloud.

    Parameters
    ----------
    geometry : Open3D / trimesh geometry or array_like of shape (n, 3)
    k : int, default=16
        Neighbours per point.
    height_order : {0, 2, 3}, default=2
        Order of the height-function fit that corrects the PCA normal (0 = PCA only).
    orient : {None, "outward", "mst"}, default=None
        Consistent orientation (normals from PCA have arbitrary sign).
    workers : int, default=-1
        Threads (SciPy's meaning: -1 = all cores).

    Returns
    -------
    frames : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)``.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).normal(size=(2000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> F = om.estimate_frames(p, orient="outward")
    >>> bool(np.all(np.einsum("ij,ij->i", F[:, 2], p) > 0.99))
    True
    """
    from .adapters import as_points
    from .neighbors import knn

    points = as_points(geometry)
    check_option(orient, ORIENT_OPTIONS, name="orient")
    height_order = check_option(check_int(height_order, name="height_order"), (0, 2, 3),
                                name="height_order")
    n_threads = n_threads_from_workers(workers)
    nb = knn(points, k, n_threads=n_threads, name="geometry")
    frames, status, _ = estimated_frames(nb.points, nb.indices, height_order=height_order,
                                         n_threads=n_threads)
    if (status != 0).all():
        raise ValueError("`geometry` has no surface: every neighbourhood is collinear "
                         "(points on a line?); frames need a 2-D sampling")
    orient_normals(nb.points, frames, nb.indices, orient)
    return frames if nb.inverse is None else frames[nb.inverse]
