"""The camera: which axis is drawn up and where the camera looks from, chosen from the
shape (:func:`auto_up`, :func:`auto_view`) or given (an explicit ``up`` / ``view``,
the CLI's ``--up`` / ``--view``, is always used as it is).

How "up" is decided (one of the six signed coordinate axes, or for a shape stored
tilted the normal of its base plane; details in :func:`auto_up`):

- a **base**: the object rests the way it would on a table. The lowest 3 % of the
  points along each candidate up are its base; the base that covers most of the
  footprint (convex hulls), and is flat, wins: a statue's plinth, a terrain's plain,
  a room's floor; three or more thin **legs** count as flat (a chair, a cow). The
  candidates are the six signed axes, and for a tilted shape the principal axes and
  the largest planes of its convex hull (used when one is flat and clearly better);
- the **scanner**: a single-view scan (an open surface; its normals facing the
  scanner, or turned outwards) was not seen from below, so a flat face whose normals
  point down is not a base: the seen top of a box is its top. Nor is a scan's far
  side (a tilted up towards the scanner), unless it is flat and under most of the
  footprint (a room's floor): seen from behind, a far rim and loose fragments look
  like feet (the raw bunny scans). A scan holding two opposite faces (a floor and a
  ceiling, facing walls) was taken from inside;
- **ties** (bases scoring at least half the best): for a scan, the directions its
  scanner is not below; then a base on legs; then the direction the shape is lowest
  along (it lies on its largest side), then the bulk low and the tail up (positive
  skewness), then, for a shape with no preference left (a sphere, a box), the usual
  ``z``, ``y``, ``x``;
- a thin **sheet** (a height field) has its normal up.

An explicit ``up`` may be any nonzero 3-vector (``(0, 1, 0.3)``, ``--up 0,1,0.3``); it
is normalised, and one along an axis is that axis' name.

The camera then looks at a scan from its scanner's side, and at anything else across
its broad side, turned towards its taller end. Every rule uses the shape only, never
the coordinate names, so the same shape in any of the 24 axis-aligned orientations
is drawn upright and from the same side (``tests/test_view_choice.py``); only
shapes with no preference at all (which look the same whichever way they stand) fall
back to the coordinate names. A statue, a chair and a room scan under random
rotations come out within 0.1° of their own up (``tests/test_view_tilted.py``).

Known limits: a tilted shape is found only if its base is in the data and flat (or
on legs): a single-view scan whose base was not seen (the front of a statue, three
faces of a box), stored tilted, gets the best of the six axes, not its own up; a
sheet within 8° of an axis gets the axis; a room with a ceiling (all around the
scanner) and no normals has its floor down only through the tie rules (the furniture
on the floor puts the bulk low), and is drawn from outside its walls; a room seen
from inside with only a floor and walls that do not face each other (a corner) looks
like a box seen from outside and needs normals facing the scanner; which broad side
of a nearly mirror-symmetric shape is seen may change with the sample.
"""
from __future__ import annotations

import math

import numpy as np

from .._validation import check_points
from .upright import _AXES, _OPEN, _UP_CHOICES, _choose_up, _prepared, _skew

__all__ = ["auto_up", "auto_view", "view_direction", "visible_mask", "DEFAULT_VIEW"]

DEFAULT_VIEW = (15.0, -60.0)
AUTO_ELEVATION = 20.0
# cyclic (rotation, not mirror) permutations taking the data's up axis to matplotlib's z
_PERM = {"z": (0, 1, 2), "y": (2, 0, 1), "x": (1, 2, 0)}
_UP_HELP = ("one of 'x', 'y', 'z', '-x', '-y', '-z' or a nonzero 3-vector such as "
            "(0, 1, 0.3)")


def _check_up(up, *, allow_auto=False):
    """Canonical up: a signed axis name 'x' ... '-z', a unit vector (a tuple of three
    floats) for any other direction, or 'auto'. A vector along an axis, or a string
    "0,1,0", gives the axis name."""
    if allow_auto and (up is None or (isinstance(up, str) and up.strip().lower() == "auto")):
        return "auto"
    extra = ", 'auto' or None" if allow_auto else " (for 'auto' call auto_up(points))"
    vec = None
    if isinstance(up, str):
        key = up.strip().lower()
        key = key[1:] if key.startswith("+") else key
        if key in _UP_CHOICES:
            return key
        if "," in key:
            try:
                vec = [float(t) for t in key.split(",")]
            except ValueError:
                vec = None
    elif not isinstance(up, bytes):
        try:
            vec = [float(t) for t in np.asarray(up, dtype=float).reshape(-1)]
        except (TypeError, ValueError):
            vec = None
    if vec is None or len(vec) != 3:
        raise ValueError(f"`up` must be {_UP_HELP}{extra}; got {up!r}")
    v = np.asarray(vec)
    norm = float(np.linalg.norm(v)) if np.isfinite(v).all() else 0.0
    if not norm > 0.0 or not math.isfinite(norm):
        raise ValueError(f"`up` must be a nonzero, finite 3-vector (the direction drawn "
                         f"upwards, e.g. (0, 1, 0.3)); got {up!r}")
    v = v / norm
    a = int(np.argmax(np.abs(v)))
    if abs(v[a]) == 1.0:
        return ("-" if v[a] < 0 else "") + _AXES[a]
    return tuple(float(c) for c in v)


def _check_view(view):
    try:
        elev, azim = (float(v) for v in view)
    except (TypeError, ValueError):
        raise ValueError(f"`view` must be a pair (elev, azim) in degrees; got {view!r}") from None
    if not (math.isfinite(elev) and math.isfinite(azim)):
        raise ValueError(f"`view` must be finite; got {view!r}")
    return elev, azim


def _rotation(up):
    """Rotation R (rows: plotting x, y, z in data coordinates) putting ``up`` vertical.

    For an axis, a permutation (and a half turn); for any other direction, that of the
    nearest axis followed by the smallest turn taking it onto ``up``."""
    up = _check_up(up)
    if not isinstance(up, str):
        v = np.asarray(up)
        a = int(np.argmax(np.abs(v)))
        R0 = _rotation(("-" if v[a] < 0 else "") + _AXES[a])
        w = R0 @ v                                 # up in the axis' plotting frame
        k = np.cross(w, [0.0, 0.0, 1.0])           # turn w onto plotting z (|w . z| > 0.57)
        c, s = float(w[2]), float(np.linalg.norm(k))
        K = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
        Q = np.eye(3) + K + K @ K * ((1.0 - c) / s ** 2 if s > 0 else 0.0)
        return Q @ R0
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
    up : {"x", "y", "z", "-x", "-y", "-z"} or 3-vector, default "z"
        Data axis (or any direction) drawn vertically, pointing up (the Stanford bunny
        and many scans use ``"y"``). Use :func:`auto_up` to choose it from the points.

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
def auto_up(points, normals=None):
    """The direction to draw vertically, chosen from the shape: a signed coordinate
    axis, or the normal of its base plane when the shape is stored tilted.

    The rule (the same for any rotation of a shape, so that turning the data never
    changes the picture; ``tests/test_view_choice.py``, ``tests/test_view_tilted.py``):

    1. **Base.** The object is put down the way it would rest: for each candidate up
       ``u`` the lowest 3 % of the points along ``u`` form the base; its score is the
       convex hull area of the base over the hull area of the footprint (the shape
       projected along ``u``), weighted by how flat the base is
       (``0.5 + 0.5 * mean |n . u|``; a base on **legs**, three or more separate
       small feet each at the end of a column that stays as narrow up to a fifth of
       the height, counts as flat). A plinth, a floor, a terrain's plain, a chair's or
       a cow's legs score high; the open rim of a box or a room scores half.
       Candidates are the six signed axes; a base off the axes (both signs of the
       principal axes, the largest planes of the convex hull) is used instead when
       it is flat (above 0.85) or on legs and scores 1.2 times the best axis: the
       shape is stored tilted.
    2. **Scanner.** A single-view scan (an open surface whose normals, given facing the
       scanner, or estimated and turned outwards, have a mean longer than 0.3) was
       not seen from below: a flat base (flatness above 0.7) whose normals point
       down (mean ``n . u < -0.5``) scores 0. This keeps the seen top face of a box
       from being taken for its base, while a room's floor, seen from above, is one.
       Estimated normals are turned towards the inside instead when the scan holds
       two opposite faces (a floor and a ceiling, two facing walls), which a scanner
       outside never sees; given normals that are consistently oriented are kept.
    3. **Ties** (scores at least half the best; 0.85 of it off the axes): for a scan,
       the directions its scanner (the mean normal) is not below; then a base on legs;
       then the direction along which the shape is lowest (it lies on its largest
       side, as a box on a table or a room's floor), then the sign that puts the bulk
       of the points low and the tail up (positive skewness: hills on a plain, a figure
       on a plinth); a shape with no preference left (a sphere, a box: any axis stands
       it up) gets ``z``, then ``y``, ``x``. A chosen principal axis off the axes is
       replaced by the hull plane within 10° of it (the base plane itself).

    A thin sheet (smallest principal spread under a fifth of the middle one: a height
    field, a planar patch) has its normal up (the axis when within 8° of one), on the
    side its normals face when they are given facing a scanner, else on the side of
    the long tail of its heights (skewness beyond 0.75: peaks up), else ``+``.

    Parameters
    ----------
    points : array_like of shape (n, 3)
    normals : array_like of shape (n, 3), optional
        Oriented normals (outward, or towards the scanner); any sign is accepted,
        estimated from neighbours when omitted.

    Returns
    -------
    up : {"x", "y", "z", "-x", "-y", "-z"} or tuple of 3 floats
        A signed axis name, or a unit vector (a shape stored tilted); either is
        accepted as ``up`` by the renderers and :func:`auto_view`.

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
    up : {"auto", "x", "y", "z", "-x", "-y", "-z"} or 3-vector, default "auto"

    Returns
    -------
    up : str or tuple of 3 floats
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
