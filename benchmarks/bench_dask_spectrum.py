"""Benchmark the distributed weak-form spectrum against the single-machine one.

    python benchmarks/bench_dask_spectrum.py                   # 1e5 points, 20 modes
    python benchmarks/bench_dask_spectrum.py --n 3e4 --parts 2 4 8 --modes 20

For each part count: ``DaskSurface(points, n_parts=P)`` on a ``distributed.LocalCluster``
of 2 processes x 1 thread, then ``spectrum(n_modes)`` (LOBPCG on the rows kept on the
workers). Beside it, in the same run: ``om.spectrum(points, n_modes,
outliers="keep", denoise=False, orient=None)`` (the same pencil, shift-invert ARPACK on
one machine) and the exact sphere eigenvalues l(l + 1). Reported: wall time of the
partition + build + solve, LOBPCG iterations, the largest relative eigenvalue difference
to the single-machine solve (modes 1 and up), the error to l(l + 1), and the principal
angle between the two eigenvector subspaces of the whole clusters inside the window.

Points: i.i.d. on the unit sphere (seed 0). Times are one run on a shared machine.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def sphere_values(n_modes):
    out = []
    l = 0
    while len(out) < n_modes:
        out += [l * (l + 1)] * (2 * l + 1)
        l += 1
    return np.array(out[:n_modes], dtype=float)


def whole_clusters(n_modes):
    """Number of modes in the whole l-clusters inside the window."""
    m, l = 0, 0
    while m + 2 * l + 1 <= n_modes:
        m += 2 * l + 1
        l += 1
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e5)
    ap.add_argument("--modes", type=int, default=20)
    ap.add_argument("--parts", type=int, nargs="+", default=[2, 4, 8])
    args = ap.parse_args()
    import distributed

    import o3d_meshless as om
    from o3d_meshless.dask import DaskSurface
    from o3d_meshless.testing import random_sphere

    warnings.simplefilter("ignore", RuntimeWarning)
    n, nm = int(args.n), args.modes
    p = random_sphere(n, seed=0)
    exact = sphere_values(nm)
    t = time.perf_counter()
    ref = om.spectrum(p, nm, outliers="keep", denoise=False, orient=None)
    t_ref = time.perf_counter() - t
    B = om.LaplaceBeltrami(form="weak", orient=None, outliers="keep",
                           denoise=False).fit(p).mass_
    m = whole_clusters(nm)
    print(f"N = {n}, {nm} modes; single machine (build + shift-invert): {t_ref:.1f} s, "
          f"error to l(l+1) {np.abs(ref.values[1:] / exact[1:] - 1).mean() * 100:.4f} %")
    print(f"{'parts':>5} {'time s':>8} {'ratio':>6} {'iters':>6} {'vs single':>10} "
          f"{'vs l(l+1) %':>12} {'subspace':>9}")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        for parts in args.parts:
            t = time.perf_counter()
            surf = DaskSurface(p, n_parts=parts)
            vals, vecs = surf.spectrum(nm)
            dt = time.perf_counter() - t
            diff = np.abs(vals[1:] - ref.values[1:]).max() / ref.values[-1]
            err = np.abs(vals[1:] / exact[1:] - 1).mean() * 100
            s = np.linalg.svd(ref.vectors[:, :m].T @ (B @ vecs[:, :m]), compute_uv=False)
            angle = float(np.sqrt(max(0.0, 1 - s.min() ** 2)))
            print(f"{parts:>5} {dt:>8.1f} {dt / t_ref:>6.1f} "
                  f"{surf.spectrum_info_['iterations']:>6} {diff:>10.1e} {err:>12.4f} "
                  f"{angle:>9.1e}", flush=True)


if __name__ == "__main__":
    main()
