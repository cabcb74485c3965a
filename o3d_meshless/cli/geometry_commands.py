"""The geometry-toolkit subcommands: ``geodesic``, ``curvature``, ``hks`` and ``smooth``."""
from __future__ import annotations

import numpy as np

from .fields import _field, field_name
from .outputs import write_npz, write_ply
from .run import _orient, _read, _render


def _writes(a):
    return bool(a.png or a.ply or a.out)


def _clipped(values, lo=2.0, hi=98.0):
    """A field clipped to its percentiles for a picture (one outlier must not wash out
    the colours)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return values
    a, b = np.percentile(finite, [lo, hi])
    return np.clip(values, a, b)


def _cmd_geodesic(run):
    from .. import HeatGeodesics
    from ..toolkit.geodesic import check_sources

    a = run.args
    geom = _read(run)
    solver = HeatGeodesics(t=a.t, boundary=a.boundary, k=a.k, workers=a.workers,
                           orient=_orient(run, writes=_writes(a)), progress=run.progress)
    run.timed("operator", solver.fit, geom)
    points = np.asarray(solver.points_)
    sources = check_sources(a.source, len(points), name="--source")
    d = np.asarray(run.timed("apply", solver.distance, sources), dtype=np.float64)
    reach = np.isfinite(d)
    # one convention everywhere (text, JSON, --out, --ply, picture): unreachable = NaN
    d = np.where(reach, d, np.nan)
    run.options(source=a.source, t=a.t, boundary=a.boundary, k=a.k, workers=a.workers,
                orient=_orient(run, writes=_writes(a)))
    run.note(f"{len(points)} points, k = {a.k}; heat method, t = {solver.t_:.3g} "
             f"({solver.t_ / solver.spacing_ ** 2:.2g} h², h = {solver.spacing_:.3g})")
    run.result("n_points", len(points))
    run.line(f"{'sources':<16}: {', '.join(map(str, sources.tolist()))}")
    run.result("sources", sources)
    run.result("t", float(solver.t_))
    run.result("spacing", float(solver.spacing_))
    run.stat("distance", d, "distance")
    run.result("n_unreachable", int((~reach).sum()))
    if not reach.all():
        run.line(f"{'unreachable':<16}: {int((~reach).sum())} points (pieces without a "
                 "source; NaN in --out and --ply, grey in --png)")
    normals = np.asarray(solver.normals_)
    if a.out:
        write_npz(run, points, normals=normals, distance=d, sources=sources,
                  t=float(solver.t_), k=a.k)
    if a.ply:
        from ..plot import colorize

        write_ply(run, points, {"geodesic_distance": d}, normals=normals, colors=colorize(d))
    if a.png:
        from ..plot import render_fields

        _render(run, render_fields, points, {"geodesic distance": d}, normals=normals,
                markers=sources, suptitle=f"{run.path.name}: geodesic distance from "
                                          f"{len(sources)} source(s) (stars; hollow: hidden)")
    return run.finish()


def _cmd_curvature(run):
    from .. import curvature

    a = run.args
    geom = _read(run)
    orient = None if a.orient == "none" else ("mst" if a.orient == "auto" else a.orient)
    res = run.timed("operator", curvature, geom, k=a.k, order=a.order, workers=a.workers,
                    orient=orient, progress=run.progress)   # H's sign needs an orientation
    points = np.asarray(_points(run, geom))
    run.options(order=res.order, k=res.k, workers=a.workers, orient=orient)
    run.note(f"{len(points)} points, k = {res.k}, height-fit order {res.order}; mean "
             "curvature H > 0 where the surface bends away from its normal")
    run.result("n_points", len(points))
    for label, v, key in (("H (mean)", res.mean, "mean_curvature"),
                          ("K (Gaussian)", res.gaussian, "gaussian_curvature"),
                          ("k1", res.k1, "k1"), ("k2", res.k2, "k2"),
                          ("fit residual", res.residual, "residual")):
        run.stat(label, v, key)
    fields = {"mean_curvature": res.mean, "gaussian_curvature": res.gaussian, "k1": res.k1,
              "k2": res.k2, "curvature_residual": res.residual}
    if a.out:
        write_npz(run, points, normals=res.normals, dir1=res.dir1, dir2=res.dir2,
                  condition=res.condition, k=res.k, order=res.order, **fields)
    if a.ply:
        from ..plot import colorize

        write_ply(run, points, {**fields, "dir1": res.dir1, "dir2": res.dir2},
                  normals=res.normals, colors=colorize(_clipped(res.mean)))
    if a.png:
        from ..plot import render_fields

        _render(run, render_fields, points,
                {"mean curvature H (2-98 %)": _clipped(res.mean),
                 "Gaussian curvature K (2-98 %)": _clipped(res.gaussian)},
                normals=res.normals, suptitle=f"{run.path.name}: curvature")
    return run.finish()


def _points(run, geom):
    from ..sampling.adapters import as_points

    return as_points(geom)


def hks_columns(times):
    """Column names ``hks_t<time>`` for the HKS times.

    Parameters
    ----------
    times : array_like of float
        Positive diffusion times.

    Returns
    -------
    names : list of str
        4 significant digits written out without an exponent (``hks_t0.01``,
        ``hks_t0.0001234``, ``hks_t431``); more digits where two times would share a
        name.

    Raises
    ------
    ValueError
        Two times are equal.

    Examples
    --------
    >>> hks_columns([0.01, 431.2, 1.23456e-4])
    ['hks_t0.01', 'hks_t431.2', 'hks_t0.0001235']
    """
    for digits in range(4, 18):
        names = ["hks_t" + np.format_float_positional(float(t), precision=digits, unique=True,
                                                     fractional=False, trim="-")
                 for t in times]
        if len(set(names)) == len(names):
            return names
    raise ValueError(f"`--times` must be distinct; got {list(times)}")


def _cmd_hks(run):
    from .. import heat_kernel_signature, spectrum

    a = run.args
    geom = _read(run)
    orient = _orient(run, writes=_writes(a))
    res = run.timed("spectrum", spectrum, geom, a.modes, k=a.k, workers=a.workers,
                    orient=orient, progress=run.progress)
    vals, vecs = np.asarray(res.values), np.asarray(res.vectors)
    positive = vals[vals > 1e-8 * max(vals.max(), 1e-300)]
    if a.times is not None:
        times = np.asarray(a.times, dtype=float)
    else:
        if len(positive) < 2:
            raise ValueError("`--modes` gives fewer than two nonzero eigenvalues; raise "
                             "--modes or give --times")
        # from where the highest mode has decayed to where the first has (Sun et al.)
        times = np.geomspace(4 * np.log(10) / positive.max(), 4 * np.log(10) / positive.min(),
                             a.n_times)
    names = hks_columns(times)
    hks = np.asarray(run.timed("apply", heat_kernel_signature, vals, vecs, times))
    points = np.asarray(_points(run, geom))
    run.options(modes=a.modes, times=a.times, n_times=a.n_times, k=a.k, workers=a.workers,
                orient=orient)
    run.note(f"{len(points)} points, {len(vals)} modes (weak form); {len(times)} times "
             f"{times[0]:.3g} .. {times[-1]:.3g}")
    run.result("n_points", len(points))
    run.result("n_modes", len(vals))
    run.result("times", times)
    run.result("columns", names)
    run.result("hks", [run.stat(f"HKS t={t:.4g}", hks[:, j]) for j, t in enumerate(times)])
    columns = dict(zip(names, hks.T))
    if a.out:
        write_npz(run, points, hks=hks, hks_times=times, hks_columns=np.asarray(names),
                  eigenvalues=vals)
    if a.ply:
        from ..plot import colorize

        write_ply(run, points, columns, colors=colorize(np.log(hks[:, len(times) // 2])))
    if a.png:
        from ..plot import render_fields

        shown, flat = _hks_panels(hks, times)
        title = f"{run.path.name}: heat kernel signature"
        if flat:
            text = ", ".join(f"{times[j]:.3g}" for j in flat)
            run.note(f"{'not drawn':<16}: t = {text} (HKS nearly constant over the points)")
            title += f" (t = {text} not drawn: nearly constant)"
        # one colour map for all panels, and 1-99 % limits: the heat stays on tiny
        # separate pieces, whose extreme values would otherwise set the scale
        _render(run, render_fields, points, shown, cmap="viridis", clip=1.0, suptitle=title)
    return run.finish()


#: an HKS column whose 1-99 % spread is below this fraction of its median is drawn
#: as constant: at late times only the constant mode 1/area is left
FLAT_HKS = 1e-3


def _hks_panels(hks, times):
    """The picture's panels ``{"log HKS, t = …": log hks}``: the first, middle and last
    time, a nearly constant time replaced by the latest time that is not; and the
    indices of the constant times left out."""
    lo, mid, hi = np.nanpercentile(hks, [1.0, 50.0, 99.0], axis=0)
    flat = (hi - lo) <= FLAT_HKS * np.abs(mid)
    picked = []
    for j in (0, len(times) // 2, len(times) - 1):
        if flat[j]:
            later = [i for i in range(j, -1, -1) if not flat[i]]
            j = later[0] if later else j
        if j not in picked and not flat[j]:
            picked.append(j)
    picked = sorted(picked) or [0]
    left_out = [j for j in sorted({0, len(times) // 2, len(times) - 1}) if flat[j]]
    return {f"log HKS, t = {times[j]:.3g}": np.log(hks[:, j]) for j in picked}, left_out


def _cmd_smooth(run):
    from .. import denoise_points, smooth_field

    a = run.args
    geom = _read(run)
    points = np.asarray(_points(run, geom))
    run.options(iterations=a.iterations, field=a.field,
                how=a.how if a.field is not None else None, k=a.k, workers=a.workers,
                orient=None)
    run.result("n_points", len(points))
    if a.field is not None:
        f = _field(a.field, points, geom)
        name = field_name(a.field, geom)
        g = np.asarray(run.timed("apply", smooth_field, geom, f, method=a.how,
                                 iterations=a.iterations, k=a.k, workers=a.workers))
        run.note(f"{len(points)} points; field {a.field!r} smoothed ({a.how}, "
                 f"{a.iterations} iterations); columns {name}, {name}_smoothed")
        run.result("mode", "field")
        run.result("spacing", None)
        run.result("displacement_over_spacing", None)
        run.result("field_name", name)
        run.stat("field", f, "field")
        run.stat("smoothed", g, "smoothed")
        cols = {name: f, f"{name}_smoothed": g}
        arrays = {"field": f, "smoothed": g, "field_name": name}
        shown, out_points, positions = cols, points, None
    else:
        out_points = np.asarray(run.timed("apply", denoise_points, geom,
                                          iterations=a.iterations, k=a.k, workers=a.workers))
        move = np.linalg.norm(out_points - points, axis=1)
        from scipy.spatial import cKDTree

        h = float(np.median(cKDTree(points).query(points, 2)[0][:, 1]))
        run.note(f"{len(points)} points moved along their normals onto local fits "
                 f"(k = {a.k}, {a.iterations} iterations); spacing h = {h:.3g}")
        run.result("mode", "points")
        run.result("spacing", h)
        run.stat("displacement/h", move / h if h > 0 else move, "displacement_over_spacing")
        for key in ("field_name", "field", "smoothed"):
            run.result(key, None)
        cols = arrays = {"displacement": move}
        # before and after side by side, both coloured by how far each point moved
        shown = {"before (input points)": move, "after (smoothed points)": move}
        positions = {"after (smoothed points)": out_points}
    if a.out:
        write_npz(run, out_points, **arrays)
    if a.ply:
        write_ply(run, out_points, cols)
    if a.png:
        from ..plot import render_fields

        what = "field before and after" if a.field is not None else \
            "points before and after, coloured by the displacement"
        # before and after on one colour scale, so the panels compare
        _render(run, render_fields, points, shown, positions=positions, limits="shared",
                cmap=None if a.field is not None else "viridis",
                suptitle=f"{run.path.name}: smooth ({what})")
    return run.finish()
