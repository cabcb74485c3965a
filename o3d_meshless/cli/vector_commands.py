"""The tangent-vector-field subcommands: ``logmap`` and ``transport`` (vector heat method)."""
from __future__ import annotations

import argparse

import numpy as np

from .outputs import write_npz, write_ply
from .run import _read, _render


def _writes(a):
    return bool(a.png or a.ply or a.out)


def _orient(run):
    # a vector field needs oriented normals: 'auto' and 'none' both mean 'mst' here
    o = run.args.orient
    return "mst" if o in ("auto", "none") else o


def _vector(text):
    try:
        vals = [float(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        vals = []
    if len(vals) != 3 or not all(np.isfinite(vals)):
        raise argparse.ArgumentTypeError(f"must be three numbers X,Y,Z like 1,0,0; got "
                                         f"{text!r}")
    return vals


def _solver(run):
    from .. import VectorHeat

    a = run.args
    geom = _read(run)
    solver = VectorHeat(t_factor=a.t_factor, k=a.k, workers=a.workers, orient=_orient(run))
    run.timed("operator", solver.fit, geom)
    return solver


def _common_results(run, solver):
    points = np.asarray(solver.points_)
    run.note(f"{len(points)} points, k = {run.args.k}; vector heat method, t = "
             f"{solver.t_:.3g} ({run.args.t_factor:g} h², h = {solver.spacing_:.3g})")
    run.result("n_points", len(points))
    run.result("t", float(solver.t_))
    run.result("spacing", float(solver.spacing_))
    return points


def _cmd_logmap(run):
    from ..toolkit.geodesic import check_sources

    a = run.args
    solver = _solver(run)
    if len(a.source) != 1:
        raise ValueError(f"`--source` of logmap must be one point index; got "
                         f"{len(a.source)} ({','.join(map(str, a.source))})")
    src = int(check_sources(a.source, len(solver.points_), name="--source")[0])
    uv = np.asarray(run.timed("apply", solver.log_map, src), dtype=np.float64)
    axis = solver.transport_vectors(src, solver.frames_[src, 0])    # the u axis, carried
    run.options(source=a.source, t_factor=a.t_factor, k=a.k, workers=a.workers,
                orient=_orient(run))
    points = _common_results(run, solver)
    r = np.hypot(uv[:, 0], uv[:, 1])
    run.line(f"{'source':<16}: {src}")
    run.result("source", src)
    run.stat("distance", r, "distance")
    run.stat("u", uv[:, 0], "u")
    run.stat("v", uv[:, 1], "v")
    run.result("n_unreachable", int((~np.isfinite(r)).sum()))
    normals = solver.frames_[:, 2]
    if a.out:
        write_npz(run, points, normals=normals, logmap=uv, distance=r, source=src,
                  u_axis=axis, frame=solver.frames_[src], t=float(solver.t_), k=a.k)
    if a.ply:
        from ..plot import colorize

        write_ply(run, points, {"logmap_u": uv[:, 0], "logmap_v": uv[:, 1],
                                "logmap_distance": r}, normals=normals, colors=colorize(r))
    if a.png:
        from ..plot import render_fields

        _render(run, render_fields, points, {"log map u": uv[:, 0], "log map v": uv[:, 1]},
                normals=normals, vectors=axis, markers=[src],
                suptitle=f"{run.path.name}: log map from point {src} (arrows: its u axis "
                         "carried by parallel transport)")
    return run.finish()


def _cmd_transport(run):
    from ..toolkit.geodesic import check_sources

    a = run.args
    solver = _solver(run)
    n = len(solver.points_)
    src = check_sources(a.source, n, name="--source")
    if len(src) != len(a.source):
        raise ValueError("`--source` must not repeat a point (each source has one vector)")
    src = np.asarray(a.source, dtype=np.intp)
    frames = solver.frames_[src]
    if a.vector is None:
        vectors = frames[:, 0]
    else:   # the direction given, projected onto each source's tangent plane
        v = np.asarray(a.vector, dtype=np.float64)
        vectors = v - (frames[:, 2] @ v)[:, None] * frames[:, 2]
        short = np.linalg.norm(vectors, axis=1) < 1e-6 * max(np.linalg.norm(v), 1e-300)
        if short.any():
            raise ValueError(f"`--vector` is normal to the surface at source(s) "
                             f"{src[short][:5].tolist()}: it has no tangent direction "
                             "there; give another direction")
    V = np.asarray(run.timed("apply", solver.transport_vectors, src, vectors),
                   dtype=np.float64)
    run.options(source=a.source, vector=a.vector, t_factor=a.t_factor, k=a.k,
                workers=a.workers, orient=_orient(run))
    points = _common_results(run, solver)
    length = np.linalg.norm(V, axis=1)
    run.line(f"{'sources':<16}: {', '.join(map(str, src.tolist()))}")
    run.result("sources", src)
    run.stat("length", length, "length")
    run.result("n_unreachable", int((~np.isfinite(length)).sum()))
    normals = solver.frames_[:, 2]
    if a.out:
        write_npz(run, points, normals=normals, vectors=V, sources=src,
                  source_vectors=vectors, t=float(solver.t_), k=a.k)
    if a.ply:
        from ..plot import colorize

        write_ply(run, points, {"transport_0": V[:, 0], "transport_1": V[:, 1],
                                "transport_2": V[:, 2]}, normals=normals,
                  colors=colorize(length))
    if a.png:
        from ..plot import render_fields

        # colour: how far transport turned the vectors away from the (first) source
        # vector's direction in space (the length is constant for one source)
        ref = vectors[0] / np.linalg.norm(vectors[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = V @ ref / length
        _render(run, render_fields, points, {"cos(vector, source vector)": cos},
                normals=normals, vectors=V, markers=src,
                suptitle=f"{run.path.name}: parallel transport from {len(src)} source(s) "
                         "(stars)")
    return run.finish()


def add_vector_commands(sub, parents, *, source_option, neighbourhood_options, outputs):
    """The ``logmap`` and ``transport`` subparsers (the shared option helpers passed in)."""
    from ..vector_fields.vector_heat import VECTOR_T_FACTOR

    p = sub.add_parser("logmap", parents=parents, help="logarithmic map (vector heat)",
                       description="Logarithmic map from one source point: 2-D coordinates "
                                   "of every point in the source's tangent plane (geodesic "
                                   "distance and direction), by the vector heat method "
                                   "(Sharp et al. 2019) on the symmetric weak form.")
    source_option(p, many=False)
    _t_factor(p, VECTOR_T_FACTOR)
    neighbourhood_options(p, 16, "neighbours per point (default: %(default)s)")
    outputs(p, "points, normals, logmap (n, 2), distance, source, frame (the source's "
               "t_u, t_v, n rows), u_axis (t_u carried to every point), t",
            "points with columns logmap_u, logmap_v, logmap_distance",
            "u and v with the carried u axis as arrows")
    p.set_defaults(func=_cmd_logmap)

    p = sub.add_parser("transport", parents=parents, help="parallel transport (vector heat)",
                       description="Parallel transport of a tangent vector from one or more "
                                   "source points to every point (vector heat method); "
                                   "lengths are blended between sources.")
    source_option(p)
    p.add_argument("--vector", type=_vector, default=None, metavar="X,Y,Z",
                   help="direction at the sources, projected onto each source's tangent "
                        "plane (default: each source's first tangent axis t_u)")
    _t_factor(p, VECTOR_T_FACTOR)
    neighbourhood_options(p, 16, "neighbours per point (default: %(default)s)")
    outputs(p, "points, normals, vectors (n, 3), sources, source_vectors, t",
            "points with columns transport_0..2",
            "the vectors as arrows over the cosine of their angle with the source vector")
    p.set_defaults(func=_cmd_transport)


def _t_factor(p, default):
    p.add_argument("--t-factor", type=float, default=default, metavar="F",
                   help="vector heat step t = F h^2, h = mean point spacing (default: "
                        "%(default)s)")
