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

Memory, per row (a fresh LocalCluster per part count): ``worker MiB`` the largest peak
resident size of the two worker processes; ``client MiB`` the client's resident size
sampled every 50 ms during the distributed run, above its size when the run starts (the
single-machine reference was computed before, so freed memory the process kept may hide
some growth). ``--no-reference`` skips the single-machine solve (large n): the columns
that need it are then blank, and the eigenvectors stay on the workers
(``vectors="dask"``), so ``client MiB`` shows what the iteration itself costs there.

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


class PeakRSS:
    """This process's resident size, sampled in a thread; ``peak`` above the start."""

    def __init__(self, every=0.05):
        import threading

        import psutil

        self._proc, self._every = psutil.Process(), every
        self.base = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self):
        while not self._stop.wait(self._every):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return (self.peak - self.base) / 2 ** 20


def _worker_peak():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # MiB (Linux KiB)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=float, default=1e5)
    ap.add_argument("--modes", type=int, default=20)
    ap.add_argument("--parts", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--no-reference", action="store_true")
    args = ap.parse_args()
    import distributed

    import o3d_meshless as om
    from o3d_meshless.dask import DaskSurface
    from o3d_meshless.testing import random_sphere

    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
    n, nm = int(args.n), args.modes
    p = random_sphere(n, seed=0)
    exact = sphere_values(nm)
    m = whole_clusters(nm)
    ref = B = None
    if not args.no_reference:
        t = time.perf_counter()
        ref = om.spectrum(p, nm, outliers="keep", denoise=False, orient=None)
        t_ref = time.perf_counter() - t
        B = om.LaplaceBeltrami(form="weak", orient=None, outliers="keep",
                               denoise=False).fit(p).mass_
        print(f"N = {n}, {nm} modes; single machine (build + shift-invert): {t_ref:.1f} s, "
              f"error to l(l+1) {np.abs(ref.values[1:] / exact[1:] - 1).mean() * 100:.4f} %")
    else:
        print(f"N = {n}, {nm} modes; no single-machine reference")
    print(f"{'parts':>5} {'time s':>8} {'ratio':>6} {'iters':>6} {'vs single':>10} "
          f"{'vs l(l+1) %':>12} {'subspace':>9} {'worker MiB':>11} {'client MiB':>11}")
    for parts in args.parts:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            watch = PeakRSS()
            t = time.perf_counter()
            surf = DaskSurface(p, n_parts=parts)
            # without a reference nothing here needs the vectors: they stay on the workers
            vals, vecs = surf.spectrum(nm, vectors="dask" if ref is None else "numpy")
            dt = time.perf_counter() - t
            client_mib = watch.stop()
            worker_mib = max(client.run(_worker_peak).values())
            err = np.abs(vals[1:] / exact[1:] - 1).mean() * 100
            if ref is None:
                ratio = diff = angle = float("nan")
            else:
                ratio = dt / t_ref
                diff = np.abs(vals[1:] - ref.values[1:]).max() / ref.values[-1]
                s = np.linalg.svd(ref.vectors[:, :m].T @ (B @ vecs[:, :m]),
                                  compute_uv=False)
                angle = float(np.sqrt(max(0.0, 1 - s.min() ** 2)))
            print(f"{parts:>5} {dt:>8.1f} {ratio:>6.1f} "
                  f"{surf.spectrum_info_['iterations']:>6} {diff:>10.1e} {err:>12.4f} "
                  f"{angle:>9.1e} {worker_mib:>11.0f} {client_mib:>11.0f}", flush=True)
            sec = surf.spectrum_info_["seconds"]
            per = sec["LOBPCG"] / max(1, surf.spectrum_info_["iterations"])
            print("      stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in sec.items())
                  + f"; per LOBPCG iteration {per:.2f} s", flush=True)


if __name__ == "__main__":
    main()
