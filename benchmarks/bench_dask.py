"""Benchmark o3d_meshless.dask: throughput against the single-machine build, and a
large cloud streamed from a memory-mapped ``.npy``.

    python benchmarks/bench_dask.py                         # 1e6 compare + 1e7 streamed
    python benchmarks/bench_dask.py --compare 2e5 --stream 1e6 --out r.json   # quick

What is timed, for each size N (random i.i.d. points on the unit sphere, written
block-wise to a ``.npy`` file, so no process ever holds them unless it loads them):

* single machine (``--compare`` sizes), in a fresh process: ``np.load`` of the points,
  ``om.prepare`` + ``LaplaceBeltrami.fit`` (threads = cores), then ``normals`` and
  ``L @ f``; peak RSS (``VmHWM``) of that process.
* distributed (all sizes): ``distributed.LocalCluster`` of ``--workers`` processes × 1
  thread; ``DaskSurface(path)`` (partition: bounding box + sample, coincidence scale,
  halo radii) then one graph computing the normals and ``L @ f`` and writing both to
  ``.npy`` with :func:`o3d_meshless.dask.to_npy`. Peak RSS of each worker process
  (``VmHWM``; the workers start fresh for each N). Per part: owned and local (owned +
  halo) point counts, and the columns ``L``'s rows use outside the part (the halo an
  application ``L @ f`` exchanges), measured on the ``--compare`` sizes.

Throughput is N divided by the wall time, partition included.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np


def peak_rss():
    """This process's peak resident set (Linux VmHWM), bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return -1


def write_sphere(path, n, block=1_000_000, seed=0):
    """``n`` i.i.d. points on the unit sphere into a ``.npy``, block by block, and the
    test field ``f`` beside it (``f.npy``)."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, 3))
    f = np.lib.format.open_memmap(os.path.join(os.path.dirname(path), "f.npy"), mode="w+",
                                  dtype=np.float64, shape=(n,))
    for i, lo in enumerate(range(0, n, block)):
        hi = min(n, lo + block)
        x = np.random.default_rng([seed, i]).normal(size=(hi - lo, 3))
        out[lo:hi] = x / np.linalg.norm(x, axis=1, keepdims=True)
        f[lo:hi] = field(out[lo:hi])
    out.flush()
    f.flush()
    del out, f


def field(points):
    return np.cos(3 * points[:, 0]) + points[:, 1] * points[:, 2]


def single_worker(path, k):
    """Run in a fresh process: the single-machine build; prints JSON."""
    import o3d_meshless as om
    p = np.load(path)
    t0 = time.perf_counter()
    s = om.prepare(p, k=k, orient=None, workers=-1, progress=False)
    op = om.LaplaceBeltrami(k=k, orient=None, workers=-1, progress=False).fit(s)
    nrm = s.expand(s.frames)[:, 2]
    Lf = op.L_ @ field(p)
    dt = time.perf_counter() - t0
    print(json.dumps({"n": len(p), "seconds": dt, "points_per_s": len(p) / dt,
                      "peak_rss": peak_rss(), "check": [float(nrm[0, 0]), float(Lf[0])]}))


def run_single(path, k):
    out = subprocess.run([sys.executable, __file__, "--single-worker", path, "--k", str(k)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_distributed(path, n, args, measure_columns):
    import dask
    import distributed
    from o3d_meshless.dask import DaskSurface, to_npy

    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                  processes=True, dashboard_address=None,
                                  memory_limit=args.memory_limit) as cluster, \
            distributed.Client(cluster) as client:
        client.run(lambda: __import__("o3d_meshless.dask.surface"))     # warm imports
        base = client.run(peak_rss)
        t0 = time.perf_counter()
        surf = DaskSurface(path, k=args.k, part_points=args.part_points,
                           block_rows=args.block_rows)
        t_part = time.perf_counter() - t0
        tmp = os.path.dirname(path)
        f_path = os.path.join(tmp, "f.npy")
        t1 = time.perf_counter()
        w1 = to_npy(surf.normals(), os.path.join(tmp, "normals.npy"), compute=False)
        w2 = to_npy(surf.laplacian_apply(f_path), os.path.join(tmp, "Lf.npy"), compute=False)
        dask.compute(w1, w2)
        t_comp = time.perf_counter() - t1
        peaks = client.run(peak_rss)
        res = {"n": n, "n_parts": surf.n_parts, "workers": args.workers,
               "partition_s": t_part, "compute_s": t_comp,
               "points_per_s": n / (t_part + t_comp),
               "worker_peak_rss": sorted(peaks.values()),
               "worker_rss_after_imports": sorted(base.values()),
               "rounds": surf.stats["rounds"],
               "halo_fraction": surf.stats["halo_fraction"],
               "n_owned_mean": float(np.mean(surf.stats["n_owned"])),
               "n_local_mean": float(np.mean(surf.stats["n_local"])),
               "radius_over_scale": float(np.median(surf.radii) / surf.scale)}
        if measure_columns:
            cols = dask.compute(*[dask.delayed(_columns)(op) for op in surf._parts("laplacian")])
            owned = sum(c[0] for c in cols)
            res["apply_halo_fraction"] = sum(c[1] - c[0] for c in cols) / owned
            res["nnz_per_row"] = sum(c[2] for c in cols) / owned
        return res


def _columns(op):
    return len(op["owned_ids"]), len(op["used_ids"]), op["A"].nnz


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", default="1e6", help="sizes run both ways (comma list)")
    ap.add_argument("--stream", default="1e7", help="sizes run distributed only")
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="8GiB")
    ap.add_argument("--part-points", type=int, default=250_000)
    ap.add_argument("--block-rows", type=int, default=1_000_000)
    ap.add_argument("--tmp", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--single-worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.single_worker:
        single_worker(args.single_worker, args.k)
        return
    import dask
    import distributed
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, dask {dask.__version__}, "
          f"distributed {distributed.__version__}", flush=True)
    tmp_root = args.tmp or tempfile.mkdtemp(prefix="bench_dask_")
    compare = [int(float(s)) for s in args.compare.split(",") if s]
    stream = [int(float(s)) for s in args.stream.split(",") if s]
    results = []
    for n in compare + stream:
        d = os.path.join(tmp_root, f"n{n}")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "points.npy")
        if not os.path.exists(path):
            write_sphere(path, n)
        row = {"n": n}
        if n in compare:
            row["single"] = run_single(path, args.k)
            print(f"N={n:.0e} single  : {row['single']['seconds']:.1f} s, "
                  f"{row['single']['points_per_s']:.0f} pts/s, peak "
                  f"{row['single']['peak_rss'] / 2**20:.0f} MiB", flush=True)
        row["dask"] = r = run_distributed(path, n, args, measure_columns=n in compare)
        print(f"N={n:.0e} dask    : partition {r['partition_s']:.1f} s + compute "
              f"{r['compute_s']:.1f} s, {r['points_per_s']:.0f} pts/s, {r['n_parts']} parts, "
              f"halo {100 * r['halo_fraction']:.1f} %, worker peaks "
              f"{[round(x / 2**20) for x in r['worker_peak_rss']]} MiB "
              f"(after imports {[round(x / 2**20) for x in r['worker_rss_after_imports']]})",
              flush=True)
        if "apply_halo_fraction" in r:
            print(f"           L@f halo columns {100 * r['apply_halo_fraction']:.2f} % of owned, "
                  f"nnz/row {r['nnz_per_row']:.1f}", flush=True)
        results.append(row)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1, default=float)


if __name__ == "__main__":
    main()
