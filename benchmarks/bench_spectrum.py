"""Spectra: the weak form against the strong form and robust-laplacian, same points.

Prints three markdown tables, every number from this one run:

1. **Speed** (i.i.d. unit sphere, ``--speed-n`` points, default 1e5): build time and
   50-mode solve time of ``LaplaceBeltrami(form="weak")`` (``K v = λ M v``, eigsh),
   of the strong form's ``spectrum(50)`` (eigs), and of
   ``robust_laplacian.point_cloud_laplacian(points, n_neighbors=30)`` followed by
   ``eigsh(L, 50, M, sigma=-1e-3)``. One BLAS thread around every eigen-solve.
2. **Sphere accuracy and order**: ``E2(1)`` and ``E2(6)`` (RMS relative error of the
   2l+1 eigenvalues of degree l against l(l+1)) on i.i.d. and Fibonacci points at
   4 000 and 16 000 points (``--full`` adds 64 000), and the observed order in h
   between consecutive sizes.
3. **Ellipsoid**: mean and max relative error of modes 1–30 against the converged
   reference ``../shared/data/ellipsoid_lb_eigenvalues.txt``, 20 000 i.i.d.
   area-uniform points.

4. **Scale** (``--scale-n``, e.g. 1e6; off by default): one fresh process per row, so
   that each peak is its own. ``LaplaceBeltrami(form="weak").fit(points).spectrum(modes)``
   with the shifted matrix factorised by CHOLMOD (cholespy, when installed) and by
   SuperLU, and robust-laplacian's build + ``eigsh``: build, solve, solve / build and
   peak resident memory per point (the build included).

Run from the repository root (about 5 minutes on 2 cores; ``--full`` about 15)::

    python benchmarks/bench_spectrum.py
    python benchmarks/bench_spectrum.py --speed-n 200000 --full
    python benchmarks/bench_spectrum.py --only scale --scale-n 1e6 --modes 50   # ~8 min
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse.linalg as sla

import o3d_meshless as om
from o3d_meshless.operators.spectra import _blas_single_thread
from o3d_meshless.testing import (fibonacci_sphere, observed_order, random_ellipsoid,
                                  random_sphere, sphere_eigenvalue_errors)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PEER_SIGMA = -1e-3


def peer():
    try:
        import robust_laplacian
    except ImportError:
        return None
    return robust_laplacian


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def peer_spectrum(rl, points, n_modes):
    (L, M), t_build = timed(rl.point_cloud_laplacian, points, n_neighbors=30)
    with _blas_single_thread():
        vals, t_solve = timed(sla.eigsh, L.tocsc(), n_modes, M.tocsc(), sigma=PEER_SIGMA,
                              which="LM", return_eigenvectors=False)
    return np.sort(vals), t_build, t_solve


def ours_spectrum(points, n_modes, **options):
    op, t_build = timed(om.LaplaceBeltrami(**options).fit, points)
    result, t_solve = timed(op.spectrum, n_modes)
    return result, t_build, t_solve


def table(title, header, rows):
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |", flush=True)


def speed(args, rl):
    p = random_sphere(args.speed_n, seed=1)
    rows = []
    res, tb, ts = ours_spectrum(p, args.modes, form="weak")
    rows.append(["ours weak (K, M; eigsh)", f"{tb:.1f}", f"{ts:.1f}", f"{tb + ts:.1f}",
                 f"{res.report.orthogonality_defect:.0e}"])
    weak_total = tb + ts
    if not args.no_strong:
        res, tb, ts = ours_spectrum(p, args.modes, form="strong")
        rows.append(["ours strong (L; eigs)", f"{tb:.1f}", f"{ts:.1f}", f"{tb + ts:.1f}",
                     f"{res.report.orthogonality_defect:.0e}"])
    if rl is not None:
        _, tb, ts = peer_spectrum(rl, p, args.modes)
        rows.append(["robust-laplacian (eigsh)", f"{tb:.1f}", f"{ts:.1f}", f"{tb + ts:.1f}",
                     "–"])
        rows.append(["ratio weak / robust-laplacian", "", "", f"{weak_total / (tb + ts):.2f}",
                     ""])
    table(f"Speed: i.i.d. unit sphere, {args.speed_n} points, {args.modes} modes (s)",
          ["operator", "build", "solve", "total", "max|VᵀMV−I|"], rows)


def sphere_accuracy(args, rl):
    sizes = (4000, 16000, 64000) if args.full else (4000, 16000)
    rows = []
    for sampling, make in (("i.i.d.", lambda n: random_sphere(n, seed=2)),
                           ("Fibonacci", fibonacci_sphere)):
        runs = {"ours weak": {"form": "weak"}, "ours strong": {"form": "strong"}}
        for name, opts in list(runs.items()) + ([("robust-laplacian", None)] if rl else []):
            errs = []
            for n in sizes:
                p = make(n)
                if opts is None:
                    vals = peer_spectrum(rl, p, 49)[0]
                else:
                    vals = ours_spectrum(p, 49, **opts)[0].values
                errs.append(sphere_eigenvalue_errors(vals))
            cells = [sampling, name]
            for n, e in zip(sizes, errs):
                cells.append(f"{e[0]:.1e} / {e[5]:.1e}")
            orders = [observed_order(errs[i], errs[i + 1], sizes[i], sizes[i + 1])
                      for i in range(len(sizes) - 1)]
            cells.append(", ".join(f"{np.median(o):.2f}" for o in orders))
            rows.append(cells)
    table("Unit sphere: E2(1) / E2(6) per size, and the observed order in h (median over "
          "l = 1..6)", ["sampling", "operator"] + [f"n = {n}" for n in sizes] + ["order"],
          rows)


def ellipsoid(args, rl):
    path = DATA / "ellipsoid_lb_eigenvalues.txt"
    if not path.is_file():
        print(f"\n(ellipsoid skipped: {path} not found)")
        return
    ref = np.loadtxt(path)[:31]
    p = random_ellipsoid(args.ellipsoid_n)
    rows = []
    for name, opts in (("ours weak", {"form": "weak"}), ("ours strong", {"form": "strong"}),
                       ("ours strong order 4, k 30", {"form": "strong", "order": 4, "k": 30}),
                       ("robust-laplacian", None)):
        if opts is None:
            if rl is None:
                continue
            vals, tb, ts = peer_spectrum(rl, p, 31)
        else:
            res, tb, ts = ours_spectrum(p, 31, **opts)
            vals = res.values
        rel = vals[1:31] / ref[1:31] - 1
        rows.append([name, f"{100 * np.abs(rel).mean():.3f}", f"{100 * np.abs(rel).max():.3f}",
                     f"{100 * rel.mean():+.3f}", f"{tb:.1f}", f"{ts:.1f}"])
    table(f"Ellipsoid (1, 0.6, 0.3), {args.ellipsoid_n} i.i.d. points, modes 1–30 vs the "
          "reference (%)", ["operator", "mean", "max", "signed mean", "build s", "solve s"],
          rows)


def scale_worker(variant, n, n_modes):
    """One row of the scale table, in this (fresh) process: prints a JSON line."""
    from o3d_meshless.operators import spectra
    p = random_sphere(n, seed=1)
    if variant == "robust-laplacian":
        vals, tb, ts = peer_spectrum(peer(), p, n_modes)
    else:
        if variant == "superlu":
            spectra.has_cholesky = lambda: False
        res, tb, ts = ours_spectrum(p, n_modes, form="weak", progress=False)
        vals = res.values
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    ell = np.floor(np.sqrt(np.arange(len(vals))))        # degree of each sphere mode
    exact = ell * (ell + 1)
    err = float(np.mean(np.abs(vals[1:] - exact[1:]) / exact[1:]))
    print(json.dumps({"build": tb, "solve": ts, "peak": peak, "err": err}), flush=True)


def scale(args):
    n = int(float(args.scale_n))
    from o3d_meshless.operators.sparse_solve import has_cholesky
    variants = (["cholmod"] if has_cholesky() else []) + ["superlu"]
    if peer() is not None and n <= 300_000:          # (its solve at 1e6: not run)
        variants.append("robust-laplacian")
    rows = []
    for variant in variants:
        out = subprocess.run([sys.executable, __file__, "--scale-worker", variant, str(n),
                              str(args.modes)], capture_output=True, text=True)
        if out.returncode:
            rows.append([variant, "failed", "", "", "", out.stderr.strip().splitlines()[-1]])
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append([variant, f"{r['build']:.1f}", f"{r['solve']:.1f}",
                     f"{r['solve'] / r['build']:.1f}", f"{r['peak'] / n:.0f}",
                     f"{r['err']:.2e}"])
    table(f"Scale: i.i.d. unit sphere, {n} points, {args.modes} modes, one process per row",
          ["factor", "build s", "solve s", "solve / build", "peak bytes / point",
           "mean rel. error vs l(l+1)"], rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed-n", type=int, default=100000)
    ap.add_argument("--modes", type=int, default=50)
    ap.add_argument("--ellipsoid-n", type=int, default=20000)
    ap.add_argument("--full", action="store_true", help="sphere sizes up to 64 000")
    ap.add_argument("--no-strong", action="store_true", help="skip the strong form's timing")
    ap.add_argument("--only", choices=("speed", "sphere", "ellipsoid", "scale"))
    ap.add_argument("--scale-n", default=None, help="points of the scale table (e.g. 1e6)")
    ap.add_argument("--scale-worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.scale_worker:
        variant, n, n_modes = args.scale_worker
        return scale_worker(variant, int(n), int(n_modes))
    rl = peer()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, Python "
          f"{platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}; "
          f"robust-laplacian {'installed' if rl else 'not installed'}")
    if args.only in (None, "speed"):
        speed(args, rl)
    if args.only in (None, "sphere"):
        sphere_accuracy(args, rl)
    if args.only in (None, "ellipsoid"):
        ellipsoid(args, rl)
    if args.scale_n is not None and args.only in (None, "scale"):
        scale(args)


if __name__ == "__main__":
    main()
