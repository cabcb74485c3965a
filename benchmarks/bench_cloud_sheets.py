"""Clouds with close sheets: the default spectrum with and without the sheet split.

Cases (``o3d_meshless.sampling.cloud_sheets``):

* concentric spheres of radii 1 and 1 + d, ``--n`` points each (10 000 by default),
  d = 0.04, 0.06, 0.1: the exact spectrum is the union of l(l+1) and
  l(l+1)/(1+d)^2, with two zero eigenvalues; modes 2..39 mean |relative error|;
* a clean flat ellipsoid (1, 0.7, c), c = 0.05 and 0.1, 2000 and 8000 points: points
  taken for outliers (none are), the noise level read, and whether it was denoised.

"Before" runs the same build with the split switched off (the kernel's marks replaced
by zeros for the run). Rows: sheet conflicts found, zero eigenvalues,
error. Run: ``python benchmarks/bench_cloud_sheets.py [--n 10000]`` (a few minutes).

Measured (2 cores, one run)::

    concentric spheres, 10000 points each; modes 2-39
    | d | conflicts | zero modes before / after | error before % | after % |
    |---|---|---|---|---|
    | 0.04 | 19972 | 1 / 1 | 62.656 | 2.506 |
    | 0.06 | 19093 | 1 / 2 | 86.742 | 0.022 |
    | 0.1 | 1097 | 1 / 2 | 9.856 | 0.022 |

    clean flat ellipsoids (1, 0.7, c): outliers flagged, noise level, denoised
    | c | n | before | after |
    |---|---|---|---|
    | 0.05 | 2000 | 26 / 0.808 / False | 0 / 0.001 / False |
    | 0.05 | 8000 | 48 / 0.000 / False | 1 / 0.000 / False |
    | 0.1 | 2000 | 10 / 0.002 / False | 6 / 0.002 / False |
    | 0.1 | 8000 | 4 / 0.001 / False | 4 / 0.001 / False |
"""
from __future__ import annotations

import argparse
import warnings
from contextlib import contextmanager

import numpy as np

import o3d_meshless as om
from o3d_meshless.sampling import cloud_sheets
from o3d_meshless.testing import random_sphere

MODES = 40


@contextmanager
def split_off(off):
    """With ``off``, the kernel's split marks nothing: every build and search behaves as
    before the split existed."""
    original = cloud_sheets._split
    if off:
        cloud_sheets._split = lambda points, neighbors, *args: np.zeros(
            np.shape(neighbors), dtype=np.uint8)
    try:
        yield
    finally:
        cloud_sheets._split = original


def shells_row(n, gap, off):
    p = np.vstack([random_sphere(n, seed=1), (1 + gap) * random_sphere(n, seed=2)])
    ref = np.sort(np.concatenate([[ell * (ell + 1) / r ** 2] * (2 * ell + 1)
                                  for ell in range(8) for r in (1.0, 1.0 + gap)]))
    with split_off(off), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = om.spectrum(p, MODES, progress=False)
    vals = np.real(res[0])
    err = 100 * np.mean(np.abs(vals[2:MODES] - ref[2:MODES]) / ref[2:MODES])
    return res.report.sheet_conflicts, int(np.sum(np.abs(vals) < 1e-6)), err


def flat_ellipsoid(n, c, seed=0):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(4 * n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    axes = np.array([1.0, 0.7, c])
    dens = np.linalg.norm(u * axes[[1, 0, 0]] * axes[[2, 2, 1]], axis=1)
    return (u * axes)[rng.uniform(0, dens.max(), len(u)) < dens][:n]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10000)
    args = parser.parse_args()
    print(f"concentric spheres, {args.n} points each; modes 2-{MODES - 1}")
    print("| d | conflicts | zero modes before / after | error before % | after % |")
    print("|---|---|---|---|---|")
    for gap in (0.04, 0.06, 0.1):
        _, z0, e0 = shells_row(args.n, gap, True)
        c1, z1, e1 = shells_row(args.n, gap, False)
        print(f"| {gap} | {c1} | {z0} / {z1} | {e0:.3f} | {e1:.3f} |", flush=True)
    print("\nclean flat ellipsoids (1, 0.7, c): outliers flagged, noise level, denoised")
    print("| c | n | before | after |")
    print("|---|---|---|---|")
    for c in (0.05, 0.1):
        for n in (2000, 8000):
            p = flat_ellipsoid(n, c)
            cells = []
            for off in (True, False):
                with split_off(off):
                    d = om.prepare(p, progress=False).diagnostics
                cells.append(f"{d['n_outliers']} / {d['noise_level']:.3f} / {d['denoised']}")
            print(f"| {c} | {n} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
