"""Seed 003 reproduced: Ying, Chu & Leung, "A Constrained Least-Squares Ghost Sample Points
(CLS-GSP) Method for Differential Operators on Point Clouds", §4.5 — the Laplace–Beltrami
operator on the unit sphere sampled by the grid-based particle method (GBPM).

What is run:

* §4.5.2 (Tables 2 and 3, Fig. 13): for Δx = 0.2, 0.1, 0.05 (``--full`` adds 0.025) the
  sphere is sampled as the paper does (``o3d_meshless.testing.gbpm_sphere``: every grid
  node within 1.5Δx of the sphere projected onto it, exact duplicates included), the
  strong-form operator L ≈ −Δ_S is built (``LaplaceBeltrami(method="clsgsp")``, k = 16,
  degree 2, Gaussian, 8 ghosts on a circle), and its 49 smallest eigenvalues (the l ≤ 6
  clusters of λ = l(l+1), multiplicity 2l+1) give
  E2(l) = sqrt(mean((λ − l(l+1))² / (l(l+1))²)) and E∞(l) = max |λ − l(l+1)| / (l(l+1)),
  printed beside the paper's Tables 2 and 3 with the observed order in Δx between
  successive sizes. Fig. 13 is redrawn (E2, E∞ against Δx with a slope-2 reference).
  ``--compare`` adds the seed-001 Taylor least-squares operator (``method="taylor"``,
  guarded) to the tables and to the stability check.
* §4.5.1 (Fig. 12): stability. At the smallest sample (Δx = 0.2; ``--full`` also
  Δx = 0.1, the paper's N = 3795 case) the WHOLE spectrum of L is computed densely
  (``scipy.linalg.eigvals``) for CLS-GSP, for LS-GSP (no constraint through the centre)
  and for a plain least-squares quadratic fit (``orthopoly`` with
  ``centre="least-squares"``, the paper's GBPM LS comparison); the two LS operators are
  built with ``guard=False``, unguarded like the paper's. Printed: how many eigenvalues
  have Re λ < −1e-8, and min Re λ; the complex plane is drawn like Fig. 12. At the
  larger sizes only a window of 49 eigenvalues nearest the origin is checked
  (shift-invert ARPACK at σ = −1; for the main method the ``spectrum()`` window).
* ``--pictures`` (§4.5.3, Fig. 14): the eigenfunction pictures are made the way a user
  would make them, with the command line: ``o3d-meshless spectrum`` on the shipped
  Stanford bunny (modes 1, 2, 3, 6) and on Keenan Crane's public-domain "Spot" cow
  (``o3d_meshless/data/spot.ply``, modes 1, 2, 6, 16; the paper's Viewpoint cow has no
  known licence).

The paper's grid placement is not given: our Δx = 0.2 … 0.025 samples have 1010, 3850,
15106, 60434 points (paper: 984, 3795, 15127, 60322), so compare magnitudes and orders,
not digits. Table 3's Δx = 0.05, l = 6 entry (1.32e-3) is below the matching E2 (8.80e-3)
although E∞ ≥ E2 always holds: presumably a typo for 1.32e-2.

Run:  python examples/seed003_sphere_spectrum.py [--full] [--quick] [--compare]
      [--pictures] [--outdir DIR]
"""
import argparse
import csv
import os
import subprocess
import sys
import time
import warnings

import numpy as np
from scipy import linalg
from scipy.sparse import linalg as sla

import o3d_meshless as om
from o3d_meshless.testing import gbpm_sphere, sphere_eigenvalue_errors

L_MAX = 6
N_EIG = (L_MAX + 1) ** 2                       # 49 eigenvalues: l = 0 .. 6
NEG_TOL = -1e-8

PAPER_DX = (0.2, 0.1, 0.05, 0.025)
PAPER_N = {0.2: 984, 0.1: 3795, 0.05: 15127, 0.025: 60322}
# Table 2 (E2) and Table 3 (E∞), rows l = 1..7, columns Δx = 0.2, 0.1, 0.05, 0.025
PAPER_E2 = np.array([
    [1.47e-2, 3.89e-3, 9.53e-4, 2.38e-4],
    [9.64e-3, 2.50e-3, 2.10e-4, 2.10e-5],
    [3.01e-2, 6.23e-3, 1.42e-3, 4.33e-4],
    [4.66e-2, 1.86e-2, 3.45e-3, 9.35e-4],
    [8.80e-2, 2.42e-2, 5.62e-3, 1.47e-3],
    [1.22e-1, 3.39e-2, 8.80e-3, 2.42e-3],
    [1.92e-1, 4.67e-2, 1.18e-2, 3.02e-3]])
PAPER_EINF = np.array([
    [1.68e-2, 4.29e-3, 9.92e-4, 2.43e-4],
    [1.52e-2, 3.64e-3, 2.84e-4, 4.15e-5],
    [6.25e-2, 8.68e-3, 1.81e-3, 6.44e-4],
    [6.72e-2, 3.45e-2, 5.07e-3, 1.57e-3],
    [1.15e-1, 3.33e-2, 7.05e-3, 1.95e-3],
    [1.61e-1, 4.26e-2, 1.32e-3, 4.16e-3],    # 1.32e-3: sic (< E2), likely 1.32e-2
    [2.88e-1, 5.99e-2, 1.41e-2, 3.86e-3]])

# the two unconstrained least-squares operators of the stability check (unguarded)
LS_METHODS = (("lsgsp", dict(method="lsgsp", guard=False)),
              ("LS quadratic", dict(method="orthopoly", centre="least-squares", guard=False)))


def paper(table, dx, l):
    """The paper's entry for Δx and l, or NaN where it has none."""
    for j, d in enumerate(PAPER_DX):
        if np.isclose(d, dx):
            return table[l - 1, j]
    return np.nan


def sphere_eigenvalue_max_errors(vals, l_max=L_MAX):
    """E∞(l) = max over the 2l+1 eigenvalues of |λ − l(l+1)| / (l(l+1))."""
    out, i = [], 1
    for l in range(1, l_max + 1):
        v = np.asarray(vals[i:i + 2 * l + 1])
        out.append(np.max(np.abs(v - l * (l + 1))) / (l * (l + 1)))
        i += 2 * l + 1
    return np.array(out)


def order(e1, e2, dx1, dx2):
    return np.log(e1 / e2) / np.log(dx1 / dx2)


def build(points, **kw):
    t = time.perf_counter()
    op = om.LaplaceBeltrami(progress=False, **kw).fit(points)
    return op, time.perf_counter() - t


def method_kwargs(method):
    return dict(method=method)


# ----------------------------------------------------------------------------- §4.5.2
def convergence(method, dxs, n_eig):
    """Per Δx: N, timings, guard counts, eigenvalues, E2, E∞, window stability."""
    rows = []
    for dx in dxs:
        pts = gbpm_sphere(dx)
        op, t_build = build(pts, **method_kwargs(method))
        t = time.perf_counter()
        with warnings.catch_warnings():          # complex pairs: max|Im λ| is printed below
            warnings.simplefilter("ignore", RuntimeWarning)
            vals, _ = op.spectrum(n_eig)
        t_solve = time.perf_counter() - t
        d = op.diagnostics_
        rows.append(dict(dx=dx, n=len(pts), n_unique=len(np.unique(pts, axis=0)),
                         t_build=t_build, t_solve=t_solve,
                         guard_rows=int(d.get("guard_rows", 0)),
                         failed_rows=int(d.get("failed_rows", 0)),
                         vals=vals, max_imag=float(op.max_imag_),
                         e2=sphere_eigenvalue_errors(vals, L_MAX),
                         einf=sphere_eigenvalue_max_errors(vals, L_MAX)))
        r = rows[-1]
        print(f"  Δx = {dx:<6g} N = {r['n']:6d} ({r['n_unique']} distinct; paper "
              f"{PAPER_N.get(dx, '–')})  build {t_build:5.2f} s  eigs {t_solve:5.2f} s  "
              f"guard rows {r['guard_rows']} (failed {r['failed_rows']})  "
              f"max|Im λ| {r['max_imag']:.1e}", flush=True)
    return rows


def print_table(rows, key, table, title):
    dxs = [r["dx"] for r in rows]
    print(f"\n{title}: ours / paper per l, then the observed order in Δx (ours | paper)")
    head = "   l   λ " + "".join(f"   {'Δx = %g' % dx:>9s} ours / paper" for dx in dxs)
    head += "".join(f"   {'%g→%g' % (a, b):>15s}" for a, b in zip(dxs[:-1], dxs[1:]))
    print(head)
    for l in range(1, L_MAX + 1):
        line = f"  {l:2d} {l * (l + 1):3d} "
        for r in rows:
            line += f"   {r[key][l - 1]:9.3e} / {paper(table, r['dx'], l):8.2e}"
        for a, b in zip(rows[:-1], rows[1:]):
            ours = order(a[key][l - 1], b[key][l - 1], a["dx"], b["dx"])
            theirs = order(paper(table, a["dx"], l), paper(table, b["dx"], l), a["dx"], b["dx"])
            line += f"   {ours:6.2f} | {theirs:5.2f}"
        print(line)


# ----------------------------------------------------------------------------- §4.5.1
def operators_for_stability(method, extra=()):
    ops = [(method, method_kwargs(method))]
    ops += [(name, kw) for name, kw in LS_METHODS if name != method]
    ops += [(m, method_kwargs(m)) for m in extra if m != method]
    return ops


def dense_stability(method, dx, extra=()):
    """Whole spectrum of L for the main method and the two unguarded LS operators."""
    pts = gbpm_sphere(dx)
    out = []
    for name, kw in operators_for_stability(method, extra):
        op, t_build = build(pts, **kw)
        t = time.perf_counter()
        ev = linalg.eigvals(op.L_.toarray(), overwrite_a=True, check_finite=False)
        t_eig = time.perf_counter() - t
        n_neg = int(np.sum(ev.real < NEG_TOL))
        out.append(dict(name=name, ev=ev, n_neg=n_neg, min_re=float(ev.real.min()),
                        max_imag=float(np.abs(ev.imag).max())))
        print(f"  Δx = {dx:<5g} N = {len(pts):5d}  {name:13s}  Re λ < −1e-8: {n_neg:5d} of "
              f"{len(ev)}   min Re λ = {ev.real.min():+.3e}   max|Im λ| = "
              f"{np.abs(ev.imag).max():.3g}   (build {t_build:.2f} s, eigvals {t_eig:.1f} s)",
              flush=True)
    return out


def window_stability(method, row, n_eig, extra=()):
    """Smallest-magnitude window at a larger size: no dense solve."""
    pts = gbpm_sphere(row["dx"])
    vals = row["vals"]
    res = [(method, int(np.sum(vals < NEG_TOL)), float(vals.min()), row["t_solve"])]
    for name, kw in operators_for_stability(method, extra)[1:]:
        op, _ = build(pts, **kw)
        t = time.perf_counter()
        try:
            ev = sla.eigs(op.L_.tocsc(), k=n_eig, sigma=-1.0, which="LM",
                          return_eigenvectors=False)
            res.append((name, int(np.sum(ev.real < NEG_TOL)), float(ev.real.min()),
                        time.perf_counter() - t))
        except (sla.ArpackNoConvergence, RuntimeError) as exc:      # pragma: no cover
            res.append((name, -1, np.nan, time.perf_counter() - t))
            print(f"    {name}: ARPACK failed ({exc})")
    for name, n_neg, min_re, t in res:
        print(f"  Δx = {row['dx']:<5g} N = {row['n']:6d}  {name:13s}  window of {n_eig} "
              f"nearest σ: Re λ < −1e-8: {n_neg:3d}   min Re λ = {min_re:+.3e}  ({t:.1f} s)",
              flush=True)
    return res


# ----------------------------------------------------------------------------- figures
def plot_convergence(rows, path, method):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    dxs = np.array([r["dx"] for r in rows])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, key, table, name in ((axes[0], "e2", PAPER_E2, "E2"),
                                 (axes[1], "einf", PAPER_EINF, "E∞")):
        for l in range(1, L_MAX + 1):
            line, = ax.loglog(dxs, [r[key][l - 1] for r in rows], "o-", label=f"l = {l}")
            pd = [d for d in PAPER_DX if d >= dxs.min() - 1e-12]
            ax.loglog(pd, [paper(table, d, l) for d in pd], "x:", color=line.get_color(),
                      alpha=0.6)
        ref = np.array([dxs.min(), dxs.max()])
        top = max(max(r[key]) for r in rows)
        ax.loglog(ref, 1.5 * top * (ref / ref.max()) ** 2, "k--", label="slope 2")
        ax.set_xticks(dxs)
        ax.set_xticklabels([f"{d:g}" for d in dxs])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("Δx")
        ax.set_title(f"{name} of λ = l(l+1) ({method}; ×: paper)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_dense(dense, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nrow, ncol = len(dense), len(dense[0][1])
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.8 * nrow), squeeze=False)
    for i, (dx, res) in enumerate(dense):
        for j, r in enumerate(res):
            ax = axes[i, j]
            ev = r["ev"]
            ax.scatter(ev.real, ev.imag, s=3, c=np.where(ev.real < NEG_TOL, "C3", "C0"))
            ax.axvline(0, color="k", lw=0.6)
            ax.set_title(f"{r['name']}, N = {len(ev)} (Δx = {dx:g})\n"
                         f"{r['n_neg']} with Re λ < 0, min Re = {r['min_re']:.2g}", fontsize=9)
            ax.set_xlabel("Re λ")
            ax.set_ylabel("Im λ")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- §4.5.3
def pictures(outdir):
    """Fig. 14 through the command line, as a user would make it."""
    data = os.path.join(os.path.dirname(om.__file__), "data")
    runs = [("bunny_clsgsp.png", ["--modes", "20", "--show-modes", "1,2,3,6"]),
            ("spot_clsgsp.png", [os.path.join(data, "spot.ply"), "--modes", "20",
                                 "--show-modes", "1,2,6,16", "--up", "y", "--view", "15,-60"])]
    for png, args in runs:
        cmd = [sys.executable, "-m", "o3d_meshless", "spectrum", *args, "--method", "clsgsp",
               "--png", os.path.join(outdir, png), "--force"]     # a rerun replaces them
        print("$ o3d-meshless " + " ".join(cmd[3:]), flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"o3d-meshless failed:\n{proc.stderr}")
        # table rows: "mode eigenvalue", negative ones followed by "<- spurious (negative)"
        vals = [float(line.split()[1]) for line in proc.stdout.splitlines()
                if line.strip() and line.split()[0].isdigit() and len(line.split()) >= 2]
        keep = [line for line in proc.stdout.splitlines()
                if line.startswith(("guard rows", "failed rows", "negative eigenvalues",
                                    "largest |imag|", "M-orthogonality", "wrote"))]
        print("  " + "\n  ".join(keep))
        print(f"  eigenvalues: min {min(vals):+.3e}, negative (< −1e-8): "
              f"{sum(v < NEG_TOL for v in vals)} of {len(vals)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dx", default="0.2,0.1,0.05",
                    help="comma-separated grid spacings (default 0.2,0.1,0.05)")
    ap.add_argument("--full", action="store_true",
                    help="add Δx = 0.025 (60k points) and the dense check at Δx = 0.1")
    ap.add_argument("--quick", action="store_true",
                    help="only Δx = 0.2, 0.1; dense check at 0.2 (for the smoke test)")
    ap.add_argument("--modes", type=int, default=N_EIG,
                    help=f"eigenvalues per size (default {N_EIG}: l ≤ {L_MAX})")
    ap.add_argument("--method", default="clsgsp", help="stencil method (default clsgsp)")
    ap.add_argument("--compare", action="store_true",
                    help="also run the seed-001 Taylor operator (method taylor): tables "
                         "and stability")
    ap.add_argument("--dense-dx", default=None,
                    help="comma-separated Δx for the dense stability check "
                         "(default 0.2; with --full 0.2,0.1)")
    ap.add_argument("--pictures", action="store_true",
                    help="also draw Fig. 14 (bunny and Spot eigenfunctions) with the CLI")
    ap.add_argument("--outdir", default=".", help="where to write PNG/CSV files")
    args = ap.parse_args(argv)
    if args.modes < N_EIG:
        ap.error(f"--modes must be at least {N_EIG} (l ≤ {L_MAX})")
    os.makedirs(args.outdir, exist_ok=True)

    dxs = [float(s) for s in args.dx.split(",")]
    if args.quick:
        dxs = [0.2, 0.1]
    elif args.full and 0.025 not in dxs:
        dxs.append(0.025)
    dxs = sorted(set(dxs), reverse=True)
    if args.dense_dx is not None:
        dense_dxs = [float(s) for s in args.dense_dx.split(",")]
    else:
        dense_dxs = [0.2, 0.1] if args.full else [0.2]

    t0 = time.perf_counter()
    # the chosen method, then Taylor as the baseline (once)
    methods = list(dict.fromkeys([args.method] + (["taylor"] if args.compare else [])))
    all_rows = {}
    for method in methods:
        print(f"\n=== §4.5.2 convergence, method {method} (k = 16, order 2, {args.modes} "
              f"eigenvalues per size) ===")
        rows = convergence(method, dxs, args.modes)
        all_rows[method] = rows
        print_table(rows, "e2", PAPER_E2, f"E2 ({method}) beside Table 2")
        print_table(rows, "einf", PAPER_EINF, f"E∞ ({method}) beside Table 3")

    rows = all_rows[args.method]
    with open(os.path.join(args.outdir, "seed003_sphere_errors.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "dx", "n", "l", "E2", "Einf", "paper_E2", "paper_Einf",
                    "guard_rows", "failed_rows", "t_build_s", "t_eigs_s"])
        for method, rs in all_rows.items():
            for r in rs:
                for l in range(1, L_MAX + 1):
                    w.writerow([method, r["dx"], r["n"], l, f"{r['e2'][l - 1]:.6e}",
                                f"{r['einf'][l - 1]:.6e}", paper(PAPER_E2, r["dx"], l),
                                paper(PAPER_EINF, r["dx"], l), r["guard_rows"],
                                r["failed_rows"], f"{r['t_build']:.3f}", f"{r['t_solve']:.3f}"])
    plot_convergence(rows, os.path.join(args.outdir, "seed003_sphere_convergence.png"),
                     args.method)

    print("\n=== §4.5.1 stability: the whole spectrum, dense (LS operators unguarded) ===")
    extra = methods[1:]
    dense = [(dx, dense_stability(args.method, dx, extra)) for dx in dense_dxs]
    plot_dense(dense, os.path.join(args.outdir, "seed003_sphere_dense_spectrum.png"))
    window_rows = [r for r in rows if not any(np.isclose(r["dx"], d) for d in dense_dxs)]
    if window_rows:
        print("\n=== stability at the larger sizes: eigenvalues nearest the origin only ===")
        for r in window_rows:
            window_stability(args.method, r, args.modes, extra)

    if args.pictures:
        print("\n=== §4.5.3 eigenfunctions (Fig. 14) through the command line ===")
        pictures(args.outdir)

    print(f"\nwrote seed003_sphere_convergence.png, seed003_sphere_dense_spectrum.png, "
          f"seed003_sphere_errors.csv to {os.path.abspath(args.outdir)}")
    print(f"total {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
