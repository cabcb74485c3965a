"""The public pictures: fields, vector fields and Laplace–Beltrami modes as PNG grids."""
from __future__ import annotations

import math
import numpy as np

from .._validation import check_points

from .colors import NO_VALUE_RGB, _colorbar_ticks, _default_cmap, _extend, color_limits
from .inputs import _as_fields, _as_positions, _as_vectors, _fill_missing_normals
from .scene import _Scene
from .view import _check_up, _check_view, auto_view

__all__ = ["render_fields", "render_vectors", "render_spectrum"]


#: RGBA of points without a value in the pictures (excluded outliers, unreachable points)
NO_VALUE = (*NO_VALUE_RGB, 1.0)


def render_fields(points, fields, path=None, *, normals=None, vectors=None, titles=None,
                  cmap=None, view=None, up="auto", point_size=None, percentile=99.0,
                  ncols=None, dpi=120, panel_size=3.4, suptitle=None, max_points=100_000,
                  markers=None, clip=None, positions=None, limits=None):
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
        fills 0.9 of the sampling step; longer arrows are capped at 1.5 steps), drawn
        in the screen plane as seen, so a vector tilted towards the viewer is
        foreshortened; one within 30° of the line of sight is drawn as a circled dot
        (towards the viewer) or a circled cross (away).
    titles : list of str, optional
        Panel titles, overriding the dict keys.
    cmap : str, optional
        One colormap for every panel. By default ``"RdBu_r"`` with symmetric limits
        for fields with both signs and ``"viridis"`` for the others.
    view : (float, float), optional
        Camera ``(elev, azim)`` in degrees, the same for every panel (matplotlib's
        meaning, around the ``up`` axis). Default: chosen from the shape
        (:func:`auto_view`).
    up : {"auto", "x", "y", "z", "-x", "-y", "-z"}, 3-vector or None, default "auto"
        Data axis drawn vertically, or any direction such as ``(0, 1, 0.3)``
        (normalised); ``"auto"`` (or None) chooses it from the shape
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
    markers : array_like of int, optional
        Indices of points to mark on every panel (e.g. geodesic sources): a red star
        drawn above the splats, hollow where the surface hides the point.
    clip : float, optional
        Colour limits at exactly the ``clip`` and ``100 - clip`` percentiles of each
        field (one-sided, no symmetric limits, no exact extremes kept), so that a few
        extreme points (tiny separate pieces) do not set the scale; the colour bar's
        label says so. Overrides ``percentile``.
    positions : dict of str to array_like (n, 3), optional
        Panels drawn at other positions of the same points (e.g. after smoothing),
        keyed by panel title; the view is the one chosen for ``points``, the normals
        of those panels are estimated from their positions.
    limits : "shared" or (float, float), optional
        Colour limits: by default each panel has its own; ``"shared"`` gives every
        panel the limits of all the fields together (by the same rules: percentile,
        symmetric, ``clip``) and one colour map, so panels compare (before and after
        smoothing); a pair ``(vmin, vmax)`` is used as it is.

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
        nrm = check_points(_fill_missing_normals(normals, pts), name="normals", dims=(3,))
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
    if clip is not None and not 0.0 <= float(clip) < 50.0:
        raise ValueError(f"`clip` must be a percentage in [0, 50); got {clip!r}")
    shared = ticks_from = None
    if isinstance(limits, str) and limits == "shared":
        every = np.concatenate([v for _, v in items])
        every = every[np.isfinite(every)]
        if clip is None:
            shared = color_limits(every, percentile=percentile)
        else:
            lo, hi = (float(q) for q in np.percentile(every, [clip, 100.0 - clip]))
            shared = (lo, hi, False) if hi > lo else (*color_limits(every)[:2], False)
        ticks_from = every
    elif limits is not None:
        try:
            lo, hi = (float(v) for v in limits)
        except (TypeError, ValueError):
            raise ValueError("`limits` must be 'shared' or a pair (vmin, vmax); got "
                             f"{limits!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValueError(f"`limits` must be finite with vmin < vmax; got {limits!r}")
        shared = (lo, hi, lo < 0.0 < hi and math.isclose(-lo, hi))
        ticks_from = np.array([lo, hi])
    marks = None
    if markers is not None:
        marks = np.atleast_1d(np.asarray(markers)).ravel()
        if not np.issubdtype(marks.dtype, np.integer) or marks.size and (
                marks.min() < -n or marks.max() >= n):
            raise ValueError(f"`markers` must be point indices in 0..{n - 1}; got {markers!r}")
    if up == "auto" or view is None:         # the normals help: a scan's scanner side
        up, chosen = auto_view(pts, nrm, up=up)
        view = chosen if view is None else view
    scene = _Scene(pts, nrm, up, view, point_size, int(max_points))
    scenes = {name: _Scene(check_points(p, name=f"positions[{name!r}]", dims=(3,)), None, up,
                           view, point_size, int(max_points))
              for name, p in _as_positions(positions, [name for name, _ in items], n).items()}
    for other in scenes.values():            # one frame for all panels
        scene.xlim = (min(scene.xlim[0], other.xlim[0]), max(scene.xlim[1], other.xlim[1]))
        scene.ylim = (min(scene.ylim[0], other.ylim[0]), max(scene.ylim[1], other.ylim[1]))
    ncols = min(int(ncols), len(items))
    nrows = -(-len(items) // ncols)

    aspect = (scene.ylim[1] - scene.ylim[0]) / (scene.xlim[1] - scene.xlim[0])
    panel_h = float(np.clip(0.8 * aspect, 0.55, 1.3)) * panel_size + 0.3   # + title
    fig = Figure(figsize=(panel_size * ncols, panel_h * nrows + (0.3 if suptitle else 0.0)),
                 dpi=dpi)
    fig.o3d_view = {"up": up, "view": tuple(view)}
    base = scene
    for j, ((name, values), vec) in enumerate(zip(items, vecs)):
        scene = scenes.get(name, base)
        xy = np.column_stack([scene.x[scene.idx], scene.y[scene.idx]])
        ax = fig.add_subplot(nrows, ncols, j + 1)
        finite = np.isfinite(values)
        missing = int(np.count_nonzero(~finite))
        if missing:         # excluded outliers, unreachable points: drawn in grey
            name = f"{name}\n(grey: {missing} point{'s' * (missing > 1)} without a value)"
            values = np.where(finite, values, np.nan)
        if shared is not None:
            lo, hi, sym = shared
        elif clip is None:
            lo, hi, sym = color_limits(values, percentile=percentile)
        else:
            lo, hi = (float(q) for q in np.percentile(values[finite], [clip, 100.0 - clip]))
            lo, hi, sym = *((lo, hi) if hi > lo else color_limits(values)[:2]), False
        cm = matplotlib.colormaps[cmap or _default_cmap(sym)].with_extremes(bad=NO_VALUE)
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
        if marks is not None:
            scene.draw_markers(ax, marks)
        ax.set_xlim(*base.xlim)
        ax.set_ylim(*base.ylim)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        ax.set_title(name, fontsize=9, pad=2)
        ax.set_facecolor("none")                             # never hide a neighbour's labels
        cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cm), ax=ax, shrink=0.55, pad=0.0,
                          fraction=0.05, aspect=18,
                          extend=_extend(values[finite], lo, hi))
        _colorbar_ticks(cb, lo, hi, values[finite] if ticks_from is None else ticks_from,
                        label=None if clip is None or (
                            shared is not None and limits != "shared") else
                        f"clipped to {clip:g}-{100 - clip:g} %")
    lines = 0
    if suptitle:
        # wrapped to the figure's width: a long file name must not be cut off
        import textwrap

        width = max(20, int(fig.get_figwidth() * 72 / (0.6 * 10)))
        suptitle = "\n".join(textwrap.wrap(str(suptitle), width) or [""])
        lines = suptitle.count("\n") + 1
        fig.suptitle(suptitle, fontsize=10)
    height = fig.get_figheight()
    two_lines = any(np.isnan(values).any() or np.isinf(values).any() for _, values in items)
    fig.set_figheight(height + 0.18 * max(lines - 1, 0))
    height = fig.get_figheight()
    # room for a colour-bar label (a power of ten, the clipping) beside the last bar
    labelled = any(ax.get_ylabel() for ax in fig.axes)
    right = 1.0 - max(0.08, (0.42 if labelled else 0.0) / fig.get_figwidth())
    fig.subplots_adjust(left=0.01, right=right, bottom=0.02,
                        top=1.0 - ((0.37 + 0.18 * lines if suptitle else 0.28)
                                   + 0.18 * two_lines) / height,
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
    >>> "arrows" in [c.get_label() for c in fig.axes[0].collections]
    True
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
