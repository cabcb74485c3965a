"""Headless pictures of per-point fields: a grid of shaded splat panels saved as PNG.

matplotlib is imported only when a picture is made, and only its object API is used
(``matplotlib.figure.Figure`` + the Agg canvas), so importing or calling this module
neither switches the user's pyplot backend nor opens windows; it works without a
display. Open3D is not needed.

**Drawing.** Each point is drawn as an opaque disc (a *splat*) facing the camera, in
an orthographic view, sorted back to front, so the nearest surface covers everything
behind it (painter's algorithm, the same result as a depth buffer of camera-facing
discs). A splat is the point's tangent disc (its size and shape from the spread of
its neighbours) seen in projection, over a layer of larger splats that closes the
gaps of random sampling, so the surface looks closed. Points hidden behind the front
layer are dropped by depth before drawing. Nothing is culled by the normals, so
normals of either sign are fine; they only shade the colours with the two-sided
Lambert factor ``0.5 + 0.5 |n · l|`` (light ``l`` near the camera). Without normals
they are estimated from 10 neighbours.

**Upright view.** With ``up="auto"`` (the default) the axis drawn vertically is
chosen from the shape (:func:`auto_up`): the signed coordinate axis along which the
object *stands* on the widest support, as it would rest on a table (a bunny on its
base, a cow on its hooves, a torus on its side). Shapes with no such base (a sphere
or an ellipsoid) keep ``+z``. The camera looks at the broad side, turned a little
towards the taller end; an open scan is seen from the side its surface faces
(:func:`auto_view`). ``up`` / ``view`` given explicitly are used as they are.

**Colours.** Limits are robust: a field with both signs gets symmetric limits
``-m .. m`` (``m`` = 99th percentile of ``|f|``) and the diverging colormap
``"RdBu_r"``, so zero is white; otherwise the 1st .. 99th percentiles and
``"viridis"``. The exact extremes are kept when the clipped tail is short (within a
quarter of the range), so smooth fields are not clipped; when values are clipped the
colourbar gets extension arrows. Colourbar ticks show an offset or a power of ten
when needed, so a nearly constant field still gets distinct labels.

**Vectors.** ``vectors=`` draws (n, 3) tangent vector fields (e.g. a surface
gradient) as arrows on a spatially even subsample of the visible points, lifted off
the surface along the normal (:func:`render_vectors` for one panel coloured by the
length).
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ._validation import check_points

__all__ = [
    "render_fields",
    "render_spectrum",
    "render_vectors",
    "auto_up",
    "auto_view",
    "visible_mask",
    "view_direction",
    "color_limits",
    "colorize",
]

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


# ----------------------------------------------------------------------------- colours
def color_limits(values, *, percentile=99.0):
    """Robust colour limits of a field and whether they are symmetric about zero.

    A field with both signs (between its ``100 - percentile`` and ``percentile``
    percentiles) gets ``(-m, m, True)`` with ``m`` the ``percentile``-th percentile
    of ``|values|``; any other field gets ``(lo, hi, False)`` from its
    ``100 - percentile`` and ``percentile`` percentiles. An exact extreme replaces
    the percentile when the tail beyond it is short (at most a quarter of the
    range), so nothing is clipped for a smooth field while one outlier no longer
    sets the scale. ``percentile=100`` gives the exact extremes. A constant field
    gets a small non-empty range.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.plot import color_limits
    >>> color_limits([-1.0, 3.0])
    (-3.0, 3.0, True)
    >>> color_limits([1.0, 3.0])
    (1.0, 3.0, False)
    >>> v = np.r_[np.linspace(0.0, 1.0, 999), 2927.0]     # one outlier
    >>> lo, hi, sym = color_limits(v)
    >>> lo, round(hi, 2), sym
    (0.0, 0.99, False)
    """
    v = np.real(np.asarray(values)).astype(np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -1.0, 1.0, False
    p = float(percentile)
    if not 50.0 < p <= 100.0:
        raise ValueError(f"`percentile` must be in (50, 100]; got {percentile!r}")
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        pad = max(abs(lo) * 1e-6, 1e-12)
        return lo - pad, hi + pad, False
    q_lo, q_hi = (float(x) for x in np.percentile(v, [100.0 - p, p]))
    tail = 0.25
    if q_lo < 0.0 < q_hi:
        a = np.abs(v)
        m, q = float(a.max()), float(np.percentile(a, p))
        if m > (1.0 + tail) * q:
            m = q
        return -m, m, True
    span = q_hi - q_lo
    if span <= 0.0:
        return lo, hi, False
    if hi - q_hi > tail * span:
        hi = q_hi
    if q_lo - lo > tail * span:
        lo = q_lo
    return lo, hi, False


def _default_cmap(symmetric):
    return "RdBu_r" if symmetric else "viridis"


def _extend(values, lo, hi):
    """Colourbar extension: 'neither', 'min', 'max' or 'both'."""
    eps = 1e-12 * max(abs(lo), abs(hi), 1e-300)
    below = bool(np.min(values) < lo - eps)
    above = bool(np.max(values) > hi + eps)
    return {(False, False): "neither", (True, False): "min",
            (False, True): "max", (True, True): "both"}[(below, above)]


def colorize(values, *, cmap=None, percentile=99.0):
    """RGB colours in [0, 1] for a scalar field, with the limits of :func:`color_limits`.

    Values beyond the (robust) limits get the end colours of the colormap, as in the
    pictures.

    Parameters
    ----------
    values : array_like of shape (n,)
    cmap : str, optional
        matplotlib colormap name; default ``"RdBu_r"`` for a field with both signs,
        ``"viridis"`` otherwise.
    percentile : float, default 99
        See :func:`color_limits`.

    Returns
    -------
    rgb : ndarray of shape (n, 3), float64
    """
    import matplotlib

    v = np.real(np.asarray(values)).astype(np.float64).ravel()
    lo, hi, sym = color_limits(v, percentile=percentile)
    cm = matplotlib.colormaps[cmap or _default_cmap(sym)]
    return np.asarray(cm(np.clip((v - lo) / (hi - lo), 0.0, 1.0))[:, :3], dtype=np.float64)


def _colorbar_ticks(cb, lo, hi, values):
    """Ticks that stay distinct: offset / power-of-ten labels; one tick if constant."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, ScalarFormatter

    vmin, vmax = float(np.min(values)), float(np.max(values))
    if vmax <= vmin:                                          # constant: say so, once
        label = f"{vmin:.6g}"
        cb.locator = FixedLocator([vmin])
        cb.formatter = FuncFormatter(lambda x, pos=None: label)
    else:
        fmt = ScalarFormatter(useOffset=True, useMathText=True)
        fmt.set_powerlimits((-3, 4))
        cb.locator = MaxNLocator(5)
        cb.formatter = fmt
    cb.ax.tick_params(labelsize=7)
    cb.ax.yaxis.get_offset_text().set_fontsize(7)
    cb.update_ticks()


# ----------------------------------------------------------------------------- fields
def _as_fields(fields, titles, n):
    """Normalise ``fields`` to a list of (title, float64 (n,) array)."""
    if isinstance(fields, Mapping):
        names = [str(k) for k in fields]
        arrays = list(fields.values())
    elif isinstance(fields, np.ndarray) and fields.ndim == 1:
        arrays = [fields]
    elif isinstance(fields, np.ndarray) and fields.ndim == 2 and fields.shape[0] == n:
        arrays = [fields[:, j] for j in range(fields.shape[1])]
    elif isinstance(fields, (list, tuple)):
        scalars = len(fields) > 0 and all(np.ndim(f) == 0 for f in fields)
        arrays = [np.asarray(fields)] if scalars else list(fields)
    else:
        shape = getattr(fields, "shape", None)
        raise ValueError("`fields` must be a dict name -> (n,) array, a list of (n,) arrays "
                         f"or an (n, m) array with n = {n}; got {type(fields).__name__}"
                         + (f" of shape {shape}" if shape is not None else ""))
    if not isinstance(fields, Mapping):
        names = [f"field {j}" for j in range(len(arrays))]
    if not arrays:
        raise ValueError("`fields` must hold at least one field; got none")
    if titles is not None:
        titles = [str(t) for t in titles]
        if len(titles) != len(arrays):
            raise ValueError(f"`titles` must have one entry per field ({len(arrays)}); "
                             f"got {len(titles)}")
        names = titles
    out = []
    for name, arr in zip(names, arrays):
        a = np.asarray(arr)
        if np.iscomplexobj(a):
            a = a.real
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1 or a.shape[0] != n:
            raise ValueError(f"field {name!r} must have shape (n,) with n = {n} (one value "
                             f"per point); got {a.shape}")
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
                or a.dtype == bool):
            raise ValueError(f"field {name!r} must be numeric; got dtype {a.dtype}")
        a = a.astype(np.float64)
        if not np.isfinite(a).all():
            raise ValueError(f"field {name!r} must be finite; got NaN or inf")
        out.append((name, a))
    return out


def _as_vectors(vectors, names, n):
    """``vectors`` -> list (one entry per panel) of (n, 3) arrays or None."""
    if vectors is None:
        return [None] * len(names)

    def check(v, label):
        a = np.asarray(v)
        if np.iscomplexobj(a):
            a = a.real
        if a.ndim != 2 or a.shape != (n, 3):
            raise ValueError(f"{label} must have shape (n, 3) with n = {n}; got {a.shape}")
        a = a.astype(np.float64)
        if not np.isfinite(a).all():
            raise ValueError(f"{label} must be finite; got NaN or inf")
        return a

    if isinstance(vectors, Mapping):
        unknown = [str(k) for k in vectors if str(k) not in names]
        if unknown:
            raise ValueError(f"`vectors` keys must be panel titles {names}; got {unknown}")
        given = {str(k): check(v, f"`vectors[{k!r}]`") for k, v in vectors.items()}
        return [given.get(name) for name in names]
    a = check(vectors, "`vectors`")
    return [a] * len(names)


# ----------------------------------------------------------------------------- drawing
def _front_layer(x, y, z, cell, tol):
    """Points within ``tol`` of the nearest depth ``z`` (larger = nearer) in their
    screen cell of size ``cell``: the front layer, where nothing is in front."""
    cell = max(cell, max(float(np.ptp(x)), float(np.ptp(y)), 1e-300) / 1e6)
    ix = np.floor((x - x.min()) / cell).astype(np.int64)
    iy = np.floor((y - y.min()) / cell).astype(np.int64)
    key = ix * (int(iy.max()) + 1) + iy
    _, inv = np.unique(key, return_inverse=True)
    zmax = np.full(inv.max() + 1, -np.inf)
    np.maximum.at(zmax, inv, z)
    return z >= zmax[inv] - tol, inv


def _behind_front(x, y, z, facing, cell, slack):
    """Points more than a slope-dependent depth below the nearest point within one
    screen cell around them (cells of size ``cell``; ``facing`` = |cos| of the angle
    between normal and view)."""
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-300)
    cell = max(cell, span / 1e6)                                # keep cell indices small
    ix = np.floor((x - x.min()) / cell).astype(np.int64) + 1
    iy = np.floor((y - y.min()) / cell).astype(np.int64) + 1
    width = int(iy.max()) + 2
    key = ix * width + iy
    cells, inv = np.unique(key, return_inverse=True)
    zmax = np.full(len(cells), -np.inf)
    np.maximum.at(zmax, inv, z)
    front = zmax[inv]
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx == 0 and dy == 0:
                continue
            nkey = key + dx * width + dy
            pos = np.minimum(np.searchsorted(cells, nkey), len(cells) - 1)
            found = cells[pos] == nkey
            front = np.where(found, np.maximum(front, zmax[pos]), front)
    slope = np.sqrt(np.maximum(1.0 - facing ** 2, 0.0)) / np.maximum(facing, 0.15)
    return z < front - (slack + 2.0 * cell * slope)


class _Scene:
    """Projection, visible points, splat sizes and shading shared by all panels."""

    def __init__(self, pts, nrm, up, view, point_size, max_points):
        from scipy.spatial import cKDTree

        self.pts, n = pts, len(pts)
        self.right, self.upward, self.toward = _camera(view, up)
        self.x, self.y, self.z = pts @ self.right, pts @ self.upward, pts @ self.toward
        self.tree = cKDTree(pts)
        k = int(min(10, n))
        probe = _subsample(n, 2000)
        if k >= 2:                       # spacing: sqrt of the surface area per point
            dist, _ = self.tree.query(pts[probe], k=k)
            near = dist[:, -1] * math.sqrt(math.pi / (k - 1))
            near = near[near > 0]
        else:
            near = np.empty(0)
        ext = float(np.max(np.ptp(pts, axis=0))) if n > 1 else 1.0
        self.spacing = float(np.median(near)) if near.size else max(ext, 1.0) / math.sqrt(n)
        # 1. front layer, coarse: drop points with something well in front of them
        keep, _ = _front_layer(self.x, self.y, self.z, 2.0 * self.spacing, 4.0 * self.spacing)
        idx = np.flatnonzero(keep)
        grow = 1.0
        if len(idx) > max_points:
            grow = math.sqrt(len(idx) / max_points)
            idx = idx[_subsample(len(idx), int(max_points), seed=1)]
        # 2. splats: the tangent disc of each point (axes from its neighbours' spread)
        # seen in projection, so sparse directions are covered and silhouettes stay thin
        m = len(idx)
        if k >= 3:
            _, nb = self.tree.query(pts[idx], k=k)
            centre = pts[nb].mean(axis=1)
            off = pts[nb] - centre[:, None, :]
            lam, vec = np.linalg.eigh(np.einsum("mki,mkj->mij", off, off) / (k - 1))
            sd = np.sqrt(np.maximum(lam[:, 1:], 0.0))              # (minor, major)
            major = np.clip(sd[:, 1], 0.3 * self.spacing, 3.0 * self.spacing)
            # at the border of an open surface the neighbours lie to one side
            border = np.linalg.norm(centre - pts[idx], axis=1) > 0.6 * major
            minor = np.clip(sd[:, 0], 0.3 * major, None)
            t1, t2, nd = vec[:, :, 2], vec[:, :, 1], vec[:, :, 0]
        else:
            major = minor = np.full(m, 0.8 * self.spacing)
            border = np.zeros(m, dtype=bool)
            t1 = np.tile(self.right, (m, 1))
            t2 = np.tile(self.upward, (m, 1))
            nd = None
        if nrm is not None:
            nd = nrm[idx]
        # 3. front layer, fine: a point facing the camera but behind a nearer surface
        # within a splat or two is seen through a gap; drop it (grazing points keep more
        # depth slack, as a slanted surface recedes quickly)
        if nd is not None and m > 0:
            facing = np.abs(nd @ self.toward) / np.maximum(np.linalg.norm(nd, axis=1), 1e-300)
            hidden = _behind_front(self.x[idx], self.y[idx], self.z[idx], facing,
                                   2.0 * grow * self.spacing, 2.0 * grow * self.spacing)
            sel = ~hidden
            idx, major, minor, t1, t2, nd, border = (
                a[sel] for a in (idx, major, minor, t1, t2, nd, border))
        order = np.argsort(self.z[idx], kind="stable")                  # back to front
        idx, major, minor, t1, t2, border = (
            a[order] for a in (idx, major, minor, t1, t2, border))
        nd = None if nd is None else nd[order]
        self.idx = idx
        scale = 1.25 if point_size is None else float(point_size)
        self._axes = (grow * major, grow * minor, t1, t2)
        self.widths, self.heights, self.angles = self.ellipses(scale)
        # backing layer of larger splats under the surface closes the gaps of random
        # sampling; not at the outline or the border, which it would blur
        fw, fh, fa = self.ellipses(2.0 * scale)
        inner = ~border
        if nd is not None:
            inner &= np.abs(nd @ self.toward) >= 0.2 * np.linalg.norm(nd, axis=1)
        self.fill_index = np.flatnonzero(inner)
        self.fill = (fw[inner], fh[inner], fa[inner])
        self.diam = fw
        # shading by the normals (any sign)
        if nd is None:
            self.shade = np.ones(len(idx))
        else:
            light = self.toward + 0.5 * self.upward - 0.3 * self.right
            light /= np.linalg.norm(light)
            cosine = np.abs(nd @ light) / np.maximum(np.linalg.norm(nd, axis=1), 1e-300)
            self.shade = 0.5 + 0.5 * cosine
        pad = 0.6 * float(self.diam.max()) if len(self.diam) else 0.0
        self.xlim = (float(self.x.min()) - pad, float(self.x.max()) + pad)
        self.ylim = (float(self.y.min()) - pad, float(self.y.max()) + pad)
        if self.xlim[1] - self.xlim[0] <= 0:
            self.xlim = (self.xlim[0] - 1.0, self.xlim[1] + 1.0)
        if self.ylim[1] - self.ylim[0] <= 0:
            self.ylim = (self.ylim[0] - 1.0, self.ylim[1] + 1.0)
        self._anchors = None
        self._nrm = nrm

    def ellipses(self, scale):
        """Screen ellipses (widths, heights, angles in degrees) of the tangent discs."""
        major, minor, t1, t2 = self._axes
        a1, a2 = scale * major, scale * minor
        M = np.empty((len(a1), 2, 2))
        M[:, 0, 0], M[:, 0, 1] = a1 * (t1 @ self.right), a2 * (t2 @ self.right)
        M[:, 1, 0], M[:, 1, 1] = a1 * (t1 @ self.upward), a2 * (t2 @ self.upward)
        if len(a1) == 0:
            return np.empty(0), np.empty(0), np.empty(0)
        U, sv, _ = np.linalg.svd(M)
        sv[:, 1] = np.maximum(sv[:, 1], 0.4 * sv[:, 0])           # edge-on: keep a sliver
        return 2.0 * sv[:, 0], 2.0 * sv[:, 1], np.degrees(np.arctan2(U[:, 1, 0], U[:, 0, 0]))

    def anchors(self, per_side=16):
        """Arrow anchors: in each cell of a coarse screen grid, the front-layer point
        nearest the cell centre; returned with the normal turned towards the camera."""
        if self._anchors is None:
            g = max(self.xlim[1] - self.xlim[0], self.ylim[1] - self.ylim[0]) / per_side
            front, inv = _front_layer(self.x, self.y, self.z, g,
                                      max(2.0 * self.spacing, 0.25 * g))
            cx = (np.floor((self.x - self.x.min()) / g) + 0.5) * g + self.x.min()
            cy = (np.floor((self.y - self.y.min()) / g) + 0.5) * g + self.y.min()
            d2 = (self.x - cx) ** 2 + (self.y - cy) ** 2
            cand = np.flatnonzero(front)
            order = cand[np.lexsort((d2[cand], inv[cand]))]
            first = np.r_[True, inv[order][1:] != inv[order][:-1]]
            a = order[first]
            if self._nrm is not None:
                nrm = self._nrm[a]
            else:
                nrm = _pca_normals(self.pts, a, self.tree)
            nrm = nrm / np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-300)
            facing = nrm @ self.toward
            nrm *= np.where(facing < 0, -1.0, 1.0)[:, None]
            seen = np.abs(facing) >= 0.3                      # not at the outline
            self._anchors = (a[seen], nrm[seen], g)
        return self._anchors

    def draw_arrows(self, ax, vec):
        a, nrm, g = self.anchors()
        v = vec[a]
        length = np.linalg.norm(v, axis=1)
        ref = float(np.percentile(length, 90)) if len(length) else 0.0
        if ref <= 0.0:
            return None
        base = self.pts[a] + 0.5 * self.spacing * nrm          # lifted off the surface
        u = (v @ self.right) * (0.9 * g / ref)
        w = (v @ self.upward) * (0.9 * g / ref)
        screen = np.hypot(u, w)
        cap = np.minimum(1.0, 1.5 * g / np.maximum(screen, 1e-300))   # outliers: capped
        u, w = u * cap, w * cap
        ok = screen * cap > 0.15 * g             # not seen end-on
        q = ax.quiver(base[ok] @ self.right, base[ok] @ self.upward, u[ok], w[ok],
                      angles="xy", scale_units="xy", scale=1.0, pivot="tail",
                      color="black", edgecolor="white", linewidth=0.4, width=0.006,
                      headwidth=3.2, headlength=3.4, headaxislength=3.0, zorder=3)
        q.set_label("arrows")
        return q


def render_fields(points, fields, path=None, *, normals=None, vectors=None, titles=None,
                  cmap=None, view=None, up="auto", point_size=None, percentile=99.0,
                  ncols=None, dpi=120, panel_size=3.4, suptitle=None, max_points=100_000):
    """Draw one shaded splat panel per scalar field; optionally save it as PNG.

    Parameters
    ----------
    points : array_like of shape (n, 3)
    fields : dict of str to array_like (n,), list of (n,) arrays, or ndarray (n, m)
        Fields to draw, one panel each; dict keys are the panel titles. Complex
        values are drawn by their real part.
    path : str or os.PathLike, optional
        Write the figure there (PNG, or any format matplotlib infers from the suffix).
    normals : array_like of shape (n, 3), optional
        Normals, of any sign, for the shading (and the arrows' lift); estimated from
        neighbours when omitted. Hidden points are found by depth, not by normals.
    vectors : array_like of shape (n, 3) or dict of str to (n, 3), optional
        Tangent vector field(s) drawn as arrows on a subsample of the visible points
        (about 16 across a panel), lifted off the surface along the normal. An array
        goes on every panel; a dict maps panel titles to their vector field. Arrow
        lengths are proportional to the vectors (the 90th percentile of the lengths
        fills 0.8 of the sampling step; longer arrows are capped at twice that).
    titles : list of str, optional
        Panel titles, overriding the dict keys.
    cmap : str, optional
        One colormap for every panel. By default ``"RdBu_r"`` with symmetric limits
        for fields with both signs and ``"viridis"`` for the others.
    view : (float, float), optional
        Camera ``(elev, azim)`` in degrees, the same for every panel (matplotlib's
        meaning, around the ``up`` axis). Default: chosen from the shape
        (:func:`auto_view`).
    up : {"auto", "x", "y", "z", "-x", "-y", "-z"} or None, default "auto"
        Data axis drawn vertically; ``"auto"`` (or None) chooses it from the shape
        (:func:`auto_up`); the Stanford bunny is ``"y"``.
    point_size : float, optional
        Splat size factor. Each point is drawn as its tangent disc, an ellipse with
        semi-axes ``point_size`` times the spread of its 9 nearest neighbours,
        seen in projection; the default 1.25 closes the surface.
    percentile : float, default 99
        Robust colour limits (see :func:`color_limits`); 100 for the exact extremes.
    ncols : int, optional
        Panels per row; default ``min(n_fields, 3)``.
    dpi : int, default 120
    panel_size : float, default 3.4
        Panel width in inches.
    suptitle : str, optional
        Title over the whole figure.
    max_points : int, default 100000
        At most this many visible points are drawn (a random subsample, with larger
        splats).

    Returns
    -------
    fig : matplotlib.figure.Figure
        Not registered with pyplot: it is freed with its last reference, no
        ``plt.close`` needed. Show it in a notebook by leaving it as the cell value.
        ``fig.o3d_view`` holds the ``{"up": ..., "view": (elev, azim)}`` used.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.plot import render_fields
    >>> p = np.random.default_rng(0).normal(size=(2000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> fig = render_fields(p, {"x": p[:, 0], "z": p[:, 2]}, "/tmp/sphere.png", normals=p)
    >>> len(fig.axes)   # two panels + two colourbars
    4
    >>> fig.o3d_view["up"]
    'z'
    """
    import matplotlib
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import EllipseCollection
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    pts = check_points(points, name="points", dims=(3,))
    n = pts.shape[0]
    items = _as_fields(fields, titles, n)
    vecs = _as_vectors(vectors, [name for name, _ in items], n)
    up = _check_up(up, allow_auto=True)
    if view is not None:
        view = _check_view(view)
    nrm = None
    if normals is not None:
        nrm = check_points(normals, name="normals", dims=(3,))
        if nrm.shape[0] != n:
            raise ValueError(f"`normals` must have one row per point (n = {n}); "
                             f"got {nrm.shape}")
    if ncols is None:
        ncols = min(len(items), 3)
    if int(ncols) < 1:
        raise ValueError(f"`ncols` must be a positive int; got {ncols!r}")
    if int(max_points) < 1:
        raise ValueError(f"`max_points` must be a positive int; got {max_points!r}")
    if point_size is not None and not (float(point_size) > 0 and math.isfinite(point_size)):
        raise ValueError(f"`point_size` must be a positive number; got {point_size!r}")
    if up == "auto":
        up = auto_up(pts)
    if view is None:
        _, view = auto_view(pts, nrm, up=up)
    scene = _Scene(pts, nrm, up, view, point_size, int(max_points))
    ncols = min(int(ncols), len(items))
    nrows = -(-len(items) // ncols)

    aspect = (scene.ylim[1] - scene.ylim[0]) / (scene.xlim[1] - scene.xlim[0])
    panel_h = float(np.clip(0.8 * aspect, 0.55, 1.3)) * panel_size + 0.3   # + title
    fig = Figure(figsize=(panel_size * ncols, panel_h * nrows + (0.3 if suptitle else 0.0)),
                 dpi=dpi)
    fig.o3d_view = {"up": up, "view": tuple(view)}
    xy = np.column_stack([scene.x[scene.idx], scene.y[scene.idx]])
    for j, ((name, values), vec) in enumerate(zip(items, vecs)):
        ax = fig.add_subplot(nrows, ncols, j + 1)
        lo, hi, sym = color_limits(values, percentile=percentile)
        cm = matplotlib.colormaps[cmap or _default_cmap(sym)]
        norm = Normalize(vmin=lo, vmax=hi)
        rgba = cm(norm(values[scene.idx]))
        rgba[:, :3] *= scene.shade[:, None]
        fill = EllipseCollection(*scene.fill, units="xy", offsets=xy[scene.fill_index],
                                 offset_transform=ax.transData,
                                 facecolors=rgba[scene.fill_index],
                                 edgecolors="none", linewidths=0, zorder=1)
        fill.set_label("_fill")
        ax.add_collection(fill, autolim=False)
        splats = EllipseCollection(scene.widths, scene.heights, scene.angles,
                                   units="xy", offsets=xy, offset_transform=ax.transData,
                                   facecolors=rgba, edgecolors="none", linewidths=0,
                                   zorder=2)
        splats.set_cmap(cm)                 # no array: the shaded colours stay as given
        splats.set_norm(norm)
        splats.set_label("splats")
        ax.add_collection(splats, autolim=False)
        if vec is not None:
            scene.draw_arrows(ax, vec)
        ax.set_xlim(*scene.xlim)
        ax.set_ylim(*scene.ylim)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        ax.set_title(name, fontsize=9, pad=2)
        ax.set_facecolor("none")                             # never hide a neighbour's labels
        cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cm), ax=ax, shrink=0.55, pad=0.0,
                          fraction=0.05, aspect=18, extend=_extend(values, lo, hi))
        _colorbar_ticks(cb, lo, hi, values)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.01, right=0.92, bottom=0.02,
                        top=1.0 - ((0.55 if suptitle else 0.28) / height),
                        wspace=0.15, hspace=0.12)
    if path is not None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        if fig.canvas is None or type(fig.canvas).__name__ == "FigureCanvasBase":
            FigureCanvasAgg(fig)
        fig.savefig(str(path), dpi=dpi, facecolor="white")
    return fig


def render_vectors(points, vectors, path=None, *, field=None, title=None, **kwargs):
    """Draw a tangent vector field as arrows over one panel coloured by its length.

    Parameters
    ----------
    points : array_like of shape (n, 3)
    vectors : array_like of shape (n, 3)
        E.g. a surface gradient.
    path : str or os.PathLike, optional
        PNG to write.
    field : array_like of shape (n,), optional
        Colour the panel by this field instead of ``|vectors|``.
    title : str, optional
        Panel title; default ``"|v|"`` (or ``"field"``).
    **kwargs
        Passed to :func:`render_fields` (``normals``, ``view``, ``up``, ``dpi`` …).

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.plot import render_vectors
    >>> p = np.random.default_rng(0).normal(size=(1500, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> g = np.cross([0.0, 0.0, 1.0], p)               # rotation about z: tangent
    >>> fig = render_vectors(p, g, normals=p)
    >>> fig.axes[0].collections[-1].get_label()
    'arrows'
    """
    v = np.asarray(vectors)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"`vectors` must have shape (n, 3); got {v.shape}")
    values = np.linalg.norm(np.real(v), axis=1) if field is None else field
    name = title if title is not None else ("|v|" if field is None else "field")
    return render_fields(points, {name: values}, path, vectors=v, **kwargs)


def render_spectrum(points, vals, vecs, path=None, *, normals=None, modes=None, **kwargs):
    """Draw Laplace–Beltrami eigenmodes, each panel titled ``mode i, λ = …``.

    Parameters
    ----------
    points : array_like of shape (n, 3)
    vals : array_like of shape (n_modes,)
        Eigenvalues (real part is shown).
    vecs : array_like of shape (n, n_modes)
        Eigenvectors, one per column.
    path : str or os.PathLike, optional
        PNG to write.
    normals : array_like of shape (n, 3), optional
        Normals for the shading (see :func:`render_fields`).
    modes : sequence of int, optional
        Columns to draw; default ``1 .. 6`` (mode 0 is the constant one), limited to
        the modes available.
    **kwargs
        Passed to :func:`render_fields` (``view``, ``up``, ``ncols``, ``dpi`` …).

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    vals = np.asarray(vals)
    vecs = np.asarray(vecs)
    if vecs.ndim != 2 or vals.ndim != 1 or vecs.shape[1] != vals.shape[0]:
        raise ValueError(f"`vecs` must have shape (n, n_modes) matching `vals` "
                         f"(n_modes,); got {vecs.shape} and {vals.shape}")
    m = vals.shape[0]
    if modes is None:
        modes = list(range(1, min(m, 7))) or [0]
    modes = [int(i) for i in modes]
    bad = [i for i in modes if not 0 <= i < m]
    if bad:
        raise ValueError(f"`modes` must be indices in 0..{m - 1}; got {bad}")
    fields = {f"mode {i}, λ = {float(np.real(vals[i])):.4g}": vecs[:, i] for i in modes}
    return render_fields(points, fields, path, normals=normals, **kwargs)
