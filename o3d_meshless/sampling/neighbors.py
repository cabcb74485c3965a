"""k-nearest-neighbour stencils and coincident-point detection.

All neighbour searches go through :class:`scipy.spatial.cKDTree`; the ``workers``
keyword is interpreted once, in :func:`o3d_meshless._validation.n_threads_from_workers`.

Coincident points (closer than ``COINCIDENT_RTOL`` × the median distance to the 8th
neighbour, a scale that survives a cloud in which every point has a twin) are merged
once, here: every later stage works on the unique points, and results are copied back
so that coincident points share one stencil and get identical values.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from .._validation import check_int

__all__ = ["Neighborhoods", "knn", "COINCIDENT_RTOL"]

logger = logging.getLogger(__name__)

#: points closer than this times the median distance to the SCALE_NEIGHBOUR-th
#: neighbour are one point, placed at their centroid. Twins 1e-8..1e-2 spacings apart
#: (merged scans, float32 copies) halve the distinct sites a k-neighbourhood sees and
#: changed L f on the raw bunny scan by 26 % (median); merging them at the centroid
#: keeps an averaged value second-order accurate, O((δ/h)²) < 1e-7
COINCIDENT_RTOL = 1e-4
#: the neighbour whose median distance sets the coincidence scale
SCALE_NEIGHBOUR = 8
#: point spacings the stencils handle in floating point (beyond: a ValueError). Order 4
#: raises radii to the 5th power (error bounds): below about 1e-75 the height fits lose
#: accuracy to underflow without any NaN, above about 1e78 the bounds overflow
#: (measured), so each end leaves a margin of about 1e15
SPACING_RANGE = (1e-60, 1e60)
#: a filtered query searches this many times the neighbours it returns
SEARCH_FACTOR = 3
#: from this many 3-D points the unique points are stored in Morton (Z-curve) order:
#: neighbours then sit close in memory for the tree walk and for every kernel that
#: gathers them (1e6 sphere points: the k-NN query 2.8 -> 1.1 s, the whole build
#: 13.1 -> 8.9 s); results are mapped back to the input order through ``inverse``
MORTON_MIN_POINTS = 50_000


@dataclass
class Neighborhoods:
    """k nearest neighbours of the unique points of a cloud.

    Attributes
    ----------
    points : ndarray of shape (n_unique, d)
        The unique points (all points when there are no coincident ones).
    indices : ndarray of shape (n_unique, k), intp
        Neighbour indices into ``points``, nearest first, the centre excluded.
    tree : scipy.spatial.cKDTree
        Tree over ``points``, kept for enlarged neighbourhoods.
    inverse : ndarray of shape (n_input,), intp, or None
        ``points[inverse]`` recovers the input order; ``None`` when the unique points are
        the input points in input order. Coincident points share an entry; clouds of
        ``MORTON_MIN_POINTS`` or more 3-D points are also reordered (Morton order).
    spacing : float
        Median nearest-neighbour distance.
    accept : callable or None
        ``accept(centers (m,), candidates (m, K)) -> bool (m, K)``: which candidate
        neighbours a stencil may use (see :meth:`filtered`); ``None`` accepts all.
    mean_sq : ndarray of shape (n_unique,) or None
        Mean squared distance from each point to its ``indices`` (from the tree query,
        which had them anyway; the guard's size tests use it). ``None`` after
        :meth:`filtered` changed neighbour lists.
    widen : bool
        Filtered queries whose rows are short of accepted candidates search once more,
        twice as far (see :meth:`filtered`).
    """

    points: np.ndarray
    indices: np.ndarray
    tree: cKDTree
    inverse: np.ndarray | None
    spacing: float
    accept: Callable | None = None
    mean_sq: np.ndarray | None = None
    widen: bool = False

    @property
    def k(self) -> int:
        return self.indices.shape[1]

    @property
    def merged(self) -> bool:
        """Some input points were merged (coincident); a mere reordering is not a merge."""
        return self.inverse is not None and len(self.inverse) > len(self.points)

    @property
    def n_input(self) -> int:
        return len(self.points) if self.inverse is None else len(self.inverse)

    def first_members(self):
        """Index of the first input point of each unique point, ``(n_unique,)``."""
        if self.inverse is None:
            return np.arange(len(self.points))
        first = np.full(len(self.points), -1)
        first[self.inverse[::-1]] = np.arange(len(self.inverse))[::-1]
        return first

    def expand(self, arr):
        """Per-unique-point array → per-input-point array (coincident points share)."""
        return arr if self.inverse is None else arr[self.inverse]

    def query(self, centers, k, *, n_threads=1):
        """``k`` neighbours of ``points[centers]`` (centre excluded), nearest first.

        With an ``accept`` filter, the ``SEARCH_FACTOR × k`` nearest are searched and the
        accepted ones come first; a row with fewer than ``k`` accepted ones is filled
        with the nearest rejected ones (the row guard and the Laplacian repair then see
        an irregular stencil, never a short one).
        """
        k = min(k, len(self.points) - 1)
        centers = np.asarray(centers, dtype=np.intp)
        kk = k if self.accept is None else min(SEARCH_FACTOR * k, len(self.points) - 1)
        _, idx = self.tree.query(self.points[centers], kk + 1, workers=n_threads)
        idx = _drop_self(np.asarray(idx, dtype=np.intp), centers)
        if self.accept is None:
            return idx
        ok = self.accept(centers, idx)
        first = np.argsort(~ok, axis=1, kind="stable")[:, :k]     # accepted, nearest first
        chosen = np.take_along_axis(idx, first, axis=1)
        short = np.flatnonzero(ok.sum(axis=1) < k) if self.widen else []
        if len(short) and kk < len(self.points) - 1:
            # rows short of accepted candidates look once more, twice as far
            wide = min(2 * kk, len(self.points) - 1)
            _, more = self.tree.query(self.points[centers[short]], wide + 1,
                                      workers=n_threads)
            more = _drop_self(np.asarray(more, dtype=np.intp), centers[short])
            more_ok = self.accept(centers[short], more)
            better = more_ok.sum(axis=1) > ok[short].sum(axis=1)
            pick = np.argsort(~more_ok[better], axis=1, kind="stable")[:, :k]
            chosen[short[better]] = np.take_along_axis(more[better], pick, axis=1)
        return np.ascontiguousarray(chosen)

    def filtered(self, accept, *, rows=None, widen=False, n_threads=1):
        """A copy whose neighbour lists (now and in later queries) prefer accepted points.

        Parameters
        ----------
        accept : callable
            ``accept(centers (m,), candidates (m, K)) -> bool (m, K)``.
        rows : array_like of int, optional
            The rows to rebuild; default: those with a rejected neighbour.
        widen : bool, default=False
            Rows short of accepted candidates search once more, twice as far, before
            being filled with rejected ones.

        Returns
        -------
        Neighborhoods
            Same points, tree and ``k``; rows with a rejected neighbour rebuilt by
            :meth:`query`, the others kept as they are.
        """
        out = replace(self, accept=accept, mean_sq=None, widen=widen)
        if rows is None:
            rows = np.flatnonzero(~accept(np.arange(len(self.points)),
                                          self.indices).all(axis=1))
        rows = np.asarray(rows, dtype=np.intp)
        if len(rows):                  # only rows with a rejected neighbour are rebuilt
            out.indices = self.indices.copy()
            out.indices[rows] = out.query(rows, self.k, n_threads=n_threads)
        return out


def _spread_bits(x):
    """Insert two zero bits after each of the low 10 bits (3-D Morton interleave)."""
    x = (x | (x << np.uint64(16))) & np.uint64(0x030000FF0000FF)
    x = (x | (x << np.uint64(8))) & np.uint64(0x0300F00F00F00F)
    x = (x | (x << np.uint64(4))) & np.uint64(0x030C30C30C30C3)
    return (x | (x << np.uint64(2))) & np.uint64(0x09249249249249)


def morton_order(points):
    """Permutation that sorts 3-D points along a Morton (Z-order) curve of 1024³ cells."""
    lo = points.min(axis=0)
    span = float(np.ptp(points, axis=0).max()) or 1.0
    q = np.minimum(((points - lo) * (1023.0 / span)).astype(np.uint64), np.uint64(1023))
    code = _spread_bits(q[:, 0]) | (_spread_bits(q[:, 1]) << np.uint64(1)) \
        | (_spread_bits(q[:, 2]) << np.uint64(2))
    return np.argsort(code, kind="stable")


def _drop_self(idx, centers):
    """Remove each row's centre from a (m, k+1) neighbour list (it is normally column 0)."""
    if np.array_equal(idx[:, 0], centers):
        return np.ascontiguousarray(idx[:, 1:])
    is_self = idx == centers[:, None]
    keep = ~is_self
    keep[~is_self.any(axis=1), -1] = False     # centre missing: drop the farthest instead
    return np.ascontiguousarray(idx[keep].reshape(len(idx), -1))


def coincident_groups(tree, dist, *, tol=None):
    """The coincidence rule: ``(spacing, labels)`` for the points of ``tree``.

    ``dist`` holds each point's distances to its nearest points, itself first, shape
    ``(n, m)`` with ``m >= 2``. The scale is the median distance to the
    ``SCALE_NEIGHBOUR``-th neighbour (the ``m - 1``-th when fewer are given): unlike the
    nearest-neighbour distance it stays the sampling's spacing when every point has a
    twin (vertices split at UV seams, merged scans). Points closer than
    ``COINCIDENT_RTOL × scale`` form a group. ``spacing`` is the median distance to the
    nearest point outside one's group (``None`` when all points coincide); ``labels``
    (connected-component label per point) is ``None`` when no point has a coincident twin.
    A given ``tol`` replaces ``COINCIDENT_RTOL × scale``.
    """
    dist = np.asarray(dist)
    if tol is None:              # given when the scale comes from a larger cloud (Dask parts)
        scale = float(np.median(dist[:, min(SCALE_NEIGHBOUR, dist.shape[1] - 1)]))
        if not scale > 0:
            return None, None
        tol = COINCIDENT_RTOL * scale
    if not (dist[:, 1] <= tol).any():           # the usual case, without a pass over dist
        return float(np.median(dist[:, 1])), None
    beyond = np.where(dist[:, 1:] > tol, dist[:, 1:], np.inf).min(axis=1)
    spacing = float(np.median(beyond[np.isfinite(beyond)]))
    n = len(dist)
    pairs = tree.query_pairs(tol, output_type="ndarray")
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return spacing, csgraph.connected_components(graph, directed=False)[1]


def _centroids(points, inverse, first):
    """Centroid of each group, as its first member plus the mean offset (exact copies
    stay bit-identical): operators average a group's values, which is second-order
    accurate only at the centroid."""
    rep = points[first]
    offset = points - rep[inverse]
    counts = np.bincount(inverse, minlength=len(first)).astype(np.float64)
    mean = np.stack([np.bincount(inverse, weights=offset[:, a], minlength=len(first))
                     for a in range(points.shape[1])], axis=1) / counts[:, None]
    return np.ascontiguousarray(rep + mean)


def knn(points, k, *, n_threads=1, name="points", tol=None, raw_distances=False):
    """k nearest neighbours of every point, with coincident points merged.

    Parameters
    ----------
    points : ndarray of shape (n, d), float64
        Already validated (finite, C-contiguous).
    k : int
        Neighbours per point, the centre excluded.
    n_threads : int
        Threads for the tree query (SciPy's ``workers``).
    name : str
        Argument name used in error messages.
    tol : float, optional
        Coincidence tolerance to use instead of the cloud's own (``COINCIDENT_RTOL`` ×
        its scale): a part of a larger cloud (:mod:`o3d_meshless.dask`) must merge the
        same points the whole cloud does.
    raw_distances : bool, default=False
        Also keep the distance table of the first query, before coincident points are
        merged, as ``raw_distances`` ``(n, k + 1)`` in input order (self first): the
        Dask partition reads the coincidence scale from it instead of querying again.

    Returns
    -------
    Neighborhoods
    """
    n = len(points)
    k = check_int(k, name="k", low=3)
    if n < k + 1:
        raise ValueError(f"`{name}` must hold at least k + 1 = {k + 1} points for k = {k}; "
                         f"got {n} (lower `k` or pass more points)")
    size = float(np.abs(points).max()) if points.size else 0.0
    if size > SPACING_RANGE[1]:          # squared distances would overflow in the k-d tree
        raise ValueError(f"`{name}` has coordinates up to {size:.3g}, beyond "
                         f"{SPACING_RANGE[1]:g}: multiply the points by a constant s first "
                         "(derivatives then scale by 1/s per order, areas by s²)")
    order = None
    if n >= MORTON_MIN_POINTS and points.shape[1] == 3:
        order = morton_order(points)
        points = np.ascontiguousarray(points[order])
    kept = {} if raw_distances else None
    nb = _unique_knn(points, k, n_threads, name, tol, kept)
    nb.raw_distances = kept["dist"] if raw_distances else None
    if order is None:
        return nb
    # the input point order[s] is the sorted point s
    rank = np.empty_like(order)
    rank[order] = np.arange(n, dtype=order.dtype)
    nb.inverse = (rank if nb.inverse is None else nb.inverse[rank]).astype(np.intp)
    if raw_distances:
        nb.raw_distances = nb.raw_distances[rank]
    return nb


def _unique_knn(points, k, n_threads, name, tol, kept=None):
    """:func:`knn` on points in the order given; ``kept`` (a dict): receives the raw
    distance table as ``"dist"``."""
    n = len(points)
    tree = cKDTree(points, copy_data=False)        # `points` is kept and never written
    dist, idx = tree.query(points, k + 1, workers=n_threads)
    if kept is not None:
        kept["dist"] = dist
    spacing, labels = coincident_groups(tree, dist, tol=tol)
    if spacing is None:
        raise ValueError(f"all points of `{name}` are coincident; nothing to differentiate")
    if not SPACING_RANGE[0] <= spacing <= SPACING_RANGE[1]:
        # the stencils work in coordinates scaled to unit radius, but powers of distances
        # over- or underflow beyond this: refuse instead of returning NaN or zero weights
        raise ValueError(f"`{name}` has a point spacing of {spacing:.3g}, outside "
                         f"[{SPACING_RANGE[0]:g}, {SPACING_RANGE[1]:g}]: multiply the points "
                         "by a constant s first (derivatives then scale by 1/s per order, "
                         "areas by s²)")
    if labels is None:
        idx = np.asarray(idx, dtype=np.intp)
        mean_sq = _mean_square(dist, idx)
        del dist                                  # only these summaries are kept (memory)
        return Neighborhoods(points, _drop_self(idx, np.arange(n, dtype=np.intp)), tree, None,
                             spacing, mean_sq=mean_sq)

    # merge coincident groups into one point each, in the order of their first member
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inverse = rank[inverse].astype(np.intp)
    unique_points = _centroids(points, inverse, np.sort(first))
    logger.info("merged %d coincident points into %d groups", n - len(unique_points),
                int(np.count_nonzero(np.bincount(inverse) > 1)))
    if len(unique_points) < k + 1:
        raise ValueError(f"`{name}` holds only {len(unique_points)} distinct points; need at "
                         f"least k + 1 = {k + 1} (lower `k`)")
    tree = cKDTree(unique_points, copy_data=False)
    dist, idx = tree.query(unique_points, k + 1, workers=n_threads)
    idx = np.asarray(idx, dtype=np.intp)
    mean_sq = _mean_square(dist, idx)
    idx = _drop_self(idx, np.arange(len(unique_points), dtype=np.intp))
    return Neighborhoods(unique_points, idx, tree, inverse, spacing, mean_sq=mean_sq)


def _mean_square(dist, idx):
    """Mean squared neighbour distance per point from a ``k + 1`` query (self first),
    or None when some row does not start with its centre (then the guard computes it)."""
    if not np.array_equal(idx[:, 0], np.arange(len(idx))):
        return None
    d = dist[:, 1:]
    return np.einsum("ij,ij->i", d, d) / d.shape[1]
