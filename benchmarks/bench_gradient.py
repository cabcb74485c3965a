"""Gradient accuracy per second: surface-gradient error against build time, per setting.

For each setting of :class:`o3d_meshless.SurfaceGradient` (method, order, ``k``,
``weights``) and each shape, prints the build time (``fit``, best of ``--repeat``) and
the error of ``∇_S f`` for a smooth test function

    f(x, y, z) = sin(2x + 1) cos(3y) + x z,

whose exact surface gradient is ``∇f − (∇f · n) n``: the relative RMS error over all
points and its 99th percentile, in %, the rows the guard recomputed and those that still
fail it (kept, and reported by a warning in normal use). Normals are estimated from the points (the
operator's default), as a user without normals would have them. Shapes, ``--n`` i.i.d.
points each:

* the ellipsoid (1, 0.6, 0.3) (exact normals for the reference gradient);
* Spot and the closed Stanford bunny, each Loop-subdivided three times and scaled to
  unit area, sampled uniformly by area (the subdivided mesh's face normals for the
  reference gradient: the surface sampled is that piecewise-flat mesh).

``*`` marks the settings on the accuracy-per-time frontier of each shape (no other
setting is both faster and more accurate). Exact samples favour high orders; noisy
ones do not (``benchmarks/bench_noise.py``: with position noise above about 0.1 % of
the spacing, order 2 is the more accurate).

Run: ``python benchmarks/bench_gradient.py`` (about 2 minutes on 2 cores);
``--n 5000 --no-real`` for a quick look. Timings are from one machine and one run:
compare ratios.
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

import o3d_meshless as om
from o3d_meshless.testing import ELLIPSOID_AXES, random_ellipsoid

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: (label, SurfaceGradient options); the first is the default
CONFIGS = [
    ("taylor 2, k 16 (default)", {}),
    ("taylor 1, k 8", {"order": 1, "k": 8}),
    ("taylor 1, k 16", {"order": 1}),
    ("taylor 2, k 24", {"order": 2, "k": 24}),
    ("taylor 2, k 16, weights 2", {"order": 2, "weights": 2}),
    ("taylor 3, k 16", {"order": 3}),
    ("taylor 3, k 20", {"order": 3, "k": 20}),
    ("taylor 3, k 30", {"order": 3, "k": 30}),
    ("taylor 3, k 30, weights 2", {"order": 3, "k": 30, "weights": 2}),
    ("taylor 4, k 30", {"order": 4, "k": 30}),
    ("orthopoly 2, k 16", {"method": "orthopoly", "order": 2}),
    ("orthopoly 3, k 20", {"method": "orthopoly", "order": 3, "k": 20}),
    ("clsgsp 2, k 20", {"method": "clsgsp", "order": 2, "k": 20}),
]


def test_function(p):
    """``f`` and its ambient gradient ``∇f`` at points ``p`` (n, 3)."""
    x, y, z = p.T
    f = np.sin(2 * x + 1) * np.cos(3 * y) + x * z
    grad = np.c_[2 * np.cos(2 * x + 1) * np.cos(3 * y) + z,
                 -3 * np.sin(2 * x + 1) * np.sin(3 * y), x]
    return f, grad


def surface_gradient_reference(p, normals):
    f, grad = test_function(p)
    return f, grad - np.einsum("ij,ij->i", grad, normals)[:, None] * normals


def ellipsoid(n):
    p = random_ellipsoid(n)
    normals = p / np.asarray(ELLIPSOID_AXES) ** 2
    return p, normals / np.linalg.norm(normals, axis=1, keepdims=True)


def mesh_shape(path, n):
    from bench_weak_mass import sample, subdivided_mesh

    return sample(subdivided_mesh(path), n)


def timed_fit(opts, points, repeat):
    """(fitted operator, best build seconds); the guard's warning about rows that still
    fail is printed as the table's "failed" column instead."""
    best, op = np.inf, None
    for _ in range(repeat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            t = time.perf_counter()
            fitted = om.SurfaceGradient(progress=False, **opts).fit(points)
            best = min(best, time.perf_counter() - t)
        op = fitted
    return op, best


def table(name, points, normals, repeat):
    f, exact = surface_gradient_reference(points, normals)
    scale = np.sqrt(np.mean(np.sum(exact ** 2, axis=1)))
    rows = []
    for label, opts in CONFIGS:
        op, t = timed_fit(opts, points, repeat)
        err = np.linalg.norm(op.apply(f) - exact, axis=1) / scale
        rows.append((label, t, 100 * np.sqrt(np.mean(err ** 2)),
                     100 * np.quantile(err, 0.99), int(op.diagnostics_["guard_rows"]),
                     int(np.count_nonzero(op.diagnostics_["failed_mask"]))))
    by_time = sorted(rows, key=lambda r: r[1])
    frontier, best = set(), np.inf
    for label, _, rms, *_ in by_time:
        if rms < best:
            frontier.add(label)
            best = rms
    print(f"\n{name}, {len(points)} i.i.d. points, estimated normals; error of ∇_S f "
          "relative to its RMS (%)")
    head = (f"{'setting':<28} {'build s':>8} {'rms %':>9} {'p99 %':>9} {'guard rows':>11}"
            f" {'failed':>7}  frontier")
    print(head)
    print("-" * len(head))
    for label, t, rms, p99, guard, failed in rows:
        print(f"{label:<28} {t:>8.2f} {rms:>9.4f} {p99:>9.4f} {guard:>11} {failed:>7}  "
              f"{'*' if label in frontier else ''}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="points per shape (default %(default)s)")
    ap.add_argument("--repeat", type=int, default=1, help="timed builds per setting")
    ap.add_argument("--no-real", action="store_true", help="skip Spot and the bunny")
    args = ap.parse_args(argv)
    om.SurfaceGradient(progress=False).fit(random_ellipsoid(500))   # warm-up: imports, OpenMP
    table("Ellipsoid (1, 0.6, 0.3)", *ellipsoid(args.n), args.repeat)
    if not args.no_real:
        for name, file in (("Spot, Loop x3", "spot_triangulated.obj"),
                           ("Bunny (bunny.off), Loop x3", "bunny.off")):
            path = DATA / file
            if not path.is_file():
                print(f"\n({path} not found: {name} skipped)")
                continue
            table(name, *mesh_shape(path, args.n), args.repeat)


if __name__ == "__main__":
    main()
