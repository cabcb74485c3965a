"""Cost of seed 003's CLS-GSP stencils against the Taylor default, on the same points.

Prints one table: for an i.i.d. random unit sphere of each size, the wall time of
``LaplaceBeltrami(method=...).fit`` (best of ``--repeat``), its stencil stage, the rows
the guard recomputed, and the ratio CLS-GSP / Taylor; then the seed's §4.4 Poisson disc
(3159 interior + 1841 boundary nodes) solved with each method, with time and L∞ error.

    python benchmarks/bench_gsp.py                  # sizes 1e4, 1e5, 2e5
    python benchmarks/bench_gsp.py --sizes 1e4 --repeat 1
"""
import argparse
import os
import time
import warnings

import numpy as np

import o3d_meshless as om
from o3d_meshless.testing import disc_domain, poisson_exact, random_sphere

METHODS = ("taylor", "clsgsp")


def best_fit(method, points, repeat):
    """(best wall seconds, fitted operator of that run) of ``LaplaceBeltrami.fit``."""
    best, op = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        fitted = om.LaplaceBeltrami(method=method, progress=False).fit(points)
        dt = time.perf_counter() - t0
        if dt < best:
            best, op = dt, fitted
    return best, op


def surface_table(sizes, repeat):
    print(f"{'N':>8} {'method':>8} {'build s':>9} {'stencils s':>11} {'guard rows':>11} "
          f"{'ratio':>6}")
    for n in sizes:
        p = random_sphere(n)
        base = None
        for method in METHODS:
            t, op = best_fit(method, p, repeat)
            base = t if base is None else base
            d = op.diagnostics_
            print(f"{n:>8} {method:>8} {t:>9.2f} {d['timings']['stencils']:>11.2f} "
                  f"{d['guard_rows']:>11} {t / base:>6.2f}")


def poisson_table(repeat):
    p, b = disc_domain(3159, 1841)
    f, g, exact = poisson_exact.laplacian(p), poisson_exact(b), poisson_exact(p)
    print(f"\nPoisson disc (N = {len(p)}, Nb = {len(b)}), k = 60")
    print(f"{'method':>8} {'solve s':>9} {'L_inf':>9}")
    for method, opts in (("taylor", {}), ("clsgsp", {}), ("taylor", {"order": 4, "k": 30})):
        best = np.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            sol = om.solve_poisson(p, f, boundary=b, g=g, method=method, **opts)
            best = min(best, time.perf_counter() - t0)
        label = method + (f" o{opts['order']}" if opts else "")
        print(f"{label:>8} {best:>9.2f} {np.abs(sol.u - exact).max():>9.2e}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e4,1e5,2e5",
                    help="comma-separated sphere sizes (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per case, best kept")
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        surface_table(sizes, args.repeat)
        poisson_table(args.repeat)


if __name__ == "__main__":
    main()
