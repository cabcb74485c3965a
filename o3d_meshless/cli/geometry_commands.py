"""The geometry-toolkit subcommands: ``geodesic``, ``curvature``, ``hks`` and ``smooth``."""
from __future__ import annotations

import numpy as np

from .fields import _field
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
    from ..geodesic import check_sources
    from ..io import save_npz, save_ply

    a = run.args
    geom = _read(run)
    solver = HeatGeodesics(t=a.t, boundary=a.boundary, k=a.k, workers=a.workers,
                           orient=_orient(run, writes=_writes(a)))
    run.timed("operator", solver.fit, geom)
    points = np.asarray(solver.points_)
    sources = check_sources(a.source, len(points), name="--source")
    d = np.asarray(run.timed("apply", solver.distance, sources))
    reach = np.isfinite(d)
    run.note(f"{len(points)} points, k = {a.k}; heat method, t = {solver.t_:.3g} "
             f"({solver.t_ / solver.spacing_ ** 2:.2g} h², h = {solver.spacing_:.3g})")
    run.line(f"{'sources':<16}: {', '.join(map(str, sources.tolist()))}")
    run.stat("distance", d[reach])
    if not reach.all():
        run.line(f"{'unreachable':<16}: {int((~reach).sum())} points (pieces without a "
                 "source; stored as NaN in --ply, inf in --out)")
    normals = np.asarray(solver.normals_)
    if a.out:
        run.timed("write", save_npz, run.output(a.out, ".npz"), points=points,
                  normals=normals, distance=d, sources=sources, t=float(solver.t_),
                  k=a.k, input=str(run.path))
    if a.ply:
        from ..plot import colorize

        shown = np.where(reach, d, np.nan)
        run.timed("write", save_ply, run.output(a.ply, ".ply"), points,
                  {"geodesic_distance": np.nan_to_num(shown, nan=-1.0)}, normals=normals,
                  colors=colorize(np.where(reach, d, np.nanmax(shown) if reach.any() else 0)))
    if a.png:
        from ..plot import render_fields

        _render(run, render_fields, points, {"geodesic distance": np.where(reach, d, np.nan)},
                normals=normals, suptitle=f"{run.path.name}: geodesic distance from "
                                          f"{len(sources)} source(s)")
    return run.finish()


def _cmd_curvature(run):
    from .. import curvature
    from ..io import save_npz, save_ply

    a = run.args
    geom = _read(run)
    res = run.timed("operator", curvature, geom, k=a.k, order=a.order, workers=a.workers,
                    orient=None if a.orient == "none" else
                    ("mst" if a.orient == "auto" else a.orient))   # H's sign needs it
    points = np.asarray(_points(run, geom))
    run.note(f"{len(points)} points, k = {res.k}, height-fit order {res.order}; mean "
             "curvature H > 0 where the surface bends away from its normal")
    for name, v in (("H (mean)", res.mean), ("K (Gaussian)", res.gaussian),
                    ("k1", res.k1), ("k2", res.k2), ("fit residual", res.residual)):
        run.stat(name, v)
    fields = {"mean_curvature": res.mean, "gaussian_curvature": res.gaussian, "k1": res.k1,
              "k2": res.k2, "curvature_residual": res.residual}
    if a.out:
        run.timed("write", save_npz, run.output(a.out, ".npz"), points=points,
                  normals=res.normals, dir1=res.dir1, dir2=res.dir2,
                  condition=res.condition, k=res.k, order=res.order, input=str(run.path),
                  **fields)
    if a.ply:
        from ..plot import colorize

        run.timed("write", save_ply, run.output(a.ply, ".ply"), points,
                  {**fields, "dir1": res.dir1, "dir2": res.dir2}, normals=res.normals,
                  colors=colorize(_clipped(res.mean)))
    if a.png:
        from ..plot import render_fields

        _render(run, render_fields, points,
                {"mean curvature H (2-98 %)": _clipped(res.mean),
                 "Gaussian curvature K (2-98 %)": _clipped(res.gaussian)},
                normals=res.normals, suptitle=f"{run.path.name}: curvature")
    return run.finish()


def _points(run, geom):
    from ..adapters import as_points

    return as_points(geom)


def _cmd_hks(run):
    from .. import heat_kernel_signature, spectrum
    from ..io import save_npz, save_ply

    a = run.args
    geom = _read(run)
    res = run.timed("spectrum", spectrum, geom, a.modes, k=a.k, workers=a.workers,
                    orient=_orient(run, writes=_writes(a)), progress=run.progress)
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
    hks = np.asarray(run.timed("apply", heat_kernel_signature, vals, vecs, times))
    points = np.asarray(_points(run, geom))
    run.note(f"{len(points)} points, {len(vals)} modes (weak form); {len(times)} times "
             f"{times[0]:.3g} .. {times[-1]:.3g}")
    for j in sorted({0, len(times) // 2, len(times) - 1}):
        run.stat(f"HKS t={times[j]:.3g}", hks[:, j])
    columns = {f"hks_{j}": hks[:, j] for j in range(len(times))}
    if a.out:
        run.timed("write", save_npz, run.output(a.out, ".npz"), points=points,
                  hks=hks, hks_times=times, eigenvalues=vals, input=str(run.path))
    if a.ply:
        from ..plot import colorize

        run.timed("write", save_ply, run.output(a.ply, ".ply"), points, columns,
                  colors=colorize(np.log(hks[:, len(times) // 2])))
    if a.png:
        from ..plot import render_fields

        shown = {f"log HKS, t = {times[j]:.3g}": np.log(hks[:, j])
                 for j in sorted({0, len(times) // 2, len(times) - 1})}
        _render(run, render_fields, points, shown, suptitle=f"{run.path.name}: heat kernel "
                                                            "signature")
    return run.finish()


def _cmd_smooth(run):
    from .. import denoise_points, smooth_field
    from ..io import save_npz, save_ply

    a = run.args
    geom = _read(run)
    points = np.asarray(_points(run, geom))
    if a.field is not None:
        f = _field(a.field, points, geom)
        g = np.asarray(run.timed("apply", smooth_field, geom, f, method=a.how,
                                 iterations=a.iterations, k=a.k, workers=a.workers))
        run.note(f"{len(points)} points; field {a.field!r} smoothed ({a.how}, "
                 f"{a.iterations} iterations)")
        run.stat("field", f)
        run.stat("smoothed", g)
        cols, shown, out_points = {"field": f, "smoothed": g}, {"field": f, "smoothed": g}, points
    else:
        out_points = np.asarray(run.timed("apply", denoise_points, geom,
                                          iterations=a.iterations, k=a.k, workers=a.workers))
        move = np.linalg.norm(out_points - points, axis=1)
        from scipy.spatial import cKDTree

        h = float(np.median(cKDTree(points).query(points, 2)[0][:, 1]))
        run.note(f"{len(points)} points moved along their normals onto local fits "
                 f"(k = {a.k}, {a.iterations} iterations); spacing h = {h:.3g}")
        run.stat("displacement/h", move / h if h > 0 else move)
        cols, shown = {"displacement": move}, {"displacement": move}
    if a.out:
        run.timed("write", save_npz, run.output(a.out, ".npz"), points=out_points,
                  input=str(run.path), **cols)
    if a.ply:
        run.timed("write", save_ply, run.output(a.ply, ".ply"), out_points, cols)
    if a.png:
        from ..plot import render_fields

        _render(run, render_fields, out_points, shown, suptitle=f"{run.path.name}: smooth")
    return run.finish()
