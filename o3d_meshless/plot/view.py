"""The camera: which axis is drawn up and where the camera looks from, chosen from the
shape (:func:`auto_up`, :func:`auto_view`) or given."""
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


def _support_scores(pts, slab=0.02):
    """For each signed axis u: hull area of the lowest ``slab`` of the extent along u,
    over the hull area of the whole footprint (the shape projected along u)."""
    scores = {}
    for a, name in enumerate(_AXES):
        others = [i for i in range(3) if i != a]
        q = pts[:, others]
        foot = _hull_area(q)
        h = pts[:, a]
        span = float(np.ptp(h))
        for sign in (1.0, -1.0):
            hs = sign * h
            base = hs <= hs.min() + slab * span
            key = name if sign > 0 else "-" + name
            scores[key] = _hull_area(q[base]) / foot if foot > 0 else 0.0
    return scores


def auto_up(points):
    """The signed coordinate axis to draw vertically, chosen from the shape.

    The object is put down the way it would rest on a table: for each of the six
    signed axes ``u`` the lowest 2 % of the points along ``u`` form the base, and the
    axis whose base covers the largest part of the footprint (convex hull areas of the
    projections along ``u``) wins, if clearly (at least 0.15 of the footprint and
    twice the best of the other two axes). A tie between the two signs of one axis
    goes to ``+``. Shapes without a base (sphere, ellipsoid) get ``"z"``; a thin sheet
    (smallest principal spread under a fifth of the middle one, e.g. a height field)
    gets the axis closest to its normal.

    Parameters
    ----------
    points : array_like of shape (n, 3)

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
    pts = check_points(points, name="points", dims=(3,))
    pts = pts[_subsample(len(pts), 4 * _SAMPLE)]
    if len(pts) < 10:
        return "z"
    sd, axes = np.linalg.eigh(np.cov(pts.T))
    if np.sqrt(max(sd[0], 0.0)) < 0.2 * np.sqrt(max(sd[1], 0.0)):
        # a sheet (a height field, a planar patch): its normal is up
        return _AXES[int(np.argmax(np.abs(axes[:, 0])))]
    scores = _support_scores(pts)
    best = {a: max(scores[a], scores["-" + a]) for a in _AXES}
    winner = max(_AXES, key=lambda a: (best[a], a == "z", a == "y"))
    rest = max(best[a] for a in _AXES if a != winner)
    if best[winner] < 0.15 or best[winner] < 2.0 * rest:
        return "z"
    return winner if scores[winner] >= 0.8 * scores["-" + winner] else "-" + winner


def _pca_normals(pts, idx, tree, k=10):
    """Unit normals (arbitrary sign) of the points ``idx`` from their k neighbours."""
    k = int(min(k, len(pts)))
    if k < 3:
        return np.tile([0.0, 0.0, 1.0], (len(idx), 1))
    _, nb = tree.query(pts[idx], k=k)
    q = pts[nb] - pts[nb].mean(axis=1, keepdims=True)
    _, vecs = np.linalg.eigh(np.einsum("mki,mkj->mij", q, q))
    return vecs[:, :, 0]


def _view_from_shape(pts, nrm, up):
    """(elev, azim) for ``up`` (see :func:`auto_view`); pts/nrm already subsampled."""
    P = pts @ _rotation(up).T                               # plotting coordinates
    c = P.mean(axis=0)
    nP = nrm @ _rotation(up).T
    nP /= np.maximum(np.linalg.norm(nP, axis=1, keepdims=True), 1e-300)
    s = np.sign(np.einsum("ij,ij->i", P - c, nP))
    s[s == 0] = 1.0
    m = (s[:, None] * nP).mean(axis=0)                      # ~0 for a closed surface
    H = P[:, :2] - c[:2]
    w, V = np.linalg.eigh(H.T @ H)
    length, width = V[:, 1], V[:, 0]
    t = H @ length
    top = [np.percentile(P[sel, 2], 98) if sel.any() else -np.inf for sel in (t > 0, t < 0)]
    towards_top = length if top[0] >= top[1] else -length  # ears, head: the taller end
    if width @ np.array([0.5, -math.sqrt(0.75)]) < 0:      # like matplotlib's default side
        width = -width
    open_surface = np.linalg.norm(m) > 0.3
    mh = np.linalg.norm(m[:2])
    if open_surface and mh > 0.5 * abs(m[2]):               # a scan: look at its front
        cam = m[:2] / mh
        elev = float(np.clip(np.degrees(math.atan2(m[2], mh)), 10.0, 60.0))
    else:
        a = math.radians(35.0)
        cam = math.cos(a) * width + math.sin(a) * towards_top
        flat = float(np.mean(np.abs(nP[:, 2]) > 0.7))    # share of horizontal surface
        elev = AUTO_ELEVATION + (60.0 - AUTO_ELEVATION) * float(np.clip((flat - 0.5) / 0.3,
                                                                          0.0, 1.0))
    azim = float(np.degrees(math.atan2(cam[1], cam[0])))
    return round(elev, 1), round(azim, 1)


def auto_view(points, normals=None, *, up="auto"):
    """Up axis and camera ``(elev, azim)`` chosen from the shape.

    ``up="auto"`` uses :func:`auto_up`. The camera then looks at the broad side of
    the shape (across its smallest horizontal extent), turned by 35° towards the
    taller end (head and ears rather than tail), from 20° above the horizon. An
    open surface such as a single range scan is seen from the side it faces (the
    mean normal, signs taken away from the centroid), and a mostly horizontal
    surface such as a height field from up to 60° above.

    Parameters
    ----------
    points : array_like of shape (n, 3)
    normals : array_like of shape (n, 3), optional
        Any sign; estimated from neighbours when omitted.
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
    from scipy.spatial import cKDTree

    pts = check_points(points, name="points", dims=(3,))
    up = _check_up(up, allow_auto=True)
    if up == "auto":
        up = auto_up(pts)
    sub = _subsample(len(pts), _SAMPLE)
    if normals is not None:
        nrm = check_points(normals, name="normals", dims=(3,))
        if nrm.shape[0] != pts.shape[0]:
            raise ValueError(f"`normals` must have one row per point (n = {len(pts)}); "
                             f"got {nrm.shape}")
        nrm = nrm[sub]
    else:
        nrm = _pca_normals(pts, sub, cKDTree(pts))
    return up, _view_from_shape(pts[sub], nrm, up)
