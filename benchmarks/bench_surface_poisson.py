"""Surface Poisson ``Δ_S u = f`` (o3d_meshless.toolkit.surface_poisson): accuracy and timing.

    python benchmarks/bench_surface_poisson.py [--seeds 5] [--sizes 2000 8000 32000]

* closed unit sphere, i.i.d. points, ``u = xy`` (l = 2) and ``u = xyz`` (l = 3),
  ``f = −l(l+1) u``: relative M-weighted L2 error (median over seeds) and observed order
  in ``h ∝ n^(−1/2)``; weak form at k = 16 / 32 (default) and the strong form (k = 24);
* upper unit hemisphere, ``u = xy``, Dirichlet values on the detected rim, and the
  natural condition (``xy`` has zero normal derivative there);
* flat unit disc, Dirichlet: ``x² + y²`` (``f = 4``) and ``e^x sin y`` (``f = 0``);
* ``../shared/data/bunny.off`` (closed): the meshless solution against LaPy's FEM
  solution on the mesh (when LaPy and the data are present);
* time of one call (operator fit + factorisation + solve) at the largest size.
"""
import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from o3d_meshless.operators.laplacian import LaplaceBeltrami
from o3d_meshless.toolkit.surface_poisson import solve_surface_poisson

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def sphere(n, seed):
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def rel(sol, exact):
    m = sol.operator.M_.diagonal()
    return float(np.sqrt(m @ (sol.u - exact) ** 2 / (m @ exact ** 2)))


def orders(errors, sizes):
    return [np.log(a / b) / np.log(np.sqrt(m / n))
            for a, b, n, m in zip(errors, errors[1:], sizes, sizes[1:])]


def line(label, errors, sizes):
    errs = " / ".join(f"{e:.2e}" for e in errors)
    ords = ", ".join(f"{o:.2f}" for o in orders(errors, sizes))
    print(f"  {label:34s} {errs}   order {ords}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000, 32000])
    args = ap.parse_args(argv)
    sizes, seeds = args.sizes, range(args.seeds)
    warnings.simplefilter("ignore", RuntimeWarning)

    print(f"closed unit sphere, i.i.d., median over {args.seeds} seeds, n = "
          f"{' / '.join(map(str, sizes))} (relative L2 error, observed order):")
    cases = [("weak k=32 (default)", dict()), ("weak k=16", dict(k=16)),
             ("strong k=24", dict(form="strong"))]
    for name, Y, l in (("xy", lambda p: p[:, 0] * p[:, 1], 2),
                       ("xyz", lambda p: p[:, 0] * p[:, 1] * p[:, 2], 3)):
        for label, kw in cases:
            e = np.array([[rel(solve_surface_poisson(p, -l * (l + 1) * Y(p), **kw), Y(p))
                           for p in (sphere(n, s) for n in sizes)] for s in seeds])
            line(f"u = {name}, {label}", list(np.median(e, axis=0)), sizes)
            worst = np.min([orders(row, sizes)[-1] for row in e])
            print(f"  {'':34s} worst seed's last order {worst:.2f}")

    print("\nopen surfaces (seed 0):")
    rows = {"hemisphere u = xy, Dirichlet": [], "hemisphere u = xy, natural": [],
            "disc x^2 + y^2, Dirichlet": [], "disc e^x sin y, Dirichlet": []}
    counts = {k: [] for k in rows}
    for n in sizes:
        p = sphere(2 * n, 0)
        top = p[p[:, 2] > 0]
        xy = top[:, 0] * top[:, 1]
        sol = solve_surface_poisson(top, -6 * xy, boundary_values=xy)
        rows["hemisphere u = xy, Dirichlet"].append(rel(sol, xy))
        sol = solve_surface_poisson(sol.operator, -6 * xy, boundary="natural")
        rows["hemisphere u = xy, natural"].append(rel(sol, xy))
        for key in list(rows)[:2]:
            counts[key].append(len(top))
        q = np.random.default_rng(1).uniform(-1, 1, size=(int(n * 4 / np.pi), 2))
        q = q[(q ** 2).sum(axis=1) < 1]
        d = np.c_[q, np.zeros(len(q))]
        r2, h = (q ** 2).sum(axis=1), np.exp(q[:, 0]) * np.sin(q[:, 1])
        sol = solve_surface_poisson(d, 4.0, boundary_values=r2)
        rows["disc x^2 + y^2, Dirichlet"].append(rel(sol, r2))
        sol = solve_surface_poisson(sol.operator, 0.0, boundary_values=h)
        rows["disc e^x sin y, Dirichlet"].append(rel(sol, h))
        for key in list(rows)[2:]:
            counts[key].append(len(q))
    for key, errors in rows.items():
        line(key, errors, counts[key])

    n = sizes[-1]
    p = sphere(n, 0)
    f = -6 * p[:, 0] * p[:, 1]
    solve_surface_poisson(sphere(2000, 1), -6 * sphere(2000, 1)[:, 0])    # warm-up
    t0 = time.perf_counter()
    sol = solve_surface_poisson(p, f)
    t1 = time.perf_counter()
    solve_surface_poisson(sol.operator, f)
    t2 = time.perf_counter()
    print(f"\ntime, unit sphere {n} points: {t1 - t0:.2f} s with the operator fit, "
          f"{t2 - t1:.2f} s on a fitted operator; residual {sol.residual:.1e}")

    try:
        import lapy
        from o3d_meshless.io.read import read_geometry
    except ImportError:
        print("\n(LaPy missing: bunny comparison skipped)")
        return
    if not (DATA / "bunny.off").is_file():
        print(f"\n({DATA} missing: bunny comparison skipped)")
        return
    from scipy import sparse
    from scipy.sparse.linalg import splu

    mesh = read_geometry(DATA / "bunny.off")
    op = LaplaceBeltrami(form="weak", k=32).fit(mesh)
    v, m = op.points_, op.M_.diagonal()
    c, size = v.mean(axis=0), np.ptp(v, axis=0).max()
    fem = lapy.Solver(lapy.TriaMesh(v, np.asarray(mesh.faces)), lump=False)
    area = np.asarray(fem.mass.sum(axis=1)).ravel()
    bordered = sparse.bmat([[fem.stiffness, sparse.csr_matrix(area[:, None])],
                            [sparse.csr_matrix(area[None, :]), None]], format="csc")
    lu = splu(bordered)
    print(f"\nbunny.off ({len(v)} vertices, closed): meshless vs LaPy FEM (consistent mass)")
    for name, f in (("sin(3x/L) + y/L", np.sin(3 * (v[:, 0] - c[0]) / size)
                     + (v[:, 1] - c[1]) / size),
                    ("xyz/L^3", np.prod(v - c, axis=1) / size ** 3)):
        f = f - (m @ f) / m.sum()
        sol = solve_surface_poisson(op, f)
        ref = lu.solve(np.r_[-(fem.mass @ (f - (area @ f) / area.sum())), 0.0])[:len(v)]
        ref -= (m @ ref) / m.sum()
        diff = np.sqrt(m @ (sol.u - ref) ** 2 / (m @ ref ** 2))
        print(f"  f = {name:16s} relative L2 difference {diff:.2e}, correlation "
              f"{np.corrcoef(sol.u, ref)[0, 1]:.5f}, residual {sol.residual:.1e}")


if __name__ == "__main__":
    main()
