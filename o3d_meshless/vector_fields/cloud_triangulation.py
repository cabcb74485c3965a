"""A closed triangulation of a point cloud from its points' tangent-plane Delaunay stars.

Counting a direction field's singularities needs loops that tile the surface without
overlap: then every singularity lies in exactly one loop and, on a closed surface, the
indices add up to the Euler characteristic. A mesh's faces are such loops; a cloud's
per-point neighbour loops are not (each spot lies inside about three of them).

**Stars.** Each point's nearest neighbours (those whose normals do not face the other
way: the far side of a thin part) are projected into its tangent plane, and the edges of
its cell in the 2-D Voronoi diagram of the projected points are found: the point's
*Delaunay star*, an umbrella of triangles ``(i, a, b)`` around it. The cell's edges are
the vertices of the convex hull of the neighbours' polar images ``2 p / |p|²`` (``p``
projected, the point at the origin); the hull is taken by removing reflex corners of the
polygon in angular order until none is left (all points at once, array-wise). A point
whose neighbours all lie in one half-plane (an open boundary) has an open star.

**Agreement.** A triangle is kept when it is in the stars of all three of its corners;
then triangles in two of the three stars are added where they close a gap (each edge in
at most two triangles). The result is used only when it is a closed orientable manifold
(every edge in exactly two triangles, walked both ways, each point's triangles one fan
around it): this is the idea of the "tufted" / intrinsic Delaunay triangulations of
point clouds (Sharp & Crane 2020, "A Laplacian for nonmanifold triangle meshes", used by
geometry-central and potpourri3d for point clouds), made manifold here by agreement of
the stars instead of by tufting.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

__all__ = ["delaunay_stars", "cloud_triangulation", "closed_manifold", "closed_cloud_faces"]


def delaunay_stars(points, frames, *, k=16, include=None):
    """Each point's Delaunay star in its tangent plane among its ``k`` nearest neighbours.

    Parameters
    ----------
    points : ndarray of shape (m, 3)
        Distinct points.
    frames : ndarray of shape (m, 3, 3)
        Rows ``(t_u, t_v, n)``, normals consistently oriented.
    k : int, default=16
        Neighbours considered per point.
    include : ndarray of shape (m,), bool, optional
        Points that take part (others are neither centres nor neighbours).

    Returns
    -------
    triangles : ndarray of shape (t, 3), int
        ``(i, a, b)``: centre ``i`` and two consecutive star neighbours, counter-clockwise
        about ``i``'s normal.
    closed : ndarray of shape (m,), bool
        Points whose star goes all the way round.
    """
    m = len(points)
    if include is None:
        include = np.ones(m, dtype=bool)
    ids = np.flatnonzero(include)
    kk = min(k + 1, len(ids))
    _, nb = cKDTree(points[ids]).query(points[ids], kk)
    nb = ids[nb[:, 1:]]                                   # (c, k) global indices
    centre = ids
    d = points[nb] - points[centre, None]
    f = frames[centre]
    u = np.einsum("ckj,cj->ck", d, f[:, 0])
    v = np.einsum("ckj,cj->ck", d, f[:, 1])
    r2 = u * u + v * v
    valid = (np.einsum("ckj,cj->ck", frames[nb, 2], f[:, 2]) > 0) & (r2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        qu, qv = 2 * u / r2, 2 * v / r2                   # polar images
    ang = np.where(valid, np.arctan2(v, u), np.inf)
    alive = valid.copy()
    kcols = nb.shape[1]
    rows = np.arange(len(centre))[:, None]
    while True:
        # live neighbours first, in angular order
        order = np.argsort(np.where(alive, ang, np.inf), axis=1, kind="stable")
        nb, qu, qv, ang, alive = (a[rows, order] for a in (nb, qu, qv, ang, alive))
        count = alive.sum(axis=1)
        pos = np.arange(kcols)[None]
        c = np.maximum(count, 1)[:, None]
        prev = (pos - 1) % c
        nxt = (pos + 1) % c
        ax, ay = qu - qu[rows, prev], qv - qv[rows, prev]
        bx, by = qu[rows, nxt] - qu, qv[rows, nxt] - qv
        reflex = alive & (ax * by - ay * bx <= 0) & (count[:, None] > 3)
        if not reflex.any():
            break
        alive &= ~reflex
    count = alive.sum(axis=1)
    pos = np.arange(kcols)[None]
    nxt = (pos + 1) % np.maximum(count, 1)[:, None]
    # the angular step to the next neighbour: a gap of π or more leaves the star open
    with np.errstate(invalid="ignore"):
        step = np.nan_to_num((ang[rows, nxt] - ang) % (2 * np.pi), nan=2 * np.pi)
    step[count < 3] = 2 * np.pi
    gap = alive & (step >= np.pi)
    closed = np.zeros(m, dtype=bool)
    closed[centre] = (count >= 3) & ~gap.any(axis=1)
    keep = alive & ~gap
    ci, cj = np.nonzero(keep)
    tri = np.c_[centre[ci], nb[ci, cj], nb[ci, nxt[ci, cj]]]
    return tri, closed


def _oriented(faces, points, frames):
    """``faces`` with corners reordered counter-clockwise about their normals."""
    a, b, c = np.asarray(faces, dtype=np.intp).reshape(-1, 3).T
    normal = np.cross(points[b] - points[a], points[c] - points[a])
    flip = np.einsum("ij,ij->i", normal, frames[a, 2] + frames[b, 2] + frames[c, 2]) < 0
    return np.c_[a, np.where(flip, c, b), np.where(flip, b, c)]


def _hole_loops(faces, points, frames):
    """Loops of half-edges without a twin, each walked with its hole on the left."""
    half = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    have = set(map(tuple, half.tolist()))
    out = {}
    for p, q in half.tolist():
        if (q, p) not in have:
            out.setdefault(q, []).append(p)            # the hole runs q -> p
    loops, used = [], set()
    for start, ends in out.items():
        for first in ends:
            if (start, first) in used:
                continue
            loop, prev, cur = [start], start, first
            used.add((start, first))
            while cur != start and len(loop) <= _MAX_HOLE:
                loop.append(cur)
                cand = [x for x in out.get(cur, []) if (cur, x) not in used]
                if not cand:
                    return None
                # the next edge of this hole: the first one clockwise from the way back
                f = frames[cur]
                ang = [np.arctan2((points[x] - points[cur]) @ f[1],
                                  (points[x] - points[cur]) @ f[0]) for x in [prev] + cand]
                nxt = cand[int(np.argmin([(ang[0] - a) % (2 * np.pi) for a in ang[1:]]))]
                used.add((cur, nxt))
                prev, cur = cur, nxt
            if cur != start:
                return None                             # too long: an open boundary
            loops.append(loop)
    return loops


def _fill(loop, points, frames, edges):
    """Triangles filling a small hole, ear by ear in the plane of its mean normal."""
    normal = frames[loop, 2].sum(axis=0)
    normal /= np.linalg.norm(normal)
    t = np.cross(normal, [1.0, 0, 0] if abs(normal[0]) < 0.9 else [0, 1.0, 0])
    t /= np.linalg.norm(t)
    uv = (points[loop] - points[loop].mean(axis=0)) @ np.c_[t, np.cross(normal, t)]
    ids = list(range(len(loop)))
    out = []
    while len(ids) > 3:
        best, score = None, -np.inf
        for k, i in enumerate(ids):
            a, c = ids[k - 1], ids[(k + 1) % len(ids)]
            e1, e2 = uv[i] - uv[a], uv[c] - uv[i]
            if e1[0] * e2[1] - e1[1] * e2[0] <= 0:
                continue                                  # reflex corner
            if (min(loop[a], loop[c]), max(loop[a], loop[c])) in edges:
                continue                                  # the diagonal exists already
            tri = uv[[a, i, c]]
            inside = False
            for j in ids:
                if j in (a, i, c):
                    continue
                d = [(tri[(r + 1) % 3] - tri[r])[0] * (uv[j] - tri[r])[1]
                     - (tri[(r + 1) % 3] - tri[r])[1] * (uv[j] - tri[r])[0]
                     for r in range(3)]
                inside |= min(d) >= 0
            if inside:
                continue
            sides = np.linalg.norm(tri - np.roll(tri, 1, axis=0), axis=1)
            quality = abs(e1[0] * e2[1] - e1[1] * e2[0]) / max(sides.max() ** 2, 1e-300)
            if quality > score:
                best, score = k, quality
        if best is None:
            return None
        a, i, c = ids[best - 1], ids[best], ids[(best + 1) % len(ids)]
        out.append((loop[a], loop[i], loop[c]))
        edges.add((min(loop[a], loop[c]), max(loop[a], loop[c])))
        del ids[best]
    a, i, c = ids
    out.append((loop[a], loop[i], loop[c]))
    return out


_MAX_HOLE = 24


def cloud_triangulation(points, frames, *, k=16, include=None):
    """Triangles that the Delaunay stars of their corners agree on, holes filled.

    Returns
    -------
    ndarray of shape (f, 3), int, or None
        Triangles counter-clockwise about their corners' normals: those in all three of
        their corners' stars (less any two that overlap the same way), and the small
        holes between them filled ear by ear. None when a hole is too large or cannot be
        filled (an open boundary, a sparse part).
    """
    tri, _ = delaunay_stars(points, frames, k=k, include=include)
    uniq, votes = np.unique(np.sort(tri, axis=1), axis=0, return_counts=True)
    faces = _oriented(uniq[votes >= 3], points, frames)
    m = len(points)
    code = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2).astype(np.int64)
    code = code[:, 0] * m + code[:, 1]
    _, inv, count = np.unique(code, return_inverse=True, return_counts=True)
    folded = (count[inv.ravel()] > 1).reshape(-1, 3).any(axis=1)
    faces = faces[~folded]
    loops = _hole_loops(faces, points, frames)
    if loops is None:
        return None
    edges = set(map(tuple, np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2),
                                   axis=1).tolist()))
    extra = []
    for loop in loops:
        filled = _fill(loop, points, frames, edges)
        if filled is None:
            return None
        extra += filled
    if extra:
        faces = np.vstack([faces, _oriented(np.array(extra), points, frames)])
    return faces


def closed_manifold(faces, points, frames):
    """Whether ``faces`` form a closed orientable manifold oriented by the normals.

    Every edge in exactly two triangles walked in opposite directions (each triangle
    counter-clockwise about its corners' normals) and each used point's triangles one
    fan around it.

    Returns
    -------
    ok : bool
    euler : int
        ``V − E + F`` of the used points.
    """
    f = np.asarray(faces, dtype=np.intp)
    if not len(f):
        return False, 0
    a, b, c = f.T
    normal = np.cross(points[b] - points[a], points[c] - points[a])
    flip = np.einsum("ij,ij->i", normal, frames[a, 2] + frames[b, 2] + frames[c, 2]) < 0
    b, c = np.where(flip, c, b), np.where(flip, b, c)
    half = np.c_[np.r_[a, b, c], np.r_[b, c, a]]
    m = len(points)
    code = half[:, 0].astype(np.int64) * m + half[:, 1]
    uniq_half, count_half = np.unique(code, return_counts=True)
    if (count_half != 1).any():
        return False, 0
    twin = half[:, 1].astype(np.int64) * m + half[:, 0]
    if not np.isin(twin, uniq_half, assume_unique=False).all():
        return False, 0
    used = np.unique(f)
    V, E, F = len(used), len(uniq_half) // 2, len(f)
    # one fan per point: around p, the half-edge after (p -> q) of face (p, q, r) is
    # (p -> r), in the next face; following it visits p's half-edges in one cycle
    third = np.r_[c, a, b]
    order = np.argsort(code)
    nxt = order[np.searchsorted(uniq_half, half[:, 0].astype(np.int64) * m + third)]
    cycles, _ = csgraph.connected_components(
        sparse.csr_matrix((np.ones(len(half)), (np.arange(len(half)), nxt)),
                          shape=(len(half), len(half))), directed=False)
    if cycles != V:
        return False, V - E + F
    return True, V - E + F


def closed_cloud_faces(points, frames, *, include=None, ks=(16, 32)):
    """A closed triangulation of a cloud, trying ``k`` = 16 then 32 neighbours per star.

    Parameters
    ----------
    points : ndarray of shape (m, 3)
    frames : ndarray of shape (m, 3, 3)
        Rows ``(t_u, t_v, n)``, normals consistently oriented.
    include : ndarray of shape (m,), bool, optional
        Points that take part (distinct, not outliers).
    ks : tuple of int
        Neighbour counts tried in turn.

    Returns
    -------
    faces : ndarray of shape (f, 3), int, or None
        None when no ``k`` gives a closed orientable manifold.
    euler : int or None
        Its ``V − E + F``.
    """
    for k in ks:
        faces = cloud_triangulation(points, frames, k=k, include=include)
        if faces is None:
            continue
        ok, euler = closed_manifold(faces, points, frames)
        if ok:
            return faces, euler
    return None, None
