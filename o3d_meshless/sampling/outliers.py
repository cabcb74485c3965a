"""Outliers and noise of a sampled surface, from local fits that leave each point out.

Every point's ``k`` neighbours (the point itself left out) get a PCA frame and a
least-squares quadric height fit, refitted once without neighbours more than three robust
standard deviations off (compiled kernel ``_kernels/surface_fit.pyx``). Two numbers come
out per point:

* its **offset**: how far it lies off the surface its neighbours describe;
* the fit's **residual**: the RMS distance of the neighbours from that surface, i.e. the
  local noise level (plus the fit's own truncation error on coarse samples).

A point is an **outlier** when its offset is both large against the neighbourhood
(``OFFSET_MIN`` × the neighbours' RMS tangential radius, about 0.8 spacings at k = 16)
and significant against the noise (``SIGNIFICANCE`` × the neighbours' median residual,
``NOISY_SIGNIFICANCE`` on a cloud whose scatter is noise, with the noise scale and the
heights from fits of ``NOISY_FACTOR`` × k neighbours, see :func:`outliers_of`). Measured
(k = 16; h = mean spacing; through ``prepare``; 1 % planted 3–10 h off a 20 000-point
ellipsoid, sphere or torus, 3 seeds each): found 99.5–100 % with noise up to 0.2 h and
98.5–100 % with noise 0.5 h (1 792 of 1 800; those 3 h off are then only 6 σ out;
96–99.5 % with 16-point fits, 87–93 % before the noisy bar), with 0–1 of the 20 000
noisy clean points flagged (up to 9 with 16-point fits); flagged on clean inputs:
0 of 20 000 on the spheres, ellipsoid and torus, 1 of 40 256 on the raw scan
``bun000.ply``, 2 of 35 947 on ``bun_zipper.ply``, 2 of 3 485 on the coarse
``bunny.off``, 1 of 3 225 on Spot. Pieces with fewer than ``k + 1`` points (stray
clusters, too small to hold a neighbourhood of their own) are outliers too, and so are
minor pieces (under 5 % of the points) sampled over 3 times more sparsely than the cloud:
the veils of mixed pixels that range scanners leave in depth gaps, which form a
"surface" of their own that the local fits cannot tell from a real one.

:func:`find_outliers` is what :func:`o3d_meshless.prepare` runs; every operator, the
toolkit and the command line see its result through the :class:`~o3d_meshless.Sampling`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .._validation import check_stencil_arrays

__all__ = ["OUTLIER_OPTIONS", "OFFSET_MIN", "SIGNIFICANCE", "NOISY_SIGNIFICANCE", "NOISY_FACTOR",
           "SurfaceFit", "surface_fit", "find_outliers", "outliers_of"]

#: ``"exclude"``: outliers take no part in any operator; ``"keep"``: they are treated as
#: surface points (the behaviour before outlier detection); ``"error"``: a ValueError
OUTLIER_OPTIONS = ("exclude", "keep", "error")
#: an outlier lies at least this many RMS neighbour radii off its neighbours' surface
OFFSET_MIN = 0.5
#: … and at least this many times the neighbours' median fit residual
SIGNIFICANCE = 7.0
#: … or this many on a noisy cloud (``prepare`` passes it when the scatter is noise, not
#: a coarse sampling's fit error, whose tails are heavier): Gaussian noise makes the
#: residual a faithful scale. Measured with noise 0.5 h (20 000-point sphere, ellipsoid,
#: torus, 1 % planted 3-10 h off, i.e. from 6 σ): found 87-93 % at 7, 96-97 % at 6,
#: 98.5-100 % at 5, with 0-5 noisy clean points flagged (0.025 %); 4 found 99-99.5 %
#: but flagged 0.1 %
NOISY_SIGNIFICANCE = 5.0
#: … with fits of NOISY_FACTOR × k neighbours: with noise, 16 neighbours give a noise
#: scale and a fitted height too unsteady for a 5 σ bar. Measured with noise 0.5 h, 1 %
#: planted 3-10 h off (20 000-point sphere, ellipsoid, torus, two seeds each; offset
#: over the neighbours' median residual above 5): k = 16 found 194-198 of 200 and
#: flagged 2-9 clean points; 2k: 198-199, 0-3; 3k: 199-200, 0
NOISY_FACTOR = 3
#: below this many neighbours the fit is a plane (a quadric needs six, plus a margin)
QUADRIC_MIN_K = 10
#: neighbours farther than this many times the smaller of the two RMS neighbour radii do
#: not connect two points when looking for small stray pieces
LINK_FACTOR = 3.0
#: the nearest neighbours that may link two points (enough to connect a surface)
LINKS = 8
#: a piece of fewer than this fraction of the points whose median neighbour distance
#: exceeds SPARSE_PIECE_SPACING times the cloud's is a veil of strays. Measured: the
#: mixed-pixel veils of ray-cast scans 7.5-18 times the cloud's spacing; the raw scan
#: bun000.ply's two minor pieces (388 and 889 of 40 256 points) 1.2 and 1.4 times
SPARSE_PIECE_FRACTION = 0.05
SPARSE_PIECE_SPACING = 3.0


@dataclass
class SurfaceFit:
    """Per-point results of the leave-one-out local surface fits (unique points).

    Attributes
    ----------
    offset : ndarray of shape (n,)
        Signed height of each point above the surface fitted to its neighbours.
    residual : ndarray of shape (n,)
        RMS distance of the (kept) neighbours from that surface: the local noise level.
    radius : ndarray of shape (n,)
        RMS tangential distance of the neighbours (the neighbourhood's size).
    status : ndarray of shape (n,), int32
        0 fitted; 1 degenerate neighbourhood (collinear or coincident), no fit.
    """

    offset: np.ndarray
    residual: np.ndarray
    radius: np.ndarray
    status: np.ndarray


def surface_fit(points, neighbors, *, n_threads=1):
    """Leave-one-out plane (``k < 10``) or quadric fits of each point's neighbours.

    Parameters
    ----------
    points : ndarray of shape (n, 3), float64, C-contiguous
    neighbors : ndarray of shape (n, k), intp
        Neighbours of every point, the point itself excluded.
    n_threads : int, default=1

    Returns
    -------
    SurfaceFit

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.sampling.neighbors import knn
    >>> from o3d_meshless.sampling.outliers import surface_fit
    >>> p = np.random.default_rng(0).uniform(-1, 1, (500, 3)) * [1, 1, 0]
    >>> p[0, 2] = 0.5                                 # one point lifted off the plane
    >>> nb = knn(p, 16)
    >>> fit = surface_fit(nb.points, nb.indices)
    >>> round(float(fit.offset[0]), 6), bool(abs(fit.offset[1:]).max() < 1e-9)
    (0.5, True)
    """
    from .._kernels.surface_fit import quadric_offsets

    points = np.ascontiguousarray(points, dtype=np.float64)
    neighbors = np.ascontiguousarray(neighbors, dtype=np.intp)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"`points` must have shape (n, 3); got {points.shape}")
    if neighbors.ndim != 2 or neighbors.shape[0] != len(points) or neighbors.shape[1] < 3:
        raise ValueError(f"`neighbors` must have shape (n, k) with n = {len(points)} and "
                         f"k >= 3; got {neighbors.shape}")
    check_stencil_arrays(points, neighbors, np.arange(len(points), dtype=np.intp), None, 3,
                         n_threads)
    n = len(points)
    offset, residual, radius = np.empty(n), np.empty(n), np.empty(n)
    status = np.zeros(n, dtype=np.intc)
    terms = 6 if neighbors.shape[1] >= QUADRIC_MIN_K else 3
    quadric_offsets(points, neighbors, terms, offset, residual, radius, status,
                    int(n_threads))
    if (status == -3).any():
        raise MemoryError("the surface-fit kernel could not allocate its per-thread scratch")
    return SurfaceFit(offset, residual, radius, status)


def find_outliers(points, neighbors, fit, *, mean_sq=None, significance=SIGNIFICANCE,
                  far=None, min_piece=None):
    """Which points are outliers, from their leave-one-out fits (see the module text).

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    neighbors : ndarray of shape (n, k), intp
    fit : SurfaceFit
        :func:`surface_fit` of the same points and neighbours.
    mean_sq : ndarray of shape (n,), optional
        Mean squared neighbour distance per point (``Neighborhoods.mean_sq``); computed
        when not given.
    significance : float, default=SIGNIFICANCE
        Offset over the neighbours' median residual above which a point may be an
        outlier (``NOISY_SIGNIFICANCE`` for noisy clouds).
    far : ndarray of shape (n,), bool, optional
        Points whose offset is large against the neighbourhood; default: above
        ``OFFSET_MIN`` × the neighbours' median RMS radius in ``fit``.
    min_piece : int, optional
        Pieces of fewer points are outliers; default ``k + 1``.

    Returns
    -------
    mask : ndarray of shape (n,), bool
        Outliers: off the surface, or in a piece of fewer than ``k + 1`` points.
    """
    k = neighbors.shape[1]
    ok = fit.status == 0
    off = np.abs(fit.offset)
    # a median is at least the smallest value: only the rows that pass against their
    # neighbours' smallest residual (and radius) need the medians (on a clean cloud
    # hardly any: 1.3 -> 0.3 s for a million points)
    significant = ok & (off > significance * fit.residual[neighbors].min(axis=1))
    far = _far(fit, neighbors, within=significant) if far is None else far & significant
    rows = np.flatnonzero(far)
    mask = np.zeros(len(off), dtype=bool)
    if len(rows):
        mask[rows] = off[rows] > significance * _neighbour_median(fit.residual,
                                                                  neighbors[rows], ok)
    mask |= _small_pieces(points, neighbors, mean_sq, k + 1 if min_piece is None else min_piece,
                          exclude=mask)
    return mask


def outliers_of(nb, fit, *, noisy=False, n_threads=1):
    """:func:`find_outliers` of a :class:`~o3d_meshless.sampling.neighbors.Neighborhoods`
    and its :func:`surface_fit`.

    On a ``noisy`` cloud the significance is ``NOISY_SIGNIFICANCE`` residuals of fits of
    ``NOISY_FACTOR`` × k neighbours, whose noise scale and heights are steadier; the
    offset must still exceed ``OFFSET_MIN`` × the neighbours' radius in the fit of the
    k nearest or in the wide one (not the wide one's radius scaled down: its offsets
    also hold its truncation error, which on the raw scan ``bun000.ply`` put three
    surface points 1-1.6 spacings off), and stray pieces are still those of fewer than
    k + 1 points.
    """
    if not noisy:
        return find_outliers(nb.points, nb.indices, fit, mean_sq=nb.mean_sq)
    wide = nb.query(np.arange(len(nb.points)), NOISY_FACTOR * nb.k, n_threads=n_threads)
    wide_fit = surface_fit(nb.points, wide, n_threads=n_threads)
    far = _far(fit, nb.indices) | _far(wide_fit, wide)
    return find_outliers(nb.points, wide, wide_fit, mean_sq=nb.mean_sq,
                         significance=NOISY_SIGNIFICANCE, far=far, min_piece=nb.k + 1)


def _far(fit, neighbors, within=None):
    """Offsets above ``OFFSET_MIN`` × the neighbours' median RMS radius (among the
    points ``within``, default all; the smallest radius screens before the medians)."""
    ok = fit.status == 0 if within is None else within
    off = np.abs(fit.offset)
    far = ok & (off > OFFSET_MIN * fit.radius[neighbors].min(axis=1))
    rows = np.flatnonzero(far)
    far[rows] = off[rows] > OFFSET_MIN * _neighbour_median(fit.radius, neighbors[rows],
                                                           fit.status == 0)
    return far


def _neighbour_median(values, neighbors, ok):
    """Median over each point's neighbours of a per-point value (failed fits left out;
    the upper median for an even count: one partition instead of a sort)."""
    if not ok.all():
        v = np.where(ok, values, np.nan)[neighbors]
        with np.errstate(all="ignore"):
            med = np.nanmedian(v, axis=1)
        return np.where(np.isfinite(med), med, np.inf)
    k = neighbors.shape[1]
    return np.partition(values[neighbors], k // 2, axis=1)[:, k // 2]


def _small_pieces(points, neighbors, mean_sq, min_size, *, exclude):
    """Points in pieces of fewer than ``min_size`` points, or in minor pieces sampled
    far more sparsely than the cloud (``SPARSE_PIECE_*``), where two points are linked
    when each is among the other's ``LINKS`` nearest and no farther than ``LINK_FACTOR`` × the
    smaller of their RMS neighbour distances (a stray cluster's long links to the
    surface do not count). Already ``exclude``-d points link nothing."""
    neighbors = neighbors[:, :LINKS]
    n, k = neighbors.shape
    if mean_sq is None:
        d = points[neighbors] - points[:, None, :]
        mean_sq = np.einsum("nkj,nkj->n", d, d) / k
    scale = np.sqrt(mean_sq)
    typical = np.median(scale[~exclude]) if (~exclude).any() else np.median(scale)
    sparse_points = scale > SPARSE_PIECE_SPACING * typical
    # a cut link needs a neighbour farther than LINK_FACTOR × the smaller scale; the
    # farthest of the linking neighbours bounds every link of a row (cheap first look)
    far = np.linalg.norm(points[neighbors[:, -1]] - points, axis=1)
    if not (far > LINK_FACTOR * np.minimum(scale, scale[neighbors].min(axis=1))).any() \
            and not sparse_points.any():
        # no cut link: no piece is smaller than a neighbourhood; no sparse point: no
        # veil (the clean-cloud case, at the cost of these two tests)
        return np.zeros(n, dtype=bool)
    rows = np.repeat(np.arange(n), k)
    cols = neighbors.ravel()
    length = np.linalg.norm(points[rows] - points[cols], axis=1)
    keep = (length <= LINK_FACTOR * np.minimum(scale[rows], scale[cols])) \
        & ~exclude[rows] & ~exclude[cols]
    graph = sparse.csr_matrix((np.ones(int(keep.sum()), dtype=np.int8),
                               (rows[keep], cols[keep])), shape=(n, n))
    _, labels = csgraph.connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    stray = sizes[labels] < min_size
    if not sparse_points.any():
        return stray & ~exclude
    # a veil: a minor piece sampled far more sparsely than the cloud (mixed pixels spread
    # over a depth gap); a real minor piece has the spacing of the rest. Mutual links
    # only here: a surface point next to a veil has surface points, not the veil, among
    # its nearest (one-way links let a single one join a veil to the surface)
    _, labels = csgraph.connected_components(graph.multiply(graph.T), directed=False)
    sizes = np.bincount(labels)
    minor = np.flatnonzero(sizes < SPARSE_PIECE_FRACTION * n)
    if len(minor):
        spacing = np.zeros(len(sizes))
        order = np.argsort(labels, kind="stable")
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        for c in minor:
            spacing[c] = np.median(scale[order[starts[c]:starts[c] + sizes[c]]])
        stray |= (spacing > SPARSE_PIECE_SPACING * typical)[labels]
    return stray & ~exclude
