"""The camera: which axis is drawn up and where the camera looks from, chosen from the
shape (:func:`auto_up`, :func:`auto_view`) or given (an explicit ``up`` / ``view``,
the CLI's ``--up`` / ``--view``, is always used as it is).

How "up" is decided (one of the six signed coordinate axes; details in :func:`auto_up`):

- a **base**: the object rests the way it would on a table. The lowest 3 % of the
  points along each signed axis are its base; the base that covers most of the
  footprint (convex hulls), and is flat, wins: a statue's plinth, a terrain's plain,
  a room's floor, a cow's hooves;
- the **scanner**: a single-view scan (an open surface; its normals facing the
  scanner, or turned outwards) was not seen from below, so a flat face whose normals
  point down is not a base: the seen top of a box is its top;
- **ties** (bases scoring at least half the best): for a scan, the axes its scanner
  is not below; then the axis the shape is lowest along (it lies on its largest side),
  then the bulk low and the tail up (positive skewness), then, for a shape with no
  preference left (a sphere, a box), the usual ``z``, ``y``, ``x``;
- a thin **sheet** (a height field) has its normal up.

The camera then looks at a scan from its scanner's side, and at anything else across
its broad side, turned towards its taller end. Every rule uses the shape only, never
the coordinate names, so the same shape in any of the 24 axis-aligned orientations
is drawn upright and from the same side (``tests/test_view_choice.py``); only
shapes with no preference at all (which look the same whichever way they stand) fall
back to the coordinate names.

Known limits: up is always one of the six coordinate axes (as ``--up``), so a shape
stored tilted by an arbitrary angle gets the best of them, not its own up; a room
scanned from inside needs normals facing the scanner (without them the scan is taken
as seen from its convex side, like a box, and drawn upside down); an object on thin
legs that is taller than wide (a chair) is drawn lying on its side, as it would lie
most stably; which broad side of a nearly mirror-symmetric shape is seen may change
with the sample.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_points

__all__ = ["auto_up", "auto_view", "view_direction", "visible_mask", "DEFAULT_VIEW"]

DEFAULT_VIEW = (15.0, -60.0)
AUTO_ELEVATION = 20.0
_AXES = ("x", "y", "z")
_UP_CHOICES = ("x", "y", "z", "-x", "-y", "-z")
# cyclic (rotation, not mirror) permutations taking the data's up axis to matplotlib's z
_PERM = {"z": (0, 1, 2), "y": (2, 0, 1), "x": (1, 2, 0)}
_SAMPLE = 20000          # points used to choose the view (a random subsample beyond)
_SLAB = 0.03             # the base: the lowest 3 % of the extent along an axis
_OPEN = 0.3              # |mean unit normal| above this: an open surface (a scan)


def _check_up(up, *, allow_auto=False):
    """Canonical up axis: 'x', 'y', 'z', '-x', '-y', '-z' (or 'auto')."""
    if allow_auto and (up is None or up == "auto"):
        return "auto"
    if isinstance(up, str):
        key = up.strip().lower()
        key = key[1:] if key.startswith("+") else key
        if key in _UP_CHOICES:
            return key
    extra = ", 'auto' or None" if allow_auto else " (for 'auto' call auto_up(points))"
    raise ValueError(f"`up` must be one of 'x', 'y', 'z', '-x', '-y', '-z'{extra}; got {up!r}")


def _check_view(view):
    try:
        elev, azim = (float(v) for v in view)
    except (TypeError, ValueError):
        raise ValueError(f"`view` must be a pair (elev, azim) in degrees; got {view!r}") from None
    if not (math.isfinite(elev) and math.isfinite(azim)):
        raise ValueError(f"`view` must be finite; got {view!r}")
    return elev, azim


def _rotation(up):
    """Rotation R (rows: plotting x, y, z in data coordinates) putting ``up`` vertical."""
    up = _check_up(up)
    R = np.zeros((3, 3))
    for i, j in enumerate(_PERM[up[-1]]):
        R[i, j] = 1.0
    if up.startswith("-"):
        R[1:] *= -1.0                  # half turn about the plotting x axis
    return R


def _camera(view, up):
    """Screen right, screen up and towards-camera unit vectors, in data coordinates."""
    elev, azim = np.deg2rad(_check_view(view))
    ce, se, ca, sa = math.cos(elev), math.sin(elev), math.cos(azim), math.sin(azim)
    R = _rotation(up)
    right = R.T @ np.array([-sa, ca, 0.0])
    upward = R.T @ np.array([-se * ca, -se * sa, ce])
    toward = R.T @ np.array([ce * ca, ce * sa, se])
    return right, upward, toward


def view_direction(view=DEFAULT_VIEW, *, up="z"):
    """Unit vector from the object towards the camera, in the data's coordinates.

    Parameters
    ----------
    view : (float, float), default (15, -60)
        ``(elev, azim)`` in degrees, matplotlib's meaning (elevation above the
        horizontal plane, azimuth around the up axis).
    up : {"x", "y", "z", "-x", "-y", "-z"}, default "z"
        Data axis drawn vertically, pointing up (the Stanford bunny and many scans use
        ``"y"``). Use :func:`auto_up` to choose it from the points.

    Returns
    -------
    d : ndarray of shape (3,)

    Examples
    --------
    >>> from o3d_meshless.plot import view_direction
    >>> view_direction((90, 0)).round(6)
    array([0., 0., 1.])
    >>> view_direction((0, 0), up="y").round(6)
    array([0., 0., 1.])
    >>> view_direction((90, 0), up="-y").round(6) + 0.0
    array([ 0., -1.,  0.])
    """
    return _camera(view, up)[2]


def visible_mask(normals, view=DEFAULT_VIEW, *, up="z"):
    """Points whose (oriented) normal faces the camera: ``n · d >= 0``.

    The pictures no longer cull by the normals (they draw the front layer by depth),
    but this test is kept for callers that have consistently oriented normals.

    Parameters
    ----------
    normals : array_like of shape (n, 3)
        Consistently oriented normals (outward for a closed surface); they need not
        be unit length.
    view, up
        See :func:`view_direction`.

    Returns
    -------
    mask : ndarray of bool, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.plot import visible_mask
    >>> visible_mask(np.array([[0, 0, 1.0], [0, 0, -1.0]]), view=(90, 0))
    array([ True, False])
    """
    nrm = check_points(normals, name="normals", dims=(3,))
    return nrm @ view_direction(view, up=up) >= 0.0


# ----------------------------------------------------------------------------- view choice
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


def _oriented(pts, nrm, given):
    """Unit normals and whether their sign is trusted (a single-view scan whose given
    normals face its scanner). Otherwise each normal is turned away from the centroid."""
    nrm = nrm / np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-300)
    if given and np.linalg.norm(nrm.mean(axis=0)) > _OPEN:
        return nrm, True
    s = np.sign(np.einsum("ij,ij->i", pts - pts.mean(axis=0), nrm))
    s[s == 0] = 1.0
    return nrm * s[:, None], False


def _skew(h):
    """Third standardised moment (0 for fewer than 3 distinct values)."""
    d = h - h.mean()
    sd = float(np.sqrt(np.mean(d * d)))
    return float(np.mean(d ** 3)) / sd ** 3 if sd > 0 else 0.0


def _up_scores(pts, nrm, open_):
    """Base score of each signed axis ``u``: hull area of the lowest 3 % of the points
    along ``u`` over the hull area of the footprint (the shape projected along ``u``),
    times ``0.5 + 0.5 * flatness`` (mean ``|n . u|`` of those points: a floor or a
    plinth counts fully, the rim of an open top half). On an open surface (a scan) a
    flat base whose normals face down (``n . u < -0.5``, seen from below) scores 0."""
    scores = {}
    for a, name in enumerate(_AXES):
        others = [i for i in range(3) if i != a]
        q = pts[:, others]
        foot = _hull_area(q)
        h = pts[:, a]
        span = float(np.ptp(h))
        for sign in (1.0, -1.0):
            hs = sign * h
            base = hs <= hs.min() + _SLAB * span
            key = name if sign > 0 else "-" + name
            ratio = _hull_area(q[base]) / foot if foot > 0 else 0.0
            flat = float(np.mean(np.abs(nrm[base, a]))) if base.any() else 0.0
            facing = sign * float(np.mean(nrm[base, a])) if base.any() else 0.0
            seen_from_below = open_ and flat > 0.7 and facing < -0.5
            scores[key] = 0.0 if seen_from_below else ratio * (0.5 + 0.5 * flat)
    return scores


def _unit(key):
    """The unit vector of a signed axis name ('x', '-y' ...)."""
    return (-1.0 if key[0] == "-" else 1.0) * np.eye(3)[_AXES.index(key[-1])]


def _choose_up(pts, nrm, trusted):
    """The rule of :func:`auto_up` on subsampled points with oriented unit normals."""
    sd, axes = np.linalg.eigh(np.cov(pts.T))
    a = int(np.argmax(np.abs(axes[:, 0])))
    if np.sqrt(max(sd[0], 0.0)) < 0.2 * np.sqrt(max(sd[1], 0.0)) and abs(axes[a, 0]) > 0.9:
        # a sheet (a height field, a planar patch): its normal is up, on the scanner's
        # side, else on the side of the long tail of heights (peaks), else "+"
        m, sk = float(nrm[:, a].mean()), _skew(pts[:, a])
        sign = np.sign(m) if trusted and abs(m) > _OPEN else (np.sign(sk) if abs(sk) > 0.75
                                                               else 1.0)
        return ("-" if sign < 0 else "") + _AXES[a]
    scores = _up_scores(pts, nrm, np.linalg.norm(nrm.mean(axis=0)) > _OPEN)
    allowed = list(scores)
    best = max(scores.values())
    tied = [k for k in allowed if scores[k] >= 0.5 * best] if best >= 0.15 else allowed
    m = nrm.mean(axis=0)
    if len(tied) > 1 and np.linalg.norm(m) > _OPEN:    # a scan: its scanner not below
        above = [k for k in tied if _unit(k) @ m > -0.05 * np.linalg.norm(m)]
        tied = above or tied
    ext = {a: float(np.ptp(pts[:, _AXES.index(a)])) for a in _AXES}
    low = min(ext[k[-1]] for k in tied)
    tied = [k for k in tied if ext[k[-1]] <= 1.05 * low]     # lies on its largest side
    if len(tied) > 1:
        # both signs of one axis (or a symmetric shape): the bulk low, the tail up
        # (hills on a plain, a figure on its plinth)
        sk = {k: (-1.0 if k[0] == "-" else 1.0) * _skew(pts[:, _AXES.index(k[-1])])
              for k in tied}
        top = max(sk.values())
        if top > 0.1:
            tied = [k for k in tied if sk[k] >= top - 0.05]
    for k in ("z", "y", "x", "-z", "-y", "-x"):   # no preference left (a sphere, a box):
        if k in tied:                              # any is upright; the usual z first
            return k
    return tied[0]  # pragma: no cover


def auto_up(points, normals=None):
    """The signed coordinate axis to draw vertically, chosen from the shape.

    The rule (the same for any of the 24 axis-aligned orientations of a shape, so that
    turning the data never changes the picture):

    1. **Base.** The object is put down the way it would rest: for each of the six
       signed axes ``u`` the lowest 3 % of the points along ``u`` form the base; its
       score is the convex hull area of the base over the hull area of the footprint
       (the shape projected along ``u``), weighted by how flat the base is
       (``0.5 + 0.5 * mean |n . u|``). A plinth, a floor, a terrain's plain, a cow's
       hooves score high; the open rim of a box or a room scores half.
    2. **Scanner.** A single-view scan (an open surface whose normals, given facing the
       scanner, or estimated and turned outwards, have a mean longer than 0.3) was
       not seen from below: a flat base (flatness above 0.7) whose normals point
       down (mean ``n . u < -0.5``) scores 0. This keeps the seen top face of a box
       from being taken for its base, while a room's floor, seen from above, is one.
    3. **Ties** (scores at least half the best): for a scan, the axes its scanner
       (the mean normal) is not below; then the axis along which the shape is
       lowest (it lies on its largest side, as a box on a table or a room's floor),
       then the sign that puts the bulk of the points low and the tail up (positive
       skewness: hills on a plain, a figure on a plinth); a shape with no preference
       left (a sphere, a box: any axis stands it up) gets ``z``, then ``y``, ``x``.

    A thin sheet (smallest principal spread under a fifth of the middle one, its normal
    within 25° of an axis: a height field, a planar patch) has that axis up, on the
    side its normals face when they are given facing a scanner, else on the side of
    the long tail of its heights (skewness beyond 0.75: peaks up), else ``+``.

    Give normals facing the scanner for single-view scans of concave scenes (a room
    seen from inside); without them a scan is taken as seen from its convex side.

    Parameters
    ----------
    points : array_like of shape (n, 3)
    normals : array_like of shape (n, 3), optional
        Oriented normals (outward, or towards the scanner); any sign is accepted,
        estimated from neighbours when omitted.

    Returns
    -------
    up : {"x", "y", "z", "-x", "-y", "-z"}

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.plot import auto_up
    >>> p = np.random.default_rng(0).normal(size=(4000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> p[:, 1] = np.abs(p[:, 1])                  # a dome over the plane y = 0 ...
    >>> dome = np.vstack([p, p[:1000] * [1, 0, 1]])  # ... on a flat base
    >>> auto_up(dome), auto_up(-dome)
    ('y', '-y')
    """
    pts, nrm, trusted = _prepared(points, normals)
    if len(pts) < 10:
        return "z"
    return _choose_up(pts, nrm, trusted)


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


def _side(v, t):
    """``v`` or ``-v``: the sign that puts the longer tail of ``t`` (the coordinates along
    ``v``) towards the camera. A mirror-symmetric shape (no tail) is decided by its
    first point off the middle, in the input's order: the same point whichever way
    the shape is turned."""
    sk = _skew(t)
    if abs(sk) <= 1e-6:
        scale = float(np.max(np.abs(t))) if len(t) else 0.0
        off = np.flatnonzero(np.abs(t) > 1e-6 * scale)
        sk = float(t[off[0]]) if len(off) else 1.0
    return -v if sk < 0 else v


def _view_from_shape(pts, nrm, up):
    """(elev, azim) for ``up`` (see :func:`auto_view`); pts/nrm already oriented."""
    R = _rotation(up)
    P = pts @ R.T                                           # plotting coordinates
    nP = nrm @ R.T
    c = P.mean(axis=0)
    m = nP.mean(axis=0)
    H = P[:, :2] - c[:2]
    w, V = np.linalg.eigh(H.T @ H)
    length, width = V[:, 1], V[:, 0]
    t = H @ length
    q1, q3 = np.percentile(t, [25, 75])                     # the two ends: outer quarters
    top = [np.percentile(P[sel, 2], 98) if sel.any() else -np.inf for sel in (t > q3, t < q1)]
    if abs(top[0] - top[1]) > 1e-3 * max(float(np.ptp(P[:, 2])), 1e-300):
        towards_top = length if top[0] > top[1] else -length   # ears, head: the taller end
    else:
        towards_top = _side(length, t)
    width = _side(width, H @ width)
    open_surface = np.linalg.norm(m) > _OPEN
    mh = np.linalg.norm(m[:2])
    if open_surface and mh > 0.4 * abs(m[2]):               # a scan: look at its front
        cam = m[:2] / mh
        elev = float(np.clip(np.degrees(math.atan2(m[2], mh)), 10.0, 45.0))
    else:
        a = math.radians(35.0)
        cam = math.cos(a) * width + math.sin(a) * towards_top
        flat = float(np.mean(np.abs(nP[:, 2]) > 0.7))    # share of horizontal surface
        elev = AUTO_ELEVATION + (45.0 - AUTO_ELEVATION) * float(np.clip((flat - 0.5) / 0.3,
                                                                          0.0, 1.0))
    azim = float(np.degrees(math.atan2(cam[1], cam[0])))
    return round(elev, 1), round(azim, 1)


def auto_view(points, normals=None, *, up="auto"):
    """Up axis and camera ``(elev, azim)`` chosen from the shape.

    ``up="auto"`` uses :func:`auto_up`. A single-view scan (an open surface whose mean
    normal, see :func:`auto_up`, is longer than 0.3 and not nearly vertical) is seen
    from its scanner's side: the horizontal direction of the mean normal, from its
    elevation clipped to 10°–45°. Any other shape is seen on its broad side (across
    its smallest horizontal extent), turned by 35° towards the taller end (the end
    quarter along the length whose top is higher: the head rather than the tail),
    from 20° above the horizon, or up to 45° for a mostly horizontal surface (a
    terrain, a floor). Which broad side: the one its longer
    protrusions point to (the sign of the third moment; for a mirror-symmetric shape
    the side of its first point off the middle), so that the same shape in any
    axis-aligned orientation is seen from the same side.

    Parameters
    ----------
    points : array_like of shape (n, 3)
    normals : array_like of shape (n, 3), optional
        Any sign; estimated from neighbours when omitted. Normals of a single-view
        scan that face the scanner tell the scanner's side (see :func:`auto_up`).
    up : {"auto", "x", "y", "z", "-x", "-y", "-z"}, default "auto"

    Returns
    -------
    up : str
    view : (float, float)
        ``(elev, azim)`` in degrees for :func:`view_direction` and the renderers.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.plot import auto_view
    >>> p = np.random.default_rng(1).normal(size=(3000, 3)) * [1.0, 3.0, 1.0]
    >>> up, (elev, azim) = auto_view(p / np.linalg.norm(p, axis=1, keepdims=True))
    >>> up, elev
    ('z', 20.0)
    """
    up = _check_up(up, allow_auto=True)
    pts, nrm, trusted = _prepared(points, normals)
    if up == "auto":
        up = _choose_up(pts, nrm, trusted) if len(pts) >= 10 else "z"
    return up, _view_from_shape(pts, nrm, up)
