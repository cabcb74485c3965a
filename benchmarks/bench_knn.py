"""k-nearest-neighbour backends for the first stage of every build.

The build's first stage is one k-NN query of every point (``k + 1`` with itself). This
script times the candidates on the same points, each as a complete "tree build + query of
all points" in the form the pipeline needs (int64 indices, float64 distances):

* ``cKDTree`` (SciPy, ``query(workers=-1)``) on the points as given;
* ``cKDTree`` on the points sorted along a Morton curve (what ``neighbors.knn`` does from
  ``neighbors.MORTON_MIN_POINTS`` points on: neighbours close in memory);
* ``pykdtree`` (OpenMP queries; optional, ``pip install pykdtree``) on Morton-sorted points;
* Open3D's tensor ``NearestNeighborSearch.knn_search`` (nanoflann, parallel queries; Open3D
  is a dependency) on Morton-sorted points.

For each it prints the time (best of ``--repeat``), the ratio to the first row, and how
many rows have exactly cKDTree's neighbours, as a set and in the same order: a backend
that orders equidistant neighbours differently gives different stencils on grids, so the
results would depend on which optional package is installed.

Shapes: the i.i.d. unit sphere and a regular square grid in a plane (ties
everywhere), ``--n`` points each.

Run: ``python benchmarks/bench_knn.py`` (about 1 minute at the default 1e6 points);
``--n 1e5`` for a quick look. Times are from one machine and one run: compare ratios.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.spatial import cKDTree

from o3d_meshless.sampling.neighbors import morton_order
from o3d_meshless.testing import random_sphere


def query_ckdtree(points, k):
    tree = cKDTree(points, copy_data=False)
    dist, idx = tree.query(points, k, workers=-1)
    return np.asarray(idx, dtype=np.intp), dist


def query_pykdtree(points, k):
    from pykdtree.kdtree import KDTree

    dist, idx = KDTree(points).query(points, k=k)
    return idx.astype(np.intp), dist


def query_open3d(points, k):
    import open3d as o3d

    pts = o3d.core.Tensor(points)
    nns = o3d.core.nns.NearestNeighborSearch(pts)
    nns.knn_index()
    idx, dist2 = nns.knn_search(pts, k)
    return idx.numpy().astype(np.intp), np.sqrt(dist2.numpy())


def plane_grid(n):
    side = int(round(np.sqrt(n)))
    u, v = np.meshgrid(np.arange(side, dtype=float), np.arange(side, dtype=float))
    return np.c_[u.ravel(), v.ravel(), np.zeros(side * side)] / side


def timed(fn, points, k, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(points, k)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=float, default=1e6, help="points per shape (default 1e6)")
    ap.add_argument("--k", type=int, default=16, help="neighbours besides the point itself")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per backend")
    args = ap.parse_args(argv)
    n, k = int(args.n), args.k + 1
    print(f"cores={os.cpu_count()}, load_avg_1m={os.getloadavg()[0]:.2f}, n={n}, "
          f"query k={k}, best of {args.repeat}")
    header = f"{'shape':>7} {'backend':>22} {'s':>7} {'ratio':>6} {'same set':>9} {'same order':>10}"
    print(header)
    print("-" * len(header))
    for shape, points in (("sphere", random_sphere(n)), ("grid", plane_grid(n))):
        sorted_points = np.ascontiguousarray(points[morton_order(points)])
        backends = [("cKDTree", query_ckdtree, points),
                    ("cKDTree, Morton order", query_ckdtree, sorted_points),
                    ("pykdtree, Morton order", query_pykdtree, sorted_points),
                    ("Open3D NNS, Morton", query_open3d, sorted_points)]
        first = reference = None
        for name, fn, pts in backends:
            try:
                seconds, (idx, _) = timed(fn, pts, k, args.repeat)
            except ImportError as err:
                print(f"{shape:>7} {name:>22}   skipped ({err.name} not installed)")
                continue
            if pts is sorted_points and reference is None:
                reference = idx                      # cKDTree on the sorted points
            same_set = same_order = float("nan")
            if reference is not None:
                same_set = np.mean((np.sort(idx, 1) == np.sort(reference, 1)).all(1))
                same_order = np.mean((idx == reference).all(1))
            first = first or seconds
            print(f"{shape:>7} {name:>22} {seconds:7.3f} {seconds / first:6.2f} "
                  f"{same_set:9.4f} {same_order:10.4f}")
    print("same set / same order = fraction of rows equal to cKDTree's on the same "
          "(Morton-sorted) points")


if __name__ == "__main__":
    main()
