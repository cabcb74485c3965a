"""Seed 003 §4.4 reproduced: Poisson's equation ``Δu = f`` on a disc and a flower.

Ying, Chu & Leung, "A Constrained Least-Squares Ghost Sample Points (CLS-GSP) Method for
Differential Operators on Point Clouds", §4.4. Exact solution
``u = 1 + sin 4x + cos 3x + sin 2y``; ``f = Δu`` at the interior samples, ``g = u`` at a
layer of boundary nodes outside the domain; the interior rows ``(A | A1)`` of the
discrete Laplacian on all points give ``A u = f − A1 g`` (:func:`solve_poisson`).

Problems (the paper's sizes):

* disc ``r ≤ 2``, 3159 random samples, 1841 random nodes in ``2 < r ≤ 2.5``
  (paper L∞ ≈ 4e-3);
* flower ``r ≤ 1.4 + 0.4 sin 5θ + 0.4 sin 2θ``, band ``r_max < r ≤ r_max + 0.5``:
  uniform grid (spacing 0.05: 2678 + 2065 nodes; the paper 2677 + 2066; L∞ ≈ 3e-4) and
  random (2782 + 2782; L∞ ≈ 2e-3).

Each problem is solved with ``--method`` (default ``clsgsp``: 60 neighbours, 49 ghosts in
the disc of half the largest neighbour distance, Gaussian RBF, ``c r̄² = --shape``) and,
for comparison, with the package's Taylor least-squares stencils: order 2 with the same
60 neighbours, and order 4 with 30. The paper does not state ``c`` for §4.4; its §4.1
uses ``c r̄² = 0.1`` (the default here). ``--shape-sweep`` adds a table of the CLS-GSP
error over ``c r̄²``. The random samples are ours (seed ``--seed``), not the paper's:
compare magnitudes, not digits.

Writes ``seed003_poisson_<problem>.png`` (samples, numerical solution, error) to
``--outdir``.

Run:  python examples/seed003_poisson.py [--quick] [--method clsgsp] [--outdir .]
"""
import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from o3d_meshless.scattered.poisson import solve_poisson
from o3d_meshless.stencils import get_method
from o3d_meshless.testing import disc_domain, flower_domain, flower_radius, poisson_exact

#: the paper's L∞ errors (seed text, §4.4)
PAPER = {"disc (random)": 4e-3, "flower (uniform)": 3e-4, "flower (random)": 2e-3}
#: Taylor stencils shown beside the chosen method
COMPARISON = [("taylor", dict(k=60, order=2)), ("taylor", dict(k=30, order=4))]


def problems(quick, seed):
    """name -> (interior, boundary, inside(x, y) for masking the plot)."""
    s = 0.25 if quick else 1.0
    disc = disc_domain(int(3159 * s), int(1841 * s), seed=seed)
    flower_u = flower_domain("uniform", spacing=0.1 if quick else 0.05)
    flower_r = flower_domain("random", n_interior=int(2782 * s), n_boundary=int(2782 * s),
                             seed=seed)

    def in_disc(x, y):
        return np.hypot(x, y) <= 2.0

    def in_flower(x, y):
        return np.hypot(x, y) <= flower_radius(np.arctan2(y, x))

    return {"disc (random)": (*disc, in_disc), "flower (uniform)": (*flower_u, in_flower),
            "flower (random)": (*flower_r, in_flower)}


def run(p, b, method, options):
    t = time.perf_counter()
    sol = solve_poisson(p, poisson_exact.laplacian, boundary=b, g=poisson_exact,
                        method=method, **options)
    wall = time.perf_counter() - t
    err = np.abs(sol.u - poisson_exact(p))
    return sol, err, wall


def label(method, options):
    opts = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"{method}({opts})"


def plot(path, name, p, b, u, err, inside, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.tri as mtri

    tri = mtri.Triangulation(p[:, 0], p[:, 1])
    c = p[tri.triangles].mean(axis=1)
    tri.set_mask(~inside(c[:, 0], c[:, 1]))           # no triangles across the outside
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.6))
    ax[0].scatter(p[:, 0], p[:, 1], s=1.5, c="tab:blue", label=f"interior N = {len(p)}")
    ax[0].scatter(b[:, 0], b[:, 1], s=1.5, c="tab:red", label=f"boundary Nb = {len(b)}")
    ax[0].legend(loc="upper right", fontsize=8, markerscale=4)
    ax[0].set_title(f"{name}: samples")
    im = ax[1].tripcolor(tri, u, shading="gouraud", cmap="viridis")
    fig.colorbar(im, ax=ax[1])
    ax[1].set_title("numerical solution u_h")
    im = ax[2].tripcolor(tri, err, shading="gouraud", cmap="magma")
    fig.colorbar(im, ax=ax[2])
    ax[2].set_title(f"|u_h − u|, L∞ = {err.max():.2e}")
    for a in ax:
        a.set_aspect("equal")
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outdir", default=".", help="where to write the PNG files")
    ap.add_argument("--quick", action="store_true",
                    help="quarter-size samples (grid spacing 0.1), for smoke tests")
    ap.add_argument("--method", default="clsgsp",
                    help="stencil method of the main solve (default clsgsp)")
    ap.add_argument("--k", type=int, default=60, help="neighbours (default 60, the paper's)")
    ap.add_argument("--order", type=int, default=2,
                    help="polynomial order of a non-GSP --method (default 2)")
    ap.add_argument("--shape", type=float, default=None,
                    help="c r̄² of the GSP methods (default solve_poisson's, 0.1)")
    ap.add_argument("--rbf", default=None, help="RBF of the GSP methods (default Gaussian)")
    ap.add_argument("--shape-sweep", action="store_true",
                    help="also tabulate the error over c r̄² = 1e-3 … 1")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random samples")
    args = ap.parse_args(argv)
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)

    main_opts = {"k": args.k}
    if "ghosts" not in get_method(args.method).options:     # not a ghost-point method
        main_opts["order"] = args.order
    else:
        main_opts.update({key: v for key, v in (("shape", args.shape), ("rbf", args.rbf))
                          if v is not None})
    runs = [(args.method, main_opts)] + [c for c in COMPARISON
                                         if c != (args.method, main_opts)]
    cases = problems(args.quick, args.seed)
    print(f"seed 003 §4.4: Δu = f, u = 1 + sin 4x + cos 3x + sin 2y"
          f"{'  (--quick: reduced sizes, paper errors not comparable)' if args.quick else ''}")
    head = f"{'problem':18s} {'N':>5s} {'Nb':>5s}  {'method':34s} {'L∞ error':>9s} " \
           f"{'paper':>7s} {'ratio':>6s} {'cond(A)':>8s} {'time s':>7s} {'(op/LU)':>11s}"
    print(head)
    print("-" * len(head))
    for name, (p, b, inside) in cases.items():
        for i, (method, opts) in enumerate(runs):
            sol, err, wall = run(p, b, method, opts)
            t = sol.diagnostics["timings"]
            paper = PAPER[name]
            print(f"{name:18s} {len(p):5d} {len(b):5d}  {label(method, opts):34s} "
                  f"{err.max():9.2e} {paper:7.0e} {err.max() / paper:6.2f} "
                  f"{sol.condition:8.1e} {wall:7.2f} "
                  f"({t['operator']:.2f}/{t['factorize'] + t['solve']:.2f})", flush=True)
            if i == 0:
                fname = outdir / f"seed003_poisson_{name.split()[0]}_{name.split()[1][1:-1]}.png"
                plot(fname, name, p, b, sol.u, err, inside,
                     f"seed 003 §4.4, {name}: {label(method, opts)}")
    if args.shape_sweep:
        shapes = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
        print(f"\nCLS-GSP L∞ error over c r̄² (k = {args.k}, 49 disc ghosts, "
              f"{args.rbf or 'gaussian'} RBF)")
        print(f"{'c r̄²':>7s} " + " ".join(f"{n:>17s}" for n in cases))
        for s in shapes:
            row = []
            for name, (p, b, _) in cases.items():
                opts = {"k": args.k, "shape": s}
                if args.rbf is not None:
                    opts["rbf"] = args.rbf
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    _, err, _ = run(p, b, "clsgsp", opts)
                row.append(f"{err.max():17.2e}")
            print(f"{s:7.0e} " + " ".join(row), flush=True)
    print(f"\nwrote {outdir}/seed003_poisson_*.png")


if __name__ == "__main__":
    main()
