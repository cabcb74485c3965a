"""Headless pictures of per-point fields: a grid of 3-D scatter panels saved as PNG.

matplotlib is imported only when a picture is made, and only its object API is used
(``matplotlib.figure.Figure`` + the Agg canvas), so importing or calling this module
neither switches the user's pyplot backend nor opens windows; it works without a
display. Open3D is not needed.

A point cloud drawn as a scatter shows its far side through the gaps between the
near points. With *oriented* normals the far side is removed by back-face culling:
a point is drawn only when its normal faces the camera, ``n · d >= 0`` where ``d``
points from the object towards the camera (:func:`view_direction`,
:func:`visible_mask`). Normals estimated by PCA have an arbitrary sign per point, so
pass normals made consistent first (``LaplaceBeltrami(orient="mst")``,
``estimate_frames(..., orient="mst")`` or a mesh's vertex normals); with unoriented
normals culling would punch random holes. Without normals every point is drawn,
back to front.

Colour limits are symmetric (``-m .. m`` with ``m = max |f|``) with the diverging
colormap ``"RdBu_r"`` when a field has both signs (eigenmodes, divergences), so zero
is white; otherwise ``min .. max`` with ``"viridis"``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ._validation import check_points

__all__ = [
    "render_fields",
    "render_spectrum",
    "visible_mask",
    "view_direction",
    "color_limits",
    "colorize",
]

DEFAULT_VIEW = (15.0, -60.0)
_UP_AXES = ("x", "y", "z")
# cyclic (rotation, not mirror) permutations taking the data's up axis to matplotlib's z
_PERM = {"z": (0, 1, 2), "y": (2, 0, 1), "x": (1, 2, 0)}


def _check_up(up):
    if up not in _UP_AXES:
        raise ValueError(f"`up` must be one of 'x', 'y', 'z'; got {up!r}")
    return up


def _check_view(view):
    try:
        elev, azim = (float(v) for v in view)
    except (TypeError, ValueError):
        raise ValueError(f"`view` must be a pair (elev, azim) in degrees; got {view!r}") from None
    if not (math.isfinite(elev) and math.isfinite(azim)):
        raise ValueError(f"`view` must be finite; got {view!r}")
    return elev, azim


def view_direction(view=DEFAULT_VIEW, *, up="z"):
    """Unit vector from the object towards the camera, in the data's coordinates.

    Parameters
    ----------
    view : (float, float), default (15, -60)
        ``(elev, azim)`` in degrees, matplotlib's meaning (elevation above the
        horizontal plane, azimuth around the up axis).
    up : {"x", "y", "z"}, default "z"
        Data axis drawn vertically (the Stanford bunny and many scans use ``"y"``).

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
    """
    elev, azim = np.deg2rad(_check_view(view))
    d_plot = np.array([math.cos(elev) * math.cos(azim),
                       math.cos(elev) * math.sin(azim),
                       math.sin(elev)])
    d = np.empty(3)
    d[list(_PERM[_check_up(up)])] = d_plot
    return d


def visible_mask(normals, view=DEFAULT_VIEW, *, up="z"):
    """Points whose (oriented) normal faces the camera: ``n · d >= 0``.

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


def color_limits(values):
    """Colour limits of a field and whether they are symmetric about zero.

    Returns ``(-m, m, True)`` with ``m = max |values|`` when ``values`` has both signs,
    else ``(min, max, False)``; a constant field gets a small non-empty range.

    Examples
    --------
    >>> from o3d_meshless.plot import color_limits
    >>> color_limits([-1.0, 3.0])
    (-3.0, 3.0, True)
    >>> color_limits([1.0, 3.0])
    (1.0, 3.0, False)
    """
    v = np.real(np.asarray(values)).astype(np.float64)
    lo, hi = float(np.min(v)), float(np.max(v))
    if lo < 0.0 < hi:
        m = max(-lo, hi)
        return -m, m, True
    if hi <= lo:
        pad = max(abs(lo) * 1e-6, 1e-12)
        return lo - pad, hi + pad, False
    return lo, hi, False


def _default_cmap(symmetric):
    return "RdBu_r" if symmetric else "viridis"


def colorize(values, *, cmap=None):
    """RGB colours in [0, 1] for a scalar field, with the limits of :func:`color_limits`.

    Parameters
    ----------
    values : array_like of shape (n,)
    cmap : str, optional
        matplotlib colormap name; default ``"RdBu_r"`` for a field with both signs,
        ``"viridis"`` otherwise.

    Returns
    -------
    rgb : ndarray of shape (n, 3), float64
    """
    import matplotlib

    v = np.real(np.asarray(values)).astype(np.float64).ravel()
    lo, hi, sym = color_limits(v)
    cm = matplotlib.colormaps[cmap or _default_cmap(sym)]
    return np.asarray(cm(np.clip((v - lo) / (hi - lo), 0.0, 1.0))[:, :3], dtype=np.float64)


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


def auto_point_size(n_drawn, panel_inches=3.4):
    """Marker area (points²) so that ``n_drawn`` points roughly tile a panel."""
    side = panel_inches * 72.0
    return float(np.clip(1.0 * side * side / max(n_drawn, 1), 0.2, 40.0))


def render_fields(points, fields, path=None, *, normals=None, titles=None, cmap=None,
                  view=DEFAULT_VIEW, up="z", point_size=None, ncols=None, dpi=120,
                  panel_size=3.4, suptitle=None):
    """Draw one 3-D scatter panel per scalar field; optionally save it as PNG.

    Parameters
    ----------
    points : array_like of shape (n, 3)
    fields : dict of str to array_like (n,), list of (n,) arrays, or ndarray (n, m)
        Fields to draw, one panel each; dict keys are the panel titles. Complex
        values are drawn by their real part.
    path : str or os.PathLike, optional
        Write the figure there (PNG, or any format matplotlib infers from the suffix).
    normals : array_like of shape (n, 3), optional
        *Consistently oriented* normals (see the module notes). Points with
        ``n · d < 0`` (facing away from the camera) are hidden. Without normals all
        points are drawn back to front.
    titles : list of str, optional
        Panel titles, overriding the dict keys.
    cmap : str, optional
        One colormap for every panel. By default ``"RdBu_r"`` with symmetric limits
        for fields with both signs and ``"viridis"`` for the others.
    view : (float, float), default (15, -60)
        Camera ``(elev, azim)`` in degrees, the same for every panel.
    up : {"x", "y", "z"}, default "z"
        Data axis drawn vertically; use ``"y"`` for the Stanford bunny.
    point_size : float, optional
        Marker area in points²; by default chosen from the number of drawn points.
    ncols : int, optional
        Panels per row; default ``min(n_fields, 3)``.
    dpi : int, default 120
    panel_size : float, default 3.4
        Panel width in inches.
    suptitle : str, optional
        Title over the whole figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Not registered with pyplot: it is freed with its last reference, no
        ``plt.close`` needed. Show it in a notebook by leaving it as the cell value.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.plot import render_fields
    >>> p = np.random.default_rng(0).normal(size=(2000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> fig = render_fields(p, {"x": p[:, 0], "z": p[:, 2]}, "/tmp/sphere.png", normals=p)
    >>> len(fig.axes)   # two panels + two colourbars
    4
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    pts = check_points(points, name="points", dims=(3,))
    n = pts.shape[0]
    items = _as_fields(fields, titles, n)
    up = _check_up(up)
    elev, azim = _check_view(view)
    if normals is not None:
        nrm = check_points(normals, name="normals", dims=(3,))
        if nrm.shape[0] != n:
            raise ValueError(f"`normals` must have one row per point (n = {n}); "
                             f"got {nrm.shape}")
        keep = visible_mask(nrm, (elev, azim), up=up)
    else:
        keep = np.ones(n, dtype=bool)
    d = view_direction((elev, azim), up=up)
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(pts[idx] @ d, kind="stable")]      # back to front
    perm = list(_PERM[up])
    P = pts[:, perm]                                         # plotting coordinates

    if ncols is None:
        ncols = min(len(items), 3)
    if int(ncols) < 1:
        raise ValueError(f"`ncols` must be a positive int; got {ncols!r}")
    ncols = min(int(ncols), len(items))
    nrows = -(-len(items) // ncols)
    if point_size is None:
        point_size = auto_point_size(len(idx), panel_size)

    lo, hi = P.min(axis=0), P.max(axis=0)
    center = 0.5 * (lo + hi)
    half = 0.5 * np.maximum(hi - lo, 1e-12 * max(float(np.max(hi - lo)), 1.0))
    half = np.maximum(half, 0.02 * half.max())               # flat data: keep a thin box

    fig = Figure(figsize=(panel_size * ncols, panel_size * 0.95 * nrows
                          + (0.3 if suptitle else 0.0)), dpi=dpi)
    for j, (name, values) in enumerate(items):
        ax = fig.add_subplot(nrows, ncols, j + 1, projection="3d")
        ax.set_proj_type("ortho")                            # culling uses one direction
        vmin, vmax, sym = color_limits(values)
        sc = ax.scatter(P[idx, 0], P[idx, 1], P[idx, 2], c=values[idx],
                        cmap=cmap or _default_cmap(sym), vmin=vmin, vmax=vmax,
                        s=point_size, linewidths=0, depthshade=False, marker="o")
        ax.set_xlim(center[0] - half[0], center[0] + half[0])
        ax.set_ylim(center[1] - half[1], center[1] + half[1])
        ax.set_zlim(center[2] - half[2], center[2] + half[2])
        ax.set_box_aspect(tuple(half), zoom=1.25)           # equal scale on every axis
        ax.view_init(elev=elev, azim=azim)
        ax.set_axis_off()
        ax.set_title(name, fontsize=9, pad=0)
        ax.set_facecolor("none")                             # never hide a neighbour's labels
        cb = fig.colorbar(sc, ax=ax, shrink=0.55, pad=0.0, fraction=0.05, aspect=18,
                          format=FormatStrFormatter("%.3g"))
        cb.locator = MaxNLocator(5)
        cb.ax.tick_params(labelsize=7)
        cb.update_ticks()
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.subplots_adjust(left=0.0, right=0.93, bottom=0.02, top=0.92 if suptitle else 0.95,
                        wspace=0.12, hspace=0.1)
    if path is not None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        if fig.canvas is None or type(fig.canvas).__name__ == "FigureCanvasBase":
            FigureCanvasAgg(fig)
        fig.savefig(str(path), dpi=dpi, facecolor="white")
    return fig


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
        Oriented normals for back-face culling (see :func:`render_fields`).
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
