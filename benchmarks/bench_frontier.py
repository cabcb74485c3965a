"""Accuracy per second: eigenvalue error of modes 1–30 on the ellipsoid against build time.

For every method and order (and the weak form), on the same 20 000 i.i.d. points of the
ellipsoid (1, 0.6, 0.3) (``o3d_meshless.testing.random_ellipsoid``), prints

* the build time of the operator (``LaplaceBeltrami(...).fit``, best of ``--repeat``),
* the time of the 31-mode spectrum after it,
* the mean / max / signed-mean relative error of eigenvalues 1–30 against the converged
  reference ``../shared/data/ellipsoid_lb_eigenvalues.txt`` (FEM, Richardson-extrapolated,
  relative accuracy 1e-6),
* whether any eigenvalue came out negative,

with the peers on the same points beside it: robust-laplacian (``n_neighbors=30``) and
P1 FEM (cotangent stiffness, lumped mass) on the convex-hull mesh of the points (the
ellipsoid is convex, so the hull is a triangulation of exactly these points). The rows
are sorted by build time; ``*`` marks the points on the accuracy-per-time frontier
(no other row is both faster and more accurate).

Run: ``python benchmarks/bench_frontier.py`` (about 3 minutes on 2 cores);
``--n 5000`` for a quick look. Timings are from one machine and one run: compare ratios.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse.linalg as sla
from scipy.spatial import ConvexHull

import o3d_meshless as om
from o3d_meshless.operators.spectra import _blas_single_thread
from o3d_meshless.testing import random_ellipsoid
from o3d_meshless.testing.fem import p1_fem

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
N_MODES = 30

#: (label, LaplaceBeltrami options); k chosen per order as the defaults and the studies use
CONFIGS = [
    ("weak form, k 16 (default)", {"form": "weak"}),
    ("weak form, k 24", {"form": "weak", "k": 24}),
    ("weak form, lumped mass, k 16", {"form": "weak", "mass": "lumped"}),
    ("taylor 2, k 16", {"order": 2}),
    ("taylor 2, k 24", {"order": 2, "k": 24}),
    ("taylor 3, k 30", {"order": 3, "k": 30}),
    ("taylor 4, k 30", {"order": 4, "k": 30}),
    ("taylor 4, k 30, weights 2", {"order": 4, "k": 30, "weights": 2}),
    ("taylor 4, k 40", {"order": 4, "k": 40}),
    ("moments, k 16", {"method": "moments"}),
    ("orthopoly 2, k 16", {"method": "orthopoly", "order": 2}),
    ("orthopoly 4, k 30", {"method": "orthopoly", "order": 4, "k": 30}),
    ("clsgsp 2, k 20", {"method": "clsgsp", "order": 2, "k": 20}),
]


def timed(fn, *args, repeat=1, **kwargs):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
    return out, best


def pencil_eigenvalues(K, M, n):
    with _blas_single_thread():
        vals = sla.eigsh(K.tocsc(), n, M.tocsc(), sigma=-1e-3, which="LM",
                         return_eigenvectors=False)
    return np.sort(vals)


def fem_hull(points):
    """P1 stiffness (cotangent weights) and lumped mass on the convex hull's triangles."""
    return p1_fem(points, ConvexHull(points).simplices, mass="lumped")


def errors(vals, ref):
    rel = vals[1:N_MODES + 1] / ref[1:N_MODES + 1] - 1
    return 100 * np.abs(rel).mean(), 100 * np.abs(rel).max(), 100 * rel.mean()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="points (default %(default)s)")
    ap.add_argument("--repeat", type=int, default=1, help="timed builds per row")
    ap.add_argument("--no-peer", action="store_true", help="skip robust-laplacian and FEM")
    args = ap.parse_args(argv)
    ref_path = DATA / "ellipsoid_lb_eigenvalues.txt"
    if not ref_path.is_file():
        raise SystemExit(f"reference {ref_path} not found")
    ref = np.loadtxt(ref_path)
    p = random_ellipsoid(args.n)
    rows = []
    for label, opts in CONFIGS:
        op, t_build = timed(om.LaplaceBeltrami(progress=False, **opts).fit, p,
                            repeat=args.repeat)
        res, t_solve = timed(op.spectrum, N_MODES + 1)
        neg = int(res.report.n_negative)
        rows.append((label, t_build, t_solve, *errors(res.values, ref), neg))
        print(f"  done: {label}", flush=True)
    if not args.no_peer:
        try:
            import robust_laplacian
            (K, M), t_build = timed(robust_laplacian.point_cloud_laplacian, p, n_neighbors=30)
            vals, t_solve = timed(pencil_eigenvalues, K, M, N_MODES + 1)
            rows.append(("robust-laplacian (peer)", t_build, t_solve, *errors(vals, ref), 0))
        except ImportError:
            print("  (robust-laplacian not installed)")
        (K, M), t_build = timed(fem_hull, p)
        vals, t_solve = timed(pencil_eigenvalues, K, M, N_MODES + 1)
        rows.append(("P1 FEM on the hull mesh (peer)", t_build, t_solve, *errors(vals, ref), 0))
    rows.sort(key=lambda r: r[1])
    best = np.inf
    print(f"\nEllipsoid (1, 0.6, 0.3), {args.n} i.i.d. points; error of eigenvalues 1–"
          f"{N_MODES} vs the converged reference (%); build = fit only, solve = "
          f"{N_MODES + 1} modes (shift-invert, 1 BLAS thread)\n")
    head = f"{'operator':<34} {'build s':>8} {'solve s':>8} {'mean %':>8} {'max %':>8} " \
           f"{'signed %':>9} {'neg':>4}  frontier"
    print(head)
    print("-" * len(head))
    for label, tb, ts, mean, mx, signed, neg in rows:
        front = mean < best
        best = min(best, mean)
        print(f"{label:<34} {tb:>8.2f} {ts:>8.2f} {mean:>8.3f} {mx:>8.3f} {signed:>+9.3f} "
              f"{neg:>4}  {'*' if front else ''}")


if __name__ == "__main__":
    main()
