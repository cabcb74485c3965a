"""Point clouds whose sheets pass close: keep each point's neighbours on its own sheet.

Where two parts of a surface pass closer than a neighbourhood's radius (the two sides of
a thin plate or ear, a fold, a second layer of a scan), the k nearest neighbours of a
point hold points of both, and every operator built from them couples the sheets. A
cloud has no connectivity to tell them apart, so the split reads it from the heights
(compiled kernel ``_kernels/cloud_sheets.pyx``, one neighbourhood at a time):

1. **Plane.** Of the planes through the centre, one of its four nearest neighbours and
   another neighbour, the one along whose normal the heights bunch tightest (their
   range less the widest jump, so a parallel second sheet counts as bunched), refined
   by PCA of the two groups of heights each about its own mean. PCA of the whole
   neighbourhood tilts by up to 80 degrees when the second sheet is as far off as the
   neighbourhood is wide.
2. **Own cluster.** From the centre's height outwards, the sorted heights up to a jump
   wider than ``GAP_FACTOR`` × the neighbourhood's RMS tangential radius.
3. **Off the own sheet.** A plane or quadric is fitted to the own cluster; neighbours
   outside it whose residual exceeds both that jump and ``SPREAD_FACTOR`` × the own
   cluster's RMS residual are on another sheet, when there are at least two of them (a
   lone point is a spike or an outlier, for the outlier test). A curved sheet's far
   neighbours follow the fit; a second sheet stays off it at every distance.

Rows with a point on another sheet are rebuilt from a three times wider search in which
the same split decides (:meth:`~o3d_meshless.sampling.neighbors.Neighborhoods.filtered`); a
centre with fewer than ``MIN_OWN`` points of its own in view is decided on that wider
search. Later and wider searches (open Voronoi cells, the guard) reach where curvature
mixes the sheets' heights, so they keep a candidate only when neighbours that list each
other join it to the centre within twice its distance
(:func:`o3d_meshless.sampling.mesh_sheets.near_along_graph`, the mesh filter's test on the
separated lists). The number of rows split is the sampling's ``sheet_conflicts``.

Measured (``benchmarks/bench_cloud_sheets.py``): concentric spheres 1 and 1 + d, 10 000
points each, modes 2-39 of the default spectrum against l(l+1) and l(l+1)/(1+d)^2:
d = 0.1: 9.86 -> 0.022 %, d = 0.06: 86.7 -> 0.022 % (two zero eigenvalues, as for two
spheres), d = 0.04 (half the neighbourhood's radius): 62.7 -> 2.5 %. Clean and noisy
single sheets are not split (the 20 000-point ellipsoid: 0 rows clean and at noise
0.05 and 0.2 spacings), so their operators are unchanged; coarse vertex clouds of
closed meshes are split at 10-20 % of their points (thin legs, ears and tails) and
their modes 1-30 moved by less than 0.2 % (cow.off 8.66 -> 8.51 % against FEM).
With ``outliers="keep"`` (the behaviour before detection) clouds are not split.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from .._kernels.cloud_sheets import other_sheet as _other_sheet_kernel
from .._validation import check_stencil_arrays
from .mesh_sheets import near_along_graph
from .neighbors import knn

__all__ = ["GAP_FACTOR", "SPREAD_FACTOR", "MIN_OWN", "other_sheet", "separate_sheets",
           "sheet_knn"]

#: a jump in the sorted heights wider than this times the neighbourhood's RMS
#: tangential radius separates two sheets (at k = 16 about one mean spacing)
GAP_FACTOR = 0.3
#: … and wider than this times the RMS height of the centre's own cluster (noise, or the
#: curvature of a coarse sampling, spreads the heights without a jump)
SPREAD_FACTOR = 4.0
#: a row whose own cluster would hold fewer points (centre included) is not split: the
#: centre is the odd one out, which the outlier test judges
MIN_OWN = 6


def other_sheet(points, neighbors, *, centers=None, scale_k=None, n_threads=1):
    """Which neighbours lie on another sheet than their centre (step 1 of the module text).

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    neighbors : ndarray of shape (m, k), intp
        Neighbours of ``points[centers]``, the centre excluded.
    centers : ndarray of shape (m,), intp, optional
        Default ``arange(n)``.
    scale_k : int, optional
        The gap scales with the RMS tangential radius of the nearest ``scale_k``
        neighbours (default all ``k``): a wider search keeps the neighbourhood's scale.
    n_threads : int, default=1

    Returns
    -------
    mask : ndarray of shape (m, k), bool

    Examples
    --------
    Two parallel 20 × 20 grids, spacing 0.1, 0.25 apart: the 30 nearest neighbours of a
    point reach the other grid, which the split finds.

    >>> import numpy as np
    >>> from o3d_meshless.sampling.neighbors import knn
    >>> from o3d_meshless.sampling.cloud_sheets import other_sheet
    >>> g = np.stack(np.meshgrid(np.arange(20), np.arange(20)), -1).reshape(-1, 2) * 0.1
    >>> p = np.vstack([np.c_[g, np.zeros(400)], np.c_[g, np.full(400, 0.25)]])
    >>> nb = knn(p, 30)
    >>> across = (nb.indices >= 400) != (np.arange(800) >= 400)[:, None]
    >>> mask = other_sheet(nb.points, nb.indices)
    >>> bool(across.any()), bool((mask == across).all())
    (True, True)
    """
    return _split(points, neighbors, centers, scale_k, n_threads) == 1


def _split(points, neighbors, centers, scale_k, n_threads):
    """The kernel's marks (m, k), uint8: 0 same sheet, 1 another sheet, 3 another sheet
    seen from a centre with few points of its own sheet in view."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    neighbors = np.ascontiguousarray(neighbors, dtype=np.intp)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"`points` must have shape (n, 3); got {points.shape}")
    centers = np.arange(len(points), dtype=np.intp) if centers is None else \
        np.ascontiguousarray(centers, dtype=np.intp)
    if neighbors.ndim != 2 or neighbors.shape[0] != len(centers) or neighbors.shape[1] < 3:
        raise ValueError(f"`neighbors` must have shape (m, k) with m = {len(centers)} "
                         f"and k >= 3; got {neighbors.shape}")
    check_stencil_arrays(points, neighbors, centers, None, 3, n_threads)
    out = np.empty(neighbors.shape, dtype=np.uint8)
    if out.size:
        _other_sheet_kernel(points, neighbors, centers, int(scale_k or 0), GAP_FACTOR,
                            SPREAD_FACTOR, MIN_OWN, out, int(n_threads))
        if (out == 2).any():
            raise MemoryError("no memory for the sheet split's work buffers")
    return out


def separate_sheets(nb, *, n_threads=1):
    """``nb`` with every neighbour list kept to its centre's sheet (the module text).

    Parameters
    ----------
    nb : Neighborhoods
    n_threads : int, default=1

    Returns
    -------
    nb : Neighborhoods
        ``nb`` itself when no row is split; else a filtered copy whose later queries
        are filtered too.
    conflicts : int
        Rows (unique points) whose neighbourhood held another sheet.
    unresolved : int
        Rows whose rebuilt neighbourhood still holds points the split puts on another
        sheet: sheets about as close as the spacing, which no local test separates.

    Examples
    --------
    Concentric spheres 0.1 apart: the neighbourhoods of the raw k-NN reach across,
    the separated ones stay on their own sphere.

    >>> import numpy as np
    >>> from o3d_meshless.sampling.neighbors import knn
    >>> from o3d_meshless.sampling.cloud_sheets import separate_sheets
    >>> from o3d_meshless.testing import random_sphere
    >>> p = np.vstack([random_sphere(3000, seed=0), 1.1 * random_sphere(3000, seed=1)])
    >>> outer = np.linalg.norm(p, axis=1) > 1.05
    >>> nb = knn(p, 16)
    >>> across = lambda nb: int((outer[nb.indices] != outer[:, None]).sum())
    >>> sep, conflicts, unresolved = separate_sheets(nb)
    >>> across(nb) > 1000, across(sep), conflicts > 1000, unresolved
    (True, 0, True, 0)
    """
    if nb.points.shape[1] != 3 or nb.k < 3:
        return nb, 0, 0
    marks = _split(nb.points, nb.indices, None, None, n_threads)
    split = (marks == 1).any(axis=1)
    # a centre with few of its own sheet in view is looked at again over the wider
    # search that refills split rows: split there, its row is rebuilt; not, it stays
    unsure = (marks == 3).any(axis=1) & ~split
    rows = np.flatnonzero(split | unsure)
    if not len(rows):
        return nb, 0, 0
    points, k = nb.points, nb.k

    def accept(centers, candidates):
        # the same split on the wider candidate lists that refill the split rows
        return _split(points, candidates, centers, k, n_threads) != 1

    out = nb.filtered(accept, rows=rows, widen=True, n_threads=n_threads)
    changed = (out.indices[rows] != nb.indices[rows]).any(axis=1)
    # rows whose rebuilt list still holds points the split puts on another sheet: there
    # the sheets are about as close as the spacing, and no local test tells them apart
    unresolved = int((_split(points, out.indices[rows], rows, None, n_threads) == 1)
                     .any(axis=1).sum())
    # later, wider searches (open Voronoi cells, the guard) reach where the heights mix
    # the sheets (curvature^2 x radius ~ gap): there a candidate must be joined to the
    # centre by mutual neighbours within twice its distance (the mesh filter's test on
    # the separated k nearest; mutual, so one row the split missed bridges nothing)
    n = len(points)
    A = sparse.csr_matrix((np.ones(out.indices.size, dtype=np.int8),
                           (np.repeat(np.arange(n), out.indices.shape[1]),
                            out.indices.ravel())), shape=(n, n))
    out.accept = near_along_graph(points, A.multiply(A.T).tocsr(), n_threads=n_threads)
    return out, int(split.sum() + (changed & unsure[rows]).sum()), unresolved


def sheet_knn(points, k, *, n_threads=1, separate=True):
    """:func:`~o3d_meshless.sampling.neighbors.knn` of ``points`` then, with ``separate``,
    :func:`separate_sheets`. Returns ``(nb, conflicts, unresolved)``."""
    nb = knn(points, k, n_threads=n_threads, name="geometry")
    return separate_sheets(nb, n_threads=n_threads) if separate else (nb, 0, 0)
