"""Many modes: one Lanczos run against slices of the spectrum, time and peak memory.

``om.LaplaceBeltrami(form="weak").fit(points).spectrum(n_modes)`` on i.i.d. unit-sphere
points, once as the package runs it when the memory suffices (one shift-invert Lanczos
run) and once forced into slices of ``--slice`` modes
(``operators.spectrum_slicing``, which the package takes by itself only when one run
would not fit). Each variant runs in its own process, so the peak resident memory
(``ru_maxrss``, build included) is its own. Prints one markdown table with the build
time, the solve time, its ratio to the build, the peak per point and the mean relative
error of modes 1.. against l(l+1).

    python benchmarks/bench_spectrum_slices.py --n 1e5 --modes 200
    python benchmarks/bench_spectrum_slices.py --n 1e6 --modes 200     # about 25 min
    python benchmarks/bench_spectrum_slices.py --n 1e6 --modes 200 --factor superlu

With cholespy installed the factor is CHOLMOD's and every slice shares it (locked
slices, ``spectrum_slicing.locked_eigenpairs``); ``--factor superlu`` gives the SuperLU
path, one factor per shifted slice (``spectrum_slicing.sliced_eigenpairs``).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def one(n, n_modes, slice_modes, factor):
    """Child process: build and solve, print a JSON line."""
    import o3d_meshless as om
    from o3d_meshless.operators import solve_memory
    from o3d_meshless.testing import random_sphere

    from o3d_meshless.operators import spectra
    if factor == "superlu":
        spectra.has_cholesky = lambda: False
    cholesky = spectra.has_cholesky()
    if slice_modes:                              # force slices: report the memory short
        solve_memory.available_bytes = lambda: solve_memory.solve_bytes(
            n, n_modes, slice_modes=slice_modes, cholesky=cholesky)
    points = random_sphere(n, seed=0)
    t = time.perf_counter()
    op = om.LaplaceBeltrami(form="weak", progress=False).fit(points)
    build = time.perf_counter() - t
    t = time.perf_counter()
    result = op.spectrum(n_modes)
    solve = time.perf_counter() - t
    degree = np.floor(np.sqrt(np.arange(n_modes) + 1e-9))
    exact = degree * (degree + 1)
    error = float(np.mean(np.abs(result.values[1:] - exact[1:]) / exact[1:]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"build": build, "solve": solve, "peak": peak, "error": error,
                      "defect": result.report.orthogonality_defect}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=float, default=1e5)
    ap.add_argument("--modes", type=int, default=200)
    ap.add_argument("--slice", type=int, default=60, help="modes per slice")
    ap.add_argument("--factor", choices=("auto", "superlu"), default="auto",
                    help="auto: CHOLMOD when cholespy is installed (slices then share one "
                         "factor, locked), else SuperLU (a factor per shifted slice)")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    n = int(args.n)
    if args.child is not None:
        one(n, args.modes, args.child, args.factor)
        return
    rows = []
    for label, slice_modes in (("one Lanczos run", 0), (f"slices of {args.slice}", args.slice)):
        run = subprocess.run([sys.executable, __file__, "--n", str(n), "--modes",
                              str(args.modes), "--factor", args.factor,
                              "--child", str(slice_modes)],
                             capture_output=True, text=True)
        if run.returncode:
            sys.exit(f"{label} failed:\n{run.stderr}")
        rows.append((label, json.loads(run.stdout.strip().splitlines()[-1])))
        print(f"  done: {label}", file=sys.stderr, flush=True)
    print(f"\n{n} i.i.d. sphere points, {args.modes} modes, weak form, one process each\n")
    print("| solve | build s | solve s | solve / build | peak KiB/point | mean error | "
          "max|VᵀMV − I| |")
    print("|---|---|---|---|---|---|---|")
    for label, r in rows:
        print(f"| {label} | {r['build']:.1f} | {r['solve']:.1f} | "
              f"{r['solve'] / r['build']:.1f} | {r['peak'] / n / 1024:.2f} | "
              f"{r['error']:.2e} | {r['defect']:.1e} |")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
