"""Open boundaries of a sampled surface: which points lie on them, and which way is out.

A point lies on the open boundary of a scan when its neighbours, seen in its tangent
plane, leave a wide empty sector: the largest angular gap between consecutive
neighbour directions exceeds ``GAP_ANGLE`` (135°). Interior points of an i.i.d. sample
rarely do (the largest gap among 16 uniform directions exceeds 135° with probability
about 3 %), boundary points always do (at least ~180° on a smooth boundary). Clusters of an
i.i.d. sample still open false gaps among ``k`` neighbours, so a candidate is confirmed
among its ``2k`` nearest: on a 10 000-point i.i.d. disc this flags no point deeper than
two spacings and misses 5 of the 115 points within 0.3 spacings of the rim. Where the
density jumps, the sparse side lies beyond even the ``2k`` nearest of the sparse points
next to the dense side, so a last look is taken among the ``6k`` nearest
(``WIDE_FACTOR``): on the 20 000-point ellipsoid thinned to one in ten for x > 0 the
false boundary points drop from 34 to 0 and modes 1–30 from 0.88 to 0.31 % off; the
i.i.d. disc and hemisphere (10 000 points) keep 232 of 235 and 159 of 162. A boundary
point must have another among its ``k`` nearest (the boundary is a curve: a lone gap on
a 16 000-point i.i.d. sphere is not one), and a boundary
point's neighbourhood must also be flat (:func:`is_planar`): on closed meshes used as
clouds, the thin legs and ears of a coarse sampling otherwise pass the gap test.

The outward **conormal** (the unit tangent vector perpendicular to the boundary,
pointing out of the surface) is perpendicular to the line through the nearby boundary
points, on the side of the gap's bisector (mean error 2.9° on the i.i.d. disc; the
bisector alone: 5°).

What ``L`` means there: the Laplace–Beltrami rows of boundary points are built for
functions whose conormal derivative vanishes, the **Neumann** condition (natural
boundary condition of FEM; what robust-laplacian and LaPy compute), so the spectrum of
an open surface approximates its Neumann spectrum. See
:mod:`o3d_meshless.stencils.neumann`.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_stencil_arrays
from .frames import is_planar

__all__ = ["detect_boundary", "largest_gap", "GAP_ANGLE", "CONFIRM_FACTOR", "WIDE_FACTOR"]

#: a point whose tangent-plane neighbours leave an empty sector wider than this is on
#: the boundary (radians)
GAP_ANGLE = np.deg2rad(135.0)
#: the test is confirmed on this many times the base neighbours: clusters of an
#: i.i.d. sample open false gaps among k neighbours, almost never among 2k
CONFIRM_FACTOR = 2
#: … and on this many times for the confirmed ones: a 10x density jump leaves the
#: sparse side's points next to the dense one empty sectors among their 2k nearest
#: (34 false boundary points on the 20 000-point ellipsoid thinned for x > 0; none after
#: a look among the 6k nearest, 8 among the 4k)
WIDE_FACTOR = 6
def largest_gap(points, centers, neighbors, frames, *, n_threads=1):
    """Largest empty angular sector among each centre's tangent-plane neighbours.

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    centers : ndarray of shape (m,), intp
    neighbors : ndarray of shape (m, k), intp
    frames : ndarray of shape (n, >= 2, 3)
        Tangent axes ``t_u, t_v`` (the first two rows) of every point.
    n_threads : int

    Returns
    -------
    gap : ndarray of shape (m,)
        Radians.
    bisector : ndarray of shape (m, 2)
        Unit direction splitting that sector, in ``(t_u, t_v)`` coordinates.
    """
    from .._kernels.gaps import tangent_gaps

    centers = np.ascontiguousarray(centers, dtype=np.intp)
    neighbors = np.ascontiguousarray(neighbors, dtype=np.intp)
    frames = np.ascontiguousarray(frames, dtype=np.float64)
    check_stencil_arrays(points, neighbors, centers, frames, 2, n_threads)
    gap = np.empty(len(centers))
    bisector = np.empty((len(centers), 2))
    tangent_gaps(points, neighbors, centers, frames, gap, bisector, int(n_threads))
    if np.isnan(gap).any():
        raise MemoryError("the boundary-gap kernel could not allocate its per-thread scratch")
    return gap, bisector


def detect_boundary(nb, frames, *, gap_angle=GAP_ANGLE, known=None, n_threads=1):
    """Boundary points and their outward conormals.

    Parameters
    ----------
    nb : Neighborhoods
        Neighbourhoods of the (unique) points, from :func:`o3d_meshless.sampling.neighbors.knn`.
    frames : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)``.
    gap_angle : float, default=GAP_ANGLE (135°)
        Largest empty sector, in radians, an interior point may have among its ``k``
        and among its ``2k`` nearest neighbours (a boundary point exceeds it in both).
    known : ndarray of shape (n,), bool, or None
        Boundary points known from elsewhere (a mesh's boundary edges): no gap test,
        only their conormals are computed.
    n_threads : int
        Threads for the confirming neighbour query.

    Returns
    -------
    mask : ndarray of shape (n,), bool
        Boundary points.
    conormals : ndarray of shape (n, 2)
        Outward unit conormal in each point's ``(t_u, t_v)`` coordinates (zero rows for
        interior points).

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.sampling.neighbors import knn
    >>> g = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), -1).reshape(-1, 2)
    >>> nb = knn(np.c_[g, np.zeros(100)], 8)
    >>> mask, conormals = detect_boundary(nb, np.tile(np.eye(3), (100, 1, 1)))
    >>> int(mask.sum())                       # the 36 points on the square's rim
    36
    >>> np.abs(conormals[5].round(6)).tolist(), float(conormals[5, 1])   # bottom edge: −y
    ([0.0, 1.0], -1.0)
    """
    n = len(nb.points)
    if known is None:
        gap, _ = largest_gap(nb.points, np.arange(n), nb.indices, frames, n_threads=n_threads)
        cand = np.flatnonzero(gap > gap_angle)
        cand = cand[is_planar(nb.points, cand, nb.indices[cand])]
    else:
        cand = np.flatnonzero(known)
    mask = np.zeros(n, dtype=bool)
    conormals = np.zeros((n, 2))
    if len(cand):
        wide = nb.query(cand, CONFIRM_FACTOR * nb.k, n_threads=n_threads)
        gap2, bisector = largest_gap(nb.points, cand, wide, frames, n_threads=n_threads)
        ok = gap2 > gap_angle if known is None else np.ones(len(cand), dtype=bool)
        if known is None and ok.any():
            # where the density jumps, the sparse side lies beyond the 2k nearest of the
            # sparse points next to the dense side: a last look among the 4k nearest
            rows = np.flatnonzero(ok)
            wider = nb.query(cand[rows], WIDE_FACTOR * nb.k, n_threads=n_threads)
            gap4, _ = largest_gap(nb.points, cand[rows], wider, frames, n_threads=n_threads)
            ok[rows[gap4 <= gap_angle]] = False
        mask[cand[ok]] = True
        if known is None:       # a boundary is a curve: a lone point with a gap is not on one
            lone = ~mask[nb.indices[cand]].any(axis=1)
            ok &= ~lone
            mask[cand[lone]] = False
        conormals[cand[ok]] = _along_boundary(nb.points, cand[ok], wide[ok], frames, mask,
                                              bisector[ok])
    return mask, conormals


def _along_boundary(points, centers, neighbors, frames, mask, bisector):
    """Conormals perpendicular to the boundary line through nearby boundary points.

    The gap bisector is off by the sampling's irregularity (several degrees on an i.i.d.
    sample), and a Neumann row turns a conormal error θ into an error ∝ θ·∂f/∂τ / h in
    the Laplacian. The boundary points among the ``2k`` neighbours trace the boundary
    over a few spacings: the principal axis of their tangent-plane positions (the centre
    included) is the boundary tangent, and the conormal is its perpendicular on the
    bisector's side. Fewer than two other boundary points: the bisector is kept.
    """
    out = bisector.copy()
    off = points[neighbors] - points[centers][:, None, :]
    u = np.einsum("mkc,mc->mk", off, frames[centers, 0])
    v = np.einsum("mkc,mc->mk", off, frames[centers, 1])
    on = mask[neighbors]
    count = on.sum(axis=1)
    for r in np.flatnonzero(count >= 2):
        xy = np.vstack([[0.0, 0.0], np.c_[u[r, on[r]], v[r, on[r]]]])
        xy -= xy.mean(axis=0)
        _, vecs = np.linalg.eigh(xy.T @ xy)
        normal = vecs[:, 0]                       # across the boundary line
        out[r] = normal if normal @ bisector[r] >= 0 else -normal
    return out
