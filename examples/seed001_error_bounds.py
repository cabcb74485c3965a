"""Seed 001 reproduced: Turner, Belward & Oqielat, "Error bounds for least squares
gradient estimates" (SIAM J. Sci. Comput. 32, 2010), §5.

Prints our relative gradient errors and the bounds Bound1 (Props. 3.2/3.3) and Bound2
(Props. 4.2/4.3) side by side with the paper's Tables 5.1–5.12, and saves log–log plots
like Figs. 5.2–5.6 into ``--outdir``.

* §5.1: 30 random points with r ∈ [1, 2], θ ∈ [0, 2π); the 14 nearest the origin are
  displacements from a = (0.2, 0.1), scaled by 0.25 … 2.5e-5. The paper's set is random
  and unpublished, ours is ``default_rng(1)``: compare magnitudes and rates, not digits.
* §5.2: Franke's 133 nodes, the 10, 15, …, 35 nearest to a (a itself is a node and is
  not its own neighbour), orders 1–3, classical and weighted least squares. The paper
  does not say which weight it used in Tables 5.8/5.10/5.12; inverse distance (d = 1)
  matches its magnitudes, d = 2 gives bounds several times larger.

ϑ_max is, as in the paper, a global estimate: √2 · max |∂^{n+1} f| over the unit square
(101 × 101 grid, derivatives by central differences of the exact function; the paper
used Maple). The bounds are relative, divided by ‖∇f(a)‖ like the errors.

Run:  python examples/seed001_error_bounds.py --outdir /tmp/s001
"""
import argparse
import os

import numpy as np

from o3d_meshless.scattered.bounds import stencil_bounds
from o3d_meshless.testing import SEED001, derivative_max, franke_nodes

A = np.array([0.2, 0.1])
RADII = [2.5e-1, 2.5e-2, 2.5e-3, 2.5e-4, 2.5e-5]
SIZES = [10, 15, 20, 25, 30, 35]
WEIGHTED = 1            # the weight exponent d of w_i = h_i^-d used for Tables 5.8–5.12


def _t(text):
    return np.array([[float(v) for v in line.split()] for line in text.strip().splitlines()])


# Paper, §5.1: per radius (rows) rel. error, Bound1, Bound2 for orders 2 then 3
PAPER_51 = {
    "F1": _t("""
4.8981e-01 4.9819e+01 2.6869e+00 1.4095e-01 1.6826e+03 1.8366e+00
7.4944e-03 4.9494e+00 2.6869e-02 2.1657e-04 1.6728e+02 1.8366e-03
7.5058e-05 4.9491e-01 2.6869e-04 2.2999e-07 1.6727e+01 1.8366e-06
7.5038e-07 4.9491e-02 2.6869e-06 2.3235e-10 1.6727e+00 1.8366e-09
7.5037e-09 4.9491e-03 2.6869e-08 6.8197e-12 1.6727e-01 1.8366e-12"""),
    "F2": _t("""
2.3760e-01 2.4069e+01 1.2981e+00 4.1537e-02 5.3435e+02 5.8325e-01
2.6968e-03 2.3912e+00 1.2981e-02 4.5445e-05 5.3125e+01 5.8325e-04
2.6960e-05 2.3910e-01 1.2981e-04 4.5946e-08 5.3120e+00 5.8325e-07
2.6956e-07 2.3910e-02 1.2981e-06 4.5712e-11 5.3120e-01 5.8325e-10
2.6977e-09 2.3910e-03 1.2981e-08 2.5271e-12 5.3120e-02 5.8325e-13"""),
    "F3": _t("""
7.1965e-02 2.0562e+01 1.1090e+00 8.5304e-02 1.1333e+03 1.2370e+00
7.2914e-04 2.0428e+00 1.1090e-02 2.5560e-05 1.1266e+02 1.2370e-03
7.3165e-06 2.0426e-01 1.1090e-04 2.3839e-08 1.1266e+01 1.2370e-06
7.3197e-08 2.0426e-02 1.1090e-06 2.5055e-11 1.1266e+00 1.2370e-09
7.3197e-10 2.0426e-03 1.1090e-08 9.8809e-12 1.1266e-01 1.2370e-12"""),
}
# Tables 5.4–5.6: radius 2.5e-3, weight exponents 0, 1, 2, 3, 4 (the paper writes −d)
PAPER_WEIGHTS = {
    "F1": _t("""
7.5058e-05 4.9491e-01 2.6869e-04 2.2999e-07 1.6727e+01 1.8366e-06
7.3037e-05 5.5877e-01 2.9682e-04 2.2310e-07 1.9309e+01 2.0289e-06
7.1068e-05 6.2744e-01 3.2504e-04 2.1729e-07 2.2420e+01 2.2218e-06
6.9239e-05 7.0060e-01 3.5272e-04 2.1260e-07 2.6169e+01 2.4110e-06
6.7616e-05 7.7780e-01 3.7894e-04 2.0907e-07 3.0684e+01 2.5903e-06"""),
    "F2": _t("""
2.6960e-05 2.3910e-01 1.2981e-04 4.5946e-08 5.3120e+00 5.8325e-07
2.5936e-05 2.6996e-01 1.4340e-04 4.6820e-08 6.1320e+00 6.4435e-07
2.4961e-05 3.0314e-01 1.5704e-04 4.7339e-08 7.1200e+00 7.0560e-07
2.4073e-05 3.3848e-01 1.7041e-04 4.7496e-08 8.3104e+00 7.6565e-07
2.3299e-05 3.7577e-01 1.8308e-04 4.7335e-08 9.7445e+00 8.2260e-07"""),
    "F3": _t("""
7.3165e-06 2.0426e-01 1.1090e-04 2.3839e-08 1.1266e+01 1.2370e-06
7.1454e-06 2.3062e-01 1.2250e-04 2.3663e-08 1.3005e+01 1.3665e-06
6.9909e-06 2.5896e-01 1.3416e-04 2.3631e-08 1.5100e+01 1.4964e-06
6.8628e-06 2.8916e-01 1.4558e-04 2.3715e-08 1.7625e+01 1.6238e-06
6.7686e-06 3.2101e-01 1.5640e-04 2.3896e-08 2.0666e+01 1.7446e-06"""),
}
# Tables 5.7–5.12: per stencil size 10..35: order 1 (err, B1), order 2 (err, B1, B2),
# order 3 (err, B1, B2). Table 5.7 labels its rows 10, 15, 20, 25, 25, 30 (a misprint).
PAPER_52 = {
    ("F1", False): _t("""
0.16 0.31e1 0.18 0.045e3 0.029e2 0.008 0.285e4 0.037e2
0.35 0.35e1 0.21 0.056e3 0.033e2 0.018 0.149e4 0.038e2
0.43 0.44e1 0.22 0.085e3 0.068e2 0.025 0.199e4 0.092e2
0.60 0.51e1 0.22 0.102e3 0.103e2 0.155 0.227e4 0.117e2
0.69 0.55e1 0.23 0.110e3 0.131e2 0.186 0.238e4 0.150e2
0.75 0.57e1 0.23 0.105e3 0.149e2 0.201 0.237e4 0.182e2"""),
    ("F1", True): _t("""
0.122 0.065e2 0.143 0.111e3 0.062e2 0.008 0.0449e5 0.05e2
0.117 0.085e2 0.141 0.155e3 0.071e2 0.009 0.0460e5 0.07e2
0.138 0.127e2 0.144 0.273e3 0.145e2 0.002 0.0677e5 0.19e2
0.187 0.162e2 0.144 0.371e3 0.219e2 0.069 0.0901e5 0.30e2
0.220 0.190e2 0.143 0.438e3 0.284e2 0.096 0.1015e5 0.39e2
0.245 0.210e2 0.142 0.452e3 0.332e2 0.109 0.0999e5 0.47e2"""),
    ("F2", False): _t("""
0.14 0.24e1 0.05 0.22e2 0.14e1 0.011 0.148e4 0.019e2
0.04 0.27e1 0.06 0.28e2 0.16e1 0.013 0.078e4 0.020e2
0.04 0.35e1 0.06 0.42e2 0.33e1 0.011 0.104e4 0.048e2
0.04 0.40e1 0.06 0.50e2 0.50e1 0.031 0.118e4 0.061e2
0.06 0.43e1 0.06 0.54e2 0.64e1 0.033 0.124e4 0.078e2
0.08 0.45e1 0.05 0.51e2 0.73e1 0.039 0.124e4 0.095e2"""),
    ("F2", True): _t("""
0.097 0.051e2 0.043 0.055e3 0.030e2 0.010 0.2335e4 0.03e2
0.068 0.066e2 0.048 0.076e3 0.035e2 0.015 0.2391e4 0.04e2
0.058 0.099e2 0.050 0.134e3 0.071e2 0.015 0.3521e4 0.10e2
0.059 0.127e2 0.060 0.182e3 0.107e2 0.009 0.4687e4 0.16e2
0.061 0.148e2 0.067 0.214e3 0.139e2 0.008 0.5283e4 0.21e2
0.067 0.164e2 0.069 0.221e3 0.163e2 0.011 0.5199e4 0.25e2"""),
    ("F3", False): _t("""
0.08 0.32e1 0.02 0.058e3 0.038e2 0.009 0.9638e4 0.124e2
0.09 0.35e1 0.04 0.073e3 0.043e2 0.009 0.5042e4 0.129e2
0.20 0.45e1 0.04 0.111e3 0.089e2 0.005 0.6760e4 0.313e2
0.27 0.52e1 0.05 0.133e3 0.134e2 0.014 0.7682e4 0.395e2
0.33 0.56e1 0.04 0.144e3 0.171e2 0.018 0.8067e4 0.508e2
0.38 0.58e1 0.04 0.137e3 0.195e2 0.019 0.8037e4 0.617e2"""),
    ("F3", True): _t("""
0.116 0.066e2 0.009 0.145e3 0.081e2 0.009 0.1518e5 0.018e3
0.053 0.086e2 0.025 0.202e3 0.092e2 0.011 0.1555e5 0.025e3
0.005 0.128e2 0.027 0.356e3 0.189e2 0.009 0.2289e5 0.066e3
0.025 0.164e2 0.029 0.484e3 0.286e2 0.001 0.3048e5 0.102e3
0.050 0.191e2 0.031 0.570e3 0.370e2 0.003 0.3435e5 0.134e3
0.071 0.212e2 0.031 0.588e3 0.433e2 0.004 0.3381e5 0.160e3"""),
}
PAPER_COLS_52 = {1: [0, 1], 2: [2, 3, 4], 3: [5, 6, 7]}


def directions(seed=1):
    """30 points r ∈ [1, 2], θ ∈ [0, 2π); the 14 nearest the origin (§5.1)."""
    rng = np.random.default_rng(seed)
    r, t = rng.uniform(1, 2, 30), rng.uniform(0, 2 * np.pi, 30)
    return np.c_[r * np.cos(t), r * np.sin(t)][np.argsort(r)[:14]]


def global_lipschitz(f, order):
    """√2 max over the unit square of |∂^{n+1} f| (the paper's global ϑ_max)."""
    g = np.linspace(0, 1, 101)
    grid = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    return np.sqrt(2) * derivative_max(f, grid, order + 1)


def estimate(f, off, order, weights, theta):
    """(relative error, Bound1, Bound2, h_max) of the gradient at A from offsets."""
    b, sw = stencil_bounds(off, order=order, weights=weights, lipschitz=theta)
    df = f(A + off) - f(A)
    g = np.array([sw[(1, 0)] @ df, sw[(0, 1)] @ df])
    gn = np.linalg.norm(f.gradient(A))
    return np.linalg.norm(g - f.gradient(A)) / gn, b["bound1"] / gn, b["bound2"] / gn, b["h_max"]


def fmt(v):
    return f"{v:10.3e}"


def section51(thetas):
    print("=" * 100)
    print("§5.1 asymptotic results (Tables 5.1–5.6). The paper's 14 directions are random and")
    print("unpublished, ours are default_rng(1): compare magnitudes and rates, not digits.")
    dirs = directions()
    res, resw = {}, {}
    for name, f in SEED001.items():
        for order in (2, 3):
            res[name, order] = np.array([estimate(f, r * dirs, order, 0, thetas[name, order])
                                         for r in RADII])
            resw[name, order] = np.array([estimate(f, 2.5e-3 * dirs, order, d,
                                                   thetas[name, order]) for d in range(5)])
    for name in SEED001:
        table = {"F1": "5.1", "F2": "5.2", "F3": "5.3"}[name]
        print(f"\nTable {table}: {name}, classical least squares, varying radius")
        for order in (2, 3):
            c = slice(0, 3) if order == 2 else slice(3, 6)
            paper = PAPER_51[name][:, c]
            print(f"  order {order}   {'ours: rel.err':>14} {'Bound1':>10} {'Bound2':>10}   | "
                  f"{'paper: rel.err':>14} {'Bound1':>10} {'Bound2':>10}")
            for i, r in enumerate(RADII):
                o = res[name, order][i]
                print(f"  {r:8.1e}   {o[0]:14.3e} {fmt(o[1])} {fmt(o[2])}   | "
                      f"{paper[i, 0]:14.3e} {fmt(paper[i, 1])} {fmt(paper[i, 2])}")
            e, pe = res[name, order][:, 0], paper[:, 0]
            print("  rate (decades/decade) ours: " + " ".join(f"{s:5.2f}" for s in
                                                          np.log10(e[:-1] / e[1:]))
                  + "   paper: " + " ".join(f"{s:5.2f}" for s in np.log10(pe[:-1] / pe[1:])))
    for name in SEED001:
        table = {"F1": "5.4", "F2": "5.5", "F3": "5.6"}[name]
        print(f"\nTable {table}: {name}, weights h^-d at radius 2.5e-3")
        for order in (2, 3):
            c = slice(0, 3) if order == 2 else slice(3, 6)
            paper = PAPER_WEIGHTS[name][:, c]
            print(f"  order {order} d   {'ours: rel.err':>14} {'Bound1':>10} {'Bound2':>10}   | "
                  f"{'paper: rel.err':>14} {'Bound1':>10} {'Bound2':>10}")
            for d in range(5):
                o = resw[name, order][d]
                print(f"          {d}   {o[0]:14.3e} {fmt(o[1])} {fmt(o[2])}   | "
                      f"{paper[d, 0]:14.3e} {fmt(paper[d, 1])} {fmt(paper[d, 2])}")
    return res, resw


def section52(thetas):
    print("\n" + "=" * 100)
    print("§5.2 Franke's 133 nodes, a = (0.2, 0.1), the m nearest nodes (Tables 5.7–5.12);")
    print(f"weighted = inverse distance w_i = h_i^-{WEIGHTED} (the paper does not state d).")
    nodes = franke_nodes()
    dist = np.linalg.norm(nodes - A, axis=1)
    dist[dist == 0] = np.inf                 # a is itself one of the nodes
    order_idx = np.argsort(dist)
    res = {}
    tables = {("F1", False): "5.7", ("F1", True): "5.8", ("F2", False): "5.9",
              ("F2", True): "5.10", ("F3", False): "5.11", ("F3", True): "5.12"}
    for name, f in SEED001.items():
        for weighted in (False, True):
            w = WEIGHTED if weighted else 0
            print(f"\nTable {tables[name, weighted]}: {name}, "
                  f"{'weighted' if weighted else 'classical'} least squares")
            paper = PAPER_52[name, weighted]
            for order in (1, 2, 3):
                rows = np.array([estimate(f, nodes[order_idx[:m]] - A, order, w,
                                          thetas[name, order]) for m in SIZES])
                res[name, weighted, order] = rows
                pc = PAPER_COLS_52[order]
                print(f"  order {order}  m  h_max  {'ours: rel.err':>13} {'Bound1':>9} "
                      f"{'Bound2':>9}  | {'paper: rel.err':>14} {'Bound1':>9} {'Bound2':>9}")
                for i, m in enumerate(SIZES):
                    o, p = rows[i], paper[i, pc]
                    b2 = f"{o[2]:9.2e}" if order > 1 else f"{'—':>9}"
                    pb2 = f"{p[2]:9.2e}" if order > 1 else f"{'—':>9}"
                    print(f"          {m:2d}  {o[3]:.3f} {o[0]:13.3f} {o[1]:9.2e} {b2}  | "
                          f"{p[0]:14.3f} {p[1]:9.2e} {pb2}")
    return res


def plots(outdir, res51, res51w, res52):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(outdir, exist_ok=True)
    saved = []
    for order, fig_no in ((2, "5_2"), (3, "5_3")):
        fig, axes = plt.subplots(3, 2, figsize=(10, 11))
        for row, name in enumerate(SEED001):
            c = slice(0, 3) if order == 2 else slice(3, 6)
            ax = axes[row, 0]
            o = res51[name, order]
            for j, (lab, mk) in enumerate((("rel. error", "o"), ("Bound1", "^"), ("Bound2", "s"))):
                ax.loglog(RADII, o[:, j], mk + "-", label=lab)
                ax.loglog(RADII, PAPER_51[name][:, c][:, j], mk + ":", color=f"C{j}", alpha=.5,
                          label=f"{lab} (paper)")
            ax.set(xlabel="radius", ylabel="relative", title=f"{name}, order {order}")
            ax.invert_xaxis()
            ax = axes[row, 1]
            o = res51w[name, order]
            d = np.arange(5)
            for j, (lab, mk) in enumerate((("rel. error", "o"), ("Bound1", "^"), ("Bound2", "s"))):
                ax.semilogy(d, o[:, j], mk + "-", label=lab)
                ax.semilogy(d, PAPER_WEIGHTS[name][:, c][:, j], mk + ":", color=f"C{j}",
                            alpha=.5)
            ax.set(xlabel="weight exponent d (w = h^-d)", title=f"{name}, order {order}, "
                   "radius 2.5e-3")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle(f"Fig. {fig_no.replace('_', '.')}: order-{order} least squares errors and "
                     "bounds (solid: ours, dotted: paper)")
        fig.tight_layout()
        path = os.path.join(outdir, f"fig{fig_no}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        saved.append(path)
    for name, fig_no in zip(SEED001, ("5_4", "5_5", "5_6")):
        fig, axes = plt.subplots(3, 2, figsize=(10, 11))
        for order in (1, 2, 3):
            for col, weighted in enumerate((False, True)):
                ax = axes[order - 1, col]
                o = res52[name, weighted, order]
                p = PAPER_52[name, weighted][:, PAPER_COLS_52[order]]
                labs = ("rel. error", "Bound1", "Bound2")[:2 if order == 1 else 3]
                for j, (lab, mk) in enumerate(zip(labs, "o^s")):
                    ax.loglog(o[:, 3], o[:, j], mk + "-", label=lab)
                    ax.loglog(o[:, 3], p[:, j], mk + ":", color=f"C{j}", alpha=.5)
                ax.set(xlabel="h_max", title=f"{name}, order {order}, "
                       f"{'weighted' if weighted else 'classical'}")
        axes[0, 0].legend(fontsize=7)
        fig.suptitle(f"Fig. {fig_no.replace('_', '.')}: Franke's nodes, m = 10…35 "
                     "(solid: ours, dotted: paper at our h_max)")
        fig.tight_layout()
        path = os.path.join(outdir, f"fig{fig_no}.png")
        fig.savefig(path, dpi=90)
        plt.close(fig)
        saved.append(path)
    return saved


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outdir", default="seed001_out", help="folder for the PNG figures")
    ap.add_argument("--no-plots", action="store_true", help="print the tables only")
    args = ap.parse_args(argv)
    thetas = {(name, n): global_lipschitz(f, n) for name, f in SEED001.items()
              for n in (1, 2, 3)}
    print("global ϑ_max = √2 max_[0,1]² |∂^{n+1} f|: " + ", ".join(
        f"{name} n={n}: {v:.4g}" for (name, n), v in thetas.items()))
    res51, res51w = section51(thetas)
    res52 = section52(thetas)
    if not args.no_plots:
        for path in plots(args.outdir, res51, res51w, res52):
            print("saved", path)


if __name__ == "__main__":
    main()
