"""Lanczos basis size of the symmetric shift-invert solve: time and solves per factor.

The weak form ``K v = λ M v`` of i.i.d. points (sphere or ellipsoid), factorised once
(``K − σM``, the package's shift and ordering), then ARPACK's ``eigsh`` for ``--modes``
eigenpairs with ``ncv = factor × modes + 1`` basis vectors for each ``--factors`` value
(SciPy's default is 2; the package uses ``solve_memory.LANCZOS_FACTOR``), on the same
LU, one BLAS thread, with the package's fixed start vector. Prints one markdown table:
seconds, solves, the basis memory per point and the largest relative difference of the
eigenvalues from the first factor's.

    python benchmarks/bench_lanczos_basis.py --n 1e5 --modes 50 --shape ellipsoid
    python benchmarks/bench_lanczos_basis.py --n 3e5 --modes 200 --factors 2,1.5,1.25
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import o3d_meshless as om
from o3d_meshless.operators.spectra import _blas_single_thread
from o3d_meshless.operators.sparse_solve import DISSECTION_MIN, symmetric_lu
from o3d_meshless.operators.spectrum_slicing import lanczos_near
from o3d_meshless.operators import solve_memory
from o3d_meshless.testing import random_ellipsoid, random_sphere


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=float, default=1e5)
    ap.add_argument("--modes", type=int, default=50)
    ap.add_argument("--shape", choices=("sphere", "ellipsoid"), default="ellipsoid")
    ap.add_argument("--factors", default="2,1.5", help="basis vectors per mode, commas")
    args = ap.parse_args(argv)
    n = int(args.n)
    sampler = random_sphere if args.shape == "sphere" else random_ellipsoid
    op = om.LaplaceBeltrami(form="weak", progress=False).fit(sampler(n, seed=0))
    K, M = op.K_.tocsc(), op.mass_.tocsc()
    sigma = -1.0 / float(M.sum())
    rows, ref = [], None
    with _blas_single_thread():
        lu = symmetric_lu(K - sigma * M, dissection=n >= DISSECTION_MIN)
        v0 = np.random.default_rng(0).standard_normal(n)
        for factor in (float(f) for f in args.factors.split(",")):
            solve_memory.LANCZOS_FACTOR = factor          # lanczos_near reads it
            count = {"solves": 0}
            t = time.perf_counter()
            vals = np.sort(lanczos_near(K, M, args.modes, sigma, lu, v0, count=count)[0])
            sec = time.perf_counter() - t
            ref = vals if ref is None else ref
            diff = float(np.max(np.abs(vals - ref) / np.maximum(np.abs(ref), 1.0)))
            ncv = solve_memory.lanczos_vectors(n, args.modes)
            rows.append((factor, ncv, sec, count["solves"], ncv * 8 / 1024, diff))
    print(f"\n{n} i.i.d. {args.shape} points, {args.modes} modes, weak form, one LU\n")
    print("| basis per mode | vectors | solve s | solves | basis KiB/point | "
          "max rel. diff |")
    print("|---|---|---|---|---|---|")
    for factor, ncv, sec, solves, kib, diff in rows:
        print(f"| {factor:g} | {ncv} | {sec:.1f} | {solves} | {kib:.2f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
