"""Eigen-solvers for the weak pencil ``K v = λ M v``: what was tried for issue 30, item 1.

Default weak form on ``--n`` i.i.d. sphere points, ``--modes`` smallest modes, BLAS on
one thread. Rows (each solves the same pencil; ``max rel`` is the largest relative
difference of modes 1.. from the first row):

* ``arpack + superlu``: today's solver (``spectra._symmetric_eigenpairs``: SuperLU of
  ``K − σM``, minimum-degree ordering on ``Kᵀ + K``, shift-invert Lanczos);
* ``ncv=151`` / ``tol=1e-10``: the same with more Lanczos vectors / a looser tolerance;
* ``arpack + cholmod``: CHOLMOD's Cholesky (scikit-sparse, when installed) instead;
* ``arpack + cholespy``: CHOLMOD through cholespy with METIS's nested dissection, what
  ``spectra`` uses when cholespy is installed;
* ``lobpcg + LU``: SciPy's LOBPCG, block of ``modes + 10``, the exact LU as
  preconditioner (one block solve per iteration).

Also printed: one solve and a block solve of ``modes + 16`` right-hand sides (per
vector), which shows whether block methods can amortise the triangular solves.

Run: ``python benchmarks/bench_eigensolvers.py [--n 100000] [--modes 50]``.

Measured (the same calls in scratch runs of 2026-12-07, one each, 2 cores, nothing else
running; scikit-sparse 0.4.12 built against SuiteSparse 5.12)::

    n = 1e5, 50 modes: build 1.3 s; factor 0.95 s (SuperLU) / 0.87 s (CHOLMOD)
      arpack + superlu   7.8 s   206 solves
      ncv = 151          7.6 s   208 solves   (ncv 201: 9.3 s, 202 solves)
      tol = 1e-10        7.7 s   180 solves   max rel 2e-15
      arpack + cholmod   8.6 s   206 solves   max rel 3e-14
      lobpcg + LU       64.4 s    83 iterations (block 60); block 75: 88.7 s
      one solve 22 ms; a block of 66: 19.4 ms per vector
    n = 3e5, 50 modes: build 3.3 s; factor 4.4 s / 3.3 s
      arpack + superlu  22.5 s   206 solves
      arpack + cholmod  23.2 s   206 solves
      CHOLMOD one solve 48 ms; block of 66: 42 ms per vector (supernodal, 1 or 2
      BLAS threads: 37-42 ms)

What this says: ARPACK needs about 4 solves per mode whatever its settings; each
solve streams the factor once (L has ~50 entries per point at 3e5) and runs at
memory bandwidth, so neither CHOLMOD nor block right-hand sides make a solve cheaper,
and LOBPCG's dense Rayleigh-Ritz steps on n × 3b blocks cost more than they save. The
solve is 6-7x the build at these sizes (issue 30's target: 3x at 1e6). A multilevel
start as ARPACK's single start vector (modes of every 4th point, prolonged by inverse
distance from the 3 nearest, summed with random weights; scratch run at 1e5 / 50
modes) cut 206 solves to 180 (7.2 -> 6.0 s) but the coarse solve cost 2.4 s: no net
gain; a block method from the prolonged modes would need ~35 subspace iterations of
60 solves for 1e-10.

Nested dissection (METIS through the optional ``pymetis``, scratch runs of 2026-12-07,
``K + M/area``, one BLAS thread): fewer LU entries per row (1e5 / 3e5 / 1e6: 61 / 68 / 77
against 69 / 81 / 96), ordering + factor 4.2 s against 6.6 s at 3e5 and 22.6-33.9 s
against 32.4-37.7 s at 1e6 (two runs each), solves within ±10 %. The whole 50-mode
spectrum at 1e6: 98 s against 116 s on a quiet machine (132 against 150 s with a stray
process on one core); at 3e5 no gain beyond the noise: ARPACK's own orthogonalisation
and restarts (``dsaupd``, 13.7 s of 37 s at 3e5) are as large as the solves. So
``spectra`` orders by dissection from ``DISSECTION_MIN`` = 2e5 rows when pymetis is
installed. Not tried yet: a block Lanczos from the prolonged modes, and spectrum slicing.

CHOLMOD through ``cholespy`` (a wheel, unlike scikit-sparse; scratch runs of 2026-12-07,
``K + M/area`` of 1e6 sphere points, one process each, peak over the loaded matrix)::

    ordering                      factor   entries/row  one solve  block of 16  peak
    SuperLU, nested dissection    25.2 s   77 (L + U)   244 ms     214 ms/vec   2312 MB
    scikit-sparse, METIS          23.1 s   47 (L)       158 ms     117 ms/vec   1184 MB
    cholespy, its own ordering    27.9 s   –             86 ms     131 ms/vec   1104 MB
    cholespy, nested dissection   19.4 s   –             86 ms      54 ms/vec    763 MB
      (+ 12.6 s for METIS's ordering, as SuperLU's row)
    1e5: cholespy + dissection 79 MB, 9 ms a solve; SuperLU + dissection 220 MB, 23 ms

One triangle instead of two, and a third of the memory; ``spectra`` uses it for ``K −
σM`` (positive definite below the spectrum) when cholespy is installed. The eigenvalues
agree with SuperLU's to 5e-14. It saves memory, not time: profiled inside the 50-mode
spectrum at 1e6, cholespy's factor took 22.0 s against SuperLU's numeric factor 7.6 s
(the standalone rows above include the ordering and copies), and the 220 solves 23 s
against 40 s; ARPACK's ``dsaupd`` took 34 s and 661 products with M 14-16 s in both.
Four interleaved whole solves on the same K and M: 112 / 108 s against 117 / 110 s,
peak over K and M 2.07 / 2.03 against 2.42 / 2.40 KB per point. Two BLAS threads
instead of one: 26.0 against 27.2 s (3e5, 50 modes).

Tried and rejected (2026-12-07): a block Lanczos of our own (blocks of 4-24 vectors, full
reorthogonalisation by matrix products, no restart, Rayleigh-Ritz; CHOLMOD block
solves). On 2e4 points and 50 modes it needed 164 (block 4) to 384 (block 24) vectors
against ARPACK's 207 solves with a 76-vector basis; at 1e5 its iterations took 6.8 s
(2.9 s of them orthogonalisation, 1.2 s products with M) against ARPACK's ~6 s, and at
3e5 37 s against 20 s. With blocks this small the orthogonalisation stays bound by
memory, as ARPACK's, and the basis is 2-3x larger.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.sparse import linalg as sla
from threadpoolctl import threadpool_limits

import o3d_meshless as om
from o3d_meshless.testing import random_sphere


def arpack(K, M, sigma, solver, k, **options):
    count = [0]

    def solve(x):
        count[0] += 1
        return solver(x)

    v0 = np.random.default_rng(0).standard_normal(K.shape[0])
    inverse = sla.LinearOperator(K.shape, matvec=solve, dtype=np.float64)
    t = time.perf_counter()
    vals, _ = sla.eigsh(K, k=k, M=M, sigma=sigma, which="LM", v0=v0, OPinv=inverse,
                        **options)
    return np.sort(vals), time.perf_counter() - t, f"{count[0]} solves"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--modes", type=int, default=50)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    n, k = args.n, args.modes
    p = random_sphere(n, seed=0)
    t = time.perf_counter()
    op = om.LaplaceBeltrami(form="weak", progress=False).fit(p)
    print(f"n = {n}, {k} modes: build {time.perf_counter() - t:.1f} s")
    K, M = op.K_.tocsc(), op.mass_.tocsc()
    sigma = -1.0 / float(M.sum())
    with threadpool_limits(1, "blas"):
        t = time.perf_counter()
        lu = sla.splu((K - sigma * M).tocsc(), permc_spec="MMD_AT_PLUS_A",
                      options={"SymmetricMode": True})
        print(f"  SuperLU factor {time.perf_counter() - t:.2f} s, "
              f"{(lu.L.nnz + lu.U.nnz) / n:.1f} entries per point")
        rows = [("arpack + superlu", arpack(K, M, sigma, lu.solve, k)),
                ("ncv = 151", arpack(K, M, sigma, lu.solve, k, ncv=min(151, n - 1))),
                ("tol = 1e-10", arpack(K, M, sigma, lu.solve, k, tol=1e-10))]
        try:
            from sksparse.cholmod import cholesky
        except ImportError:
            print("  (scikit-sparse not installed: no CHOLMOD row)")
        else:
            t = time.perf_counter()
            factor = cholesky((K - sigma * M).tocsc())
            print(f"  CHOLMOD factor {time.perf_counter() - t:.2f} s")
            rows.append(("arpack + cholmod", arpack(K, M, sigma, factor, k)))
        from o3d_meshless.operators.sparse_solve import cholesky as cholespy_factor
        t = time.perf_counter()
        factor = cholespy_factor((K - sigma * M).tocsc(), dissection=True)
        if factor is None:
            print("  (cholespy not installed: no cholespy row)")
        else:
            print(f"  cholespy factor (nested dissection) {time.perf_counter() - t:.2f} s")
            rows.append(("arpack + cholespy", arpack(K, M, sigma, factor.solve, k)))
        X = np.random.default_rng(2).standard_normal((n, k + 10))
        prec = sla.LinearOperator(K.shape, matvec=lu.solve,
                                  matmat=lambda R: lu.solve(np.asarray(R)), dtype=np.float64)
        t = time.perf_counter()
        vals, _, history = sla.lobpcg(K, X, B=M, M=prec, largest=False, tol=1e-9,
                                      maxiter=80, retResidualNormsHistory=True)
        rows.append(("lobpcg + LU", (np.sort(vals)[:k], time.perf_counter() - t,
                                     f"{len(history)} iterations")))
        ref = rows[0][1][0]
        for name, (vals, seconds, work) in rows:
            rel = np.max(np.abs(vals[1:k] - ref[1:k]) / ref[1:k])
            print(f"  {name:18s} {seconds:6.1f} s  {work:16s} max rel {rel:.0e}")
        B = np.random.default_rng(1).standard_normal((n, k + 16))
        t = time.perf_counter()
        for j in range(10):
            lu.solve(B[:, j])
        single = (time.perf_counter() - t) / 10
        t = time.perf_counter()
        lu.solve(B)
        block = (time.perf_counter() - t) / (k + 16)
        print(f"  one solve {single * 1e3:.1f} ms; a block of {k + 16}: "
              f"{block * 1e3:.1f} ms per vector")


if __name__ == "__main__":
    main()
