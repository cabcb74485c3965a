"""Which way is up: the rule behind :func:`o3d_meshless.plot.auto_up` (described in
:mod:`o3d_meshless.plot.view`), on subsampled points with oriented unit normals.

An up is a signed axis name (``"x"`` ... ``"-z"``) or, for a shape stored tilted, a
unit 3-vector (a tuple of floats): the normal of its base plane.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_points

_AXES = ("x", "y", "z")
_UP_CHOICES = ("x", "y", "z", "-x", "-y", "-z")
_SAMPLE = 20000          # points used to choose the view (a random subsample beyond)
_SLAB = 0.03             # the base: the lowest 3 % of the extent along a direction
_OPEN = 0.3              # |mean unit normal| above this: an open surface (a scan)
_TILT = 1.2              # a base off the axes must score this much more than any axis
_FLAT = 0.85             # ... and be this flat (mean |n . up| of its points), or stand on legs
_SAME = np.cos(np.radians(3.0))   # directions closer than 3 degrees are one
_SNAP = np.cos(np.radians(8.0))   # a sheet's normal this close to an axis is the axis
_CANDIDATES = 12         # the largest hull planes tried as bases
_FACING = 0.8            # cosine to a scan's scanner side beyond which a tilted base
_FACING_COVER = 0.7      # ... must be flat and cover this share of the footprint


def _subsample(n, m, seed=0):
    if n <= m:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, m, replace=False))


def _hull_area(q):
    """Area of the convex hull of 2-D points (0 when degenerate)."""
    from scipy.spatial import ConvexHull

    if len(q) < 3:
        return 0.0
    try:
        return float(ConvexHull(q).volume)
    except Exception:                  # QhullError: collinear or coincident points
        return 0.0


def _pca_normals(pts, idx, tree, k=10):
    """Unit normals (arbitrary sign) of the points ``idx`` from their k neighbours."""
    k = int(min(k, len(pts)))
    if k < 3:
        return np.tile([0.0, 0.0, 1.0], (len(idx), 1))
    _, nb = tree.query(pts[idx], k=k)
    q = pts[nb] - pts[nb].mean(axis=1, keepdims=True)
    _, vecs = np.linalg.eigh(np.einsum("mki,mkj->mij", q, q))
    return vecs[:, :, 0]


def _seen_from_inside(nrm):
    """Whether an open surface whose normals are turned away from its centroid holds two
    opposite faces (at least 10 % of the points each, normals within 18 degrees of
    ``v`` and of ``-v``): a floor and a ceiling, two facing walls. A scanner outside
    a shape never sees both; one inside a room does."""
    if np.linalg.norm(nrm.mean(axis=0)) <= _OPEN:
        return False
    probe = nrm[_subsample(len(nrm), 200, seed=1)]
    dots = probe @ nrm.T
    share_plus = np.mean(dots > 0.95, axis=1)
    share_minus = np.mean(dots < -0.95, axis=1)
    return bool(np.any((share_plus >= 0.1) & (share_minus >= 0.1)))


def _consistent(pts, nrm, k=6):
    """Whether the normals are consistently oriented: nine in ten pairs of neighbours
    whose normals are nearly parallel (or anti-parallel) have the same sign."""
    from scipy.spatial import cKDTree

    if len(pts) <= k:
        return False
    _, nb = cKDTree(pts).query(pts, k=k + 1)
    dots = np.einsum("ij,ikj->ik", nrm, nrm[nb[:, 1:]])
    dots = dots[np.abs(dots) > 0.5]
    return bool(len(dots)) and float(np.mean(dots > 0)) > 0.9


def _oriented(pts, nrm, given):
    """Unit normals and whether their sign is trusted (a single-view scan whose given
    normals face its scanner). Otherwise each normal is turned away from the centroid,
    or towards it for a scan seen from inside (:func:`_seen_from_inside`)."""
    nrm = nrm / np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-300)
    if given and np.linalg.norm(nrm.mean(axis=0)) > _OPEN:
        return nrm, True
    s = np.sign(np.einsum("ij,ij->i", pts - pts.mean(axis=0), nrm))
    s[s == 0] = 1.0
    if given and _consistent(pts, nrm):
        # kept as given: outward (a closed surface), or inward, facing a scanner
        # inside (a room with its ceiling: most normals towards the centroid)
        return nrm, bool(s.mean() < -0.2)
    nrm = nrm * s[:, None]
    if _seen_from_inside(nrm):
        return -nrm, True
    return nrm, False


def _skew(h):
    """Third standardised moment (0 for fewer than 3 distinct values)."""
    d = h - h.mean()
    sd = float(np.sqrt(np.mean(d * d)))
    return float(np.mean(d ** 3)) / sd ** 3 if sd > 0 else 0.0


def _unit(key):
    """The unit vector of an up: a signed axis name ('x', '-y' ...) or a vector."""
    if isinstance(key, str):
        return (-1.0 if key[0] == "-" else 1.0) * np.eye(3)[_AXES.index(key[-1])]
    return np.asarray(key, dtype=float)


def _plane(u):
    """Two orthonormal rows spanning the plane normal to ``u`` (the other two
    coordinate axes when ``u`` is an axis)."""
    a = np.flatnonzero(np.abs(u) > 1.0 - 1e-12)
    if len(a):
        return np.delete(np.eye(3), a[0], axis=0)
    e1 = np.cross(u, np.eye(3)[int(np.argmin(np.abs(u)))])
    e1 /= np.linalg.norm(e1)
    return np.vstack([e1, np.cross(u, e1)])


def _groups(q, radius):
    """Labels of the groups of 2-D points closer than ``radius`` to one another."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pairs = cKDTree(q).query_pairs(radius, output_type="ndarray")
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(q),) * 2)
    return connected_components(g, directed=False)[1]


def _feet(q, h, base, spacing):
    """Number of legs the base stands on: groups of base points (``q``: all points
    projected along the candidate up, ``h``: their heights) apart by a tenth of the
    base's width, each under a quarter of it, and each the foot of a column that
    stays as narrow (at most twice as wide) up to a fifth of the height; 0 when any
    sizeable group is wider (a flat face, a rim) or widens (a corner, a head)."""
    qb = q[base]
    if len(qb) < 9:
        return 0
    width = float(np.max(np.ptp(qb, axis=0)))
    radius = max(spacing, 0.1 * width)
    label = _groups(qb, radius)
    low = h <= h.min() + 0.2 * float(np.ptp(h))
    column = _groups(q[low], radius)
    where = np.flatnonzero(low)
    col_of = dict(zip(where, column))
    idx = np.flatnonzero(base)
    feet = 0
    for k in range(label.max() + 1):
        part = label == k
        if part.sum() < max(3, 0.05 * len(qb)):
            continue                                   # stray points
        size = float(np.max(np.ptp(qb[part], axis=0)))
        if size > 0.25 * width:
            return 0
        c = col_of[idx[part][0]]
        if float(np.max(np.ptp(q[where[column == c]], axis=0))) > 2.0 * size + radius:
            return 0
        feet += 1
    return feet


def _base(pts, nrm, u, open_, spacing, foot_cache):
    """``(score, feet)`` of the base below ``u`` (see :func:`auto_up`, step 1)."""
    plane = _plane(u)
    key = tuple(np.round(np.abs(u), 12))
    q = pts @ plane.T
    if key not in foot_cache:                       # the footprint: the same for +-u
        foot_cache[key] = _hull_area(q)
    foot = foot_cache[key]
    h = pts @ u
    base = h <= h.min() + _SLAB * float(np.ptp(h))
    nu = nrm[base] @ u
    ratio = _hull_area(q[base]) / foot if foot > 0 else 0.0
    flat = float(np.mean(np.abs(nu)))
    if open_ and flat > 0.7 and float(np.mean(nu)) < -0.5:
        return 0.0, 0, flat                         # seen from below: not a base
    feet = _feet(q, h, base, spacing) if ratio >= 0.5 else 0    # feet spanning the footprint
    return ratio * (0.5 + 0.5 * (1.0 if feet >= 3 else flat)), feet, flat   # feet: flat


def _off_axis(pts):
    """Candidate ups off the axes: both signs of the principal axes, and the inward
    normals of the largest planes of the convex hull (its facets grouped within 3
    degrees, by area); none within 3 degrees of an axis or of one another."""
    from scipy.spatial import ConvexHull

    _, axes = np.linalg.eigh(np.cov(pts.T))
    found = [axes[:, i] * s for i in range(3) for s in (1.0, -1.0)]
    try:
        hull = ConvexHull(pts)
    except Exception:                               # flat or degenerate
        hull = None
    if hull is not None:
        tri = pts[hull.simplices]
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]),
                                    axis=1)
        normal = hull.equations[:, :3]
        groups, weight = [], []
        for i in np.argsort(-area, kind="stable"):
            if groups:
                j = int(np.argmax(np.asarray(groups) @ normal[i]))
                if groups[j] @ normal[i] > _SAME:
                    weight[j] += area[i]
                    continue
            groups.append(normal[i])
            weight.append(area[i])
        order = np.argsort(-np.asarray(weight), kind="stable")[:_CANDIDATES]
        found += [-groups[i] for i in order]
    out = []
    for v in found:
        v = v / np.linalg.norm(v)
        if np.max(np.abs(v)) < _SAME and all(w @ v < _SAME for w in out):
            out.append(v)
    n_pca = sum(1 for w in out if any(w @ v > 1.0 - 1e-12 for v in found[:6]))
    return out[:n_pca], out[n_pca:]


def _spacing(pts):
    """Three times the median distance to the nearest neighbour."""
    from scipy.spatial import cKDTree

    d, _ = cKDTree(pts).query(pts, k=2)
    return 3.0 * float(np.median(d[:, 1]))


def _sheet_up(pts, nrm, trusted):
    """The up of a thin sheet (a height field, a planar patch), or None."""
    sd, axes = np.linalg.eigh(np.cov(pts.T))
    if np.sqrt(max(sd[0], 0.0)) >= 0.2 * np.sqrt(max(sd[1], 0.0)):
        return None
    v = axes[:, 0]
    a = int(np.argmax(np.abs(v)))
    if abs(v[a]) > _SNAP:
        v = np.eye(3)[a]                            # within 8 degrees of an axis: that axis
    # its normal is up, on the scanner's side, else on the side of the long tail of
    # heights (peaks), else "+"
    m, sk = float((nrm @ v).mean()), _skew(pts @ v)
    sign = np.sign(m) if trusted and abs(m) > _OPEN else (np.sign(sk) if abs(sk) > 0.75
                                                           else 1.0 * np.sign(v[a]))
    if abs(v[a]) == 1.0:
        return ("-" if sign < 0 else "") + _AXES[a]
    return tuple(float(c) for c in (v if sign > 0 else -v))


def _choose_up(pts, nrm, trusted):
    """The rule of :func:`auto_up` on subsampled points with oriented unit normals."""
    sheet = _sheet_up(pts, nrm, trusted)
    if sheet is not None:
        return sheet
    m = nrm.mean(axis=0)
    open_ = np.linalg.norm(m) > _OPEN
    spacing, cache = _spacing(pts), {}
    scores = {k: _base(pts, nrm, _unit(k), open_, spacing, cache) for k in _UP_CHOICES}
    best_axis = max(s for s, _, _ in scores.values())
    tilted = {}
    principal, hull_planes = _off_axis(pts)
    for v in principal + hull_planes:               # flat bases or feet, clearly better
        s, feet, flat = _base(pts, nrm, v, open_, spacing, cache)
        # up towards a scan's scanner: only a flat base under most of the footprint (a
        # room's floor seen from above). A far side seen from behind is no base: its far
        # rim and loose fragments look like feet, a far face seen face-on like a flat
        # base (the raw bunny scans bun000 and bun0 were laid on their backs)
        if open_ and float(v @ m) > _FACING * float(np.linalg.norm(m)) and not (
                flat > _FLAT and s >= _FACING_COVER * (0.5 + 0.5 * flat)):
            continue
        if (flat > _FLAT or feet >= 3) and s > _TILT * max(best_axis, 0.05):
            tilted[tuple(float(c) for c in v)] = (s, feet, flat)
    share = 0.5                                     # ties: at least half the best
    if tilted:
        scores, share = tilted, 0.85                # on a plane off the axes: near the best
    best = max(s for s, _, _ in scores.values())
    tied = [k for k in scores if scores[k][0] >= share * best] if best >= 0.15 else list(scores)
    if len(tied) > 1 and open_:                     # a scan: its scanner not below
        above = [k for k in tied if _unit(k) @ m > -0.05 * np.linalg.norm(m)]
        tied = above or tied
    tied = [k for k in tied if scores[k][1] >= 3] or tied     # it stands on its legs
    ext = {k: float(np.ptp(pts @ _unit(k))) for k in tied}
    low = min(ext.values())
    tied = [k for k in tied if ext[k] <= 1.05 * low]          # lies on its largest side
    if len(tied) > 1:
        # both signs of one axis (or a symmetric shape): the bulk low, the tail up
        # (hills on a plain, a figure on its plinth)
        sk = {k: _skew(pts @ _unit(k)) for k in tied}
        top = max(sk.values())
        if top > 0.1:
            tied = [k for k in tied if sk[k] >= top - 0.05]
    for k in ("z", "y", "x", "-z", "-y", "-x"):   # no preference left (a sphere, a box):
        if k in tied:                              # any is upright; the usual z first
            return k
    u = np.asarray(max(tied, key=lambda k: scores[k][0]))
    planes = [v for v in hull_planes if v @ u > np.cos(np.radians(10.0))]
    return tuple(float(c) for c in (max(planes, key=lambda v: v @ u) if planes else u))


def _prepared(points, normals, sample=_SAMPLE):
    """Subsampled points, oriented unit normals and whether their sign is trusted."""
    from scipy.spatial import cKDTree

    pts = check_points(points, name="points", dims=(3,))
    sub = _subsample(len(pts), sample)
    if normals is not None:
        nrm = check_points(normals, name="normals", dims=(3,))
        if nrm.shape[0] != pts.shape[0]:
            raise ValueError(f"`normals` must have one row per point (n = {len(pts)}); "
                             f"got {nrm.shape}")
        nrm = nrm[sub]
        ok = np.isfinite(nrm).all(axis=1) & (np.linalg.norm(nrm, axis=1) > 0)
        sub, nrm = sub[ok], nrm[ok]
    elif len(pts) >= 3:
        nrm = _pca_normals(pts, sub, cKDTree(pts))
    else:
        nrm = np.tile([0.0, 0.0, 1.0], (len(sub), 1))
    nrm, trusted = _oriented(pts[sub], nrm, normals is not None)
    return pts[sub], nrm, trusted
