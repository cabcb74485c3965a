"""Seed 003 reproduced: Ying, Chu & Leung, "A Constrained Least-Squares Ghost Sample Points
(CLS-GSP) Method for Differential Operators on Point Clouds", §4.1–4.3.

Uses the NumPy reference ``o3d_meshless.testing.gsp_reference`` (one stencil at a time).
The paper's random point sets are unpublished: compare trends, slopes and ranks, not
digits. What is run (``--seed`` fixes every random set):

* §4.1 (Figs 2–3): 20 samples uniform in [−1, 1] (1-D, centre 0), local reconstructions
  of cos 4x and 1 − sgn(x)·x = 1 − |x| by CLS-GSP (degree 2, Gaussian and multiquadric,
  c r̄² = 1, 8 ghosts equally spaced on [−r̄, r̄] — in 1-D the "circle" is only ±r̄, see
  ``ghost_circle``) against the plain quadratic least-squares fit (samples + centre).
  Printed: |u_c(0) − u(0)| and the max error on [−0.2, 0.2] and on [−1, 1];
* §4.2 (Fig. 4): 20 samples uniform in [−1, 1]², 8 ghosts on the circle of radius r̄,
  Gaussian, degrees 2, 3, 4; the samples are shrunk by h = 2^0 … 2^-8 with c r̄² fixed
  (0.1 for u1 = exp(−x² − y²), Δu1(0) = −4; 1 for u2 = 3 cos x − 4 sin y, Δu2(0) = −3).
  Slopes are least-squares fits of log|err| against log h over h ∈ [2^-6, 2^-3].
  Two formulations are run, see "Surprises" below;
* §4.3 (Table 1, Figs 6–7): u = exp(−0.25x) cos(0.2y), Δu(0) = 0.0225, 20 samples
  uniform in [−1, 1]², degree 2, 8 ghosts on the circle of radius r̄; c r̄² = 10^k,
  k = −8 … 5: error and numerical rank (singular values > 1e-10, absolute) of RBF-FD
  (RBFs on the 20 samples, full rank 26) and CLS-GSP (full rank 13), beside the paper's
  Table 1 (inverse quadratic). Then a fine sweep of log10(c r̄²) ∈ [−8, 5] for IQ, GA, MQ,
  IMQ: the smallest log10(c r̄²), scanning down from 0, at which each method still has
  full rank (paper: RBF-FD ≈ −1.12 for all kernels, CLS-GSP GA ≈ −2.5).

Surprises, measured:

* the paper's weights (eq. (2): first n components of pinv(Aᵀ)·b) are the minimum-norm
  solution of an underdetermined system whose polynomial columns scale like r̄^|j|, so
  they are *not* scale covariant; shrinking the samples by h changes the stencil, not
  just its h^-2 factor. Taken literally ("paper" rows) the §4.2 errors go through an
  erratic transition around h ≈ 2^-4 and pick up round-off at h ≈ 2^-7 with degree 4, so
  fitted slopes depend on the window. Building the same system in units of r̄
  (``scaled=True``, "scaled" rows) gives exactly the paper's slopes 2, 2, 4 and 1, 2, 3;
* the pseudo-inverse must use a much smaller cut-off than the 1e-10 rank tolerance:
  Table 1's RBF-FD error changes between c r̄² = 1e-6 and 1e-5 while its rank stays 12.
  We use MATLAB's default cut-off max(m, n)·eps·σ_max.

Run:  python examples/seed003_clsgsp.py [--outdir DIR] [--seed S] [--quick]
"""
import argparse
import os

import numpy as np

from o3d_meshless.testing.gsp_reference import (ghost_circle, gsp_fit,
                                                 gsp_laplacian_weights, rbf_fd_weights)

N_SAMPLES = 20
DEGREES = (2, 3, 4)
KERNELS = ("inverse-quadratic", "gaussian", "multiquadric", "inverse-multiquadric")
SHORT = {"inverse-quadratic": "IQ", "gaussian": "GA", "multiquadric": "MQ",
         "inverse-multiquadric": "IMQ"}
HS = 2.0 ** -np.arange(0, 9)
FIT_WINDOW = (2.0 ** -6, 2.0 ** -3)

# §4.2: paper's slopes read off Fig. 4 (text: "approximately 2, 2 and 4" / "1, 2 and 3")
PAPER_SLOPES = {"u1": {2: 2, 3: 2, 4: 4}, "u2": {2: 1, 3: 2, 4: 3}}

# §4.3, Table 1 (IQ), k = -8..5: (RBF-FD error, rank, CLS-GSP error, rank)
TABLE1_K = tuple(range(-8, 6))
PAPER_TABLE1 = (
    (4.7959e-3, 12, 3.9414e-3, 10), (4.7959e-3, 12, 3.9414e-3, 10),
    (4.7959e-3, 12, 3.9414e-3, 10), (4.6101e-3, 12, 2.1457e-3, 10),
    (1.3323e-4, 12, 2.3067e-5, 10), (1.5363e-5, 17, 4.6044e-6, 12),
    (4.6426e-5, 24, 4.1861e-5, 13), (2.5375e-4, 26, 5.1265e-4, 13),
    (3.5709e-3, 26, 1.8594e-3, 13), (4.3898e-3, 26, 3.0790e-3, 13),
    (6.5927e-3, 26, 3.5674e-3, 13), (5.0129e-3, 26, 3.6423e-3, 13),
    (4.8179e-3, 26, 3.6509e-3, 13), (4.7981e-3, 26, 3.6518e-3, 13))
PAPER_R_BAR = 0.7682
PAPER_FULL_RANK_FROM = {"RBF-FD": -1.12, "CLS-GSP GA": -2.5}


# ----------------------------------------------------------------------------- §4.1
def f_smooth(x):
    return np.cos(4 * x)


def f_kink(x):
    return 1 - np.sign(x) * x


def section_41(seed=0, n=N_SAMPLES, shape=1.0, degree=2, n_eval=401):
    """1-D local reconstructions. Returns (samples, xs, {fname: {method: u(xs)}}, errors)
    with errors[fname][method] = (|u_c(0) − u(0)|, max err on [−0.2, 0.2], on [−1, 1])."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    xs = np.linspace(-1, 1, n_eval)
    near = np.abs(xs) <= 0.2
    curves, errors = {}, {}
    for fname, f in (("cos 4x", f_smooth), ("1 - sgn(x) x", f_kink)):
        curves[fname], errors[fname] = {}, {}
        # plain quadratic least squares on the samples and the centre
        xa = np.r_[0.0, x]
        coef = np.linalg.lstsq(np.vander(xa, degree + 1), f(xa), rcond=None)[0]
        curves[fname]["LS quadratic"] = np.polyval(coef, xs)
        for k in ("gaussian", "multiquadric"):
            fit = gsp_fit(x[:, None], f(x), f(0.0), ghosts=ghost_circle(8, 1), rbf=k,
                          shape=shape, degree=degree)
            curves[fname][f"CLS-GSP {SHORT[k]}"] = fit(xs[:, None])
        for m, u in curves[fname].items():
            e = np.abs(u - f(xs))
            errors[fname][m] = (float(np.abs(np.interp(0.0, xs, u) - f(0.0))),
                                float(e[near].max()), float(e.max()))
    return x, xs, curves, errors


# ----------------------------------------------------------------------------- §4.2
def u1(p):
    return np.exp(-p[:, 0] ** 2 - p[:, 1] ** 2)


def u2(p):
    return 3 * np.cos(p[:, 0]) - 4 * np.sin(p[:, 1])


CONSISTENCY = {"u1": (u1, -4.0, 0.1), "u2": (u2, -3.0, 1.0)}  # f, exact Δf(0), c r̄²


def fit_slope(hs, errs, window=FIT_WINDOW):
    """Slope of log|err| against log h over h in ``window`` (inclusive)."""
    hs, errs = np.asarray(hs), np.maximum(np.asarray(errs), 1e-300)
    sel = (hs >= window[0] * (1 - 1e-12)) & (hs <= window[1] * (1 + 1e-12))
    return float(np.polyfit(np.log(hs[sel]), np.log(errs[sel]), 1)[0])


def section_42(seed=0, hs=HS, scaled=False, degrees=DEGREES, n=N_SAMPLES):
    """Laplacian errors at 0 under shrinking. Returns {(fname, degree): errors[len(hs)]}."""
    x = np.random.default_rng(seed).uniform(-1, 1, (n, 2))
    out = {}
    for fname, (f, exact, shape) in CONSISTENCY.items():
        f0 = f(np.zeros((1, 2)))[0]
        for deg in degrees:
            errs = []
            for h in hs:
                w, _ = gsp_laplacian_weights(h * x, ghosts=ghost_circle(8, 2), rbf="gaussian",
                                             shape=shape, degree=deg, scaled=scaled)
                errs.append(abs(w @ (f(h * x) - f0) - exact))
            out[(fname, deg)] = np.array(errs)
    return out


# ----------------------------------------------------------------------------- §4.3
def u43(p):
    return np.exp(-0.25 * p[:, 0]) * np.cos(0.2 * p[:, 1])


EXACT43 = 0.0225  # 0.25² − 0.2²


def samples_43(seed=0, n=N_SAMPLES):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 2))


def laplacian_errors(x, kernel, log10_shapes, degree=2):
    """Error and rank of RBF-FD and CLS-GSP per log10(c r̄²).

    Returns dict with arrays 'fd_err', 'fd_rank', 'gsp_err', 'gsp_rank' and the full
    ranks 'fd_full', 'gsp_full'."""
    f, f0 = u43(x), u43(np.zeros((1, 2)))[0]
    res = {k: [] for k in ("fd_err", "fd_rank", "gsp_err", "gsp_rank")}
    for t in log10_shapes:
        w, info = rbf_fd_weights(x, rbf=kernel, shape=10.0 ** t, degree=degree)
        res["fd_err"].append(abs(w[:, 0] @ f - EXACT43))
        res["fd_rank"].append(info["rank"])
        fd_full = info["full_rank"]
        w, info = gsp_laplacian_weights(x, ghosts=ghost_circle(8, 2), rbf=kernel,
                                        shape=10.0 ** t, degree=degree)
        res["gsp_err"].append(abs(w @ (f - f0) - EXACT43))
        res["gsp_rank"].append(info["rank"])
        gsp_full = info["full_rank"]
    out = {k: np.array(v) for k, v in res.items()}
    out["fd_full"], out["gsp_full"] = fd_full, gsp_full
    return out


def full_rank_from(log10_shapes, ranks, full, start=0.0):
    """Smallest log10(c r̄²) reached scanning *down* from ``start`` (or from the nearest
    full-rank grid value below it) while the rank stays full; NaN if never full."""
    t, r = np.asarray(log10_shapes), np.asarray(ranks)
    idx = [i for i in np.argsort(-t) if t[i] <= start + 1e-12]
    idx = idx[next((j for j, i in enumerate(idx) if r[i] == full), len(idx)):]
    if not idx:
        return float("nan")
    last = idx[0]
    for i in idx:
        if r[i] != full:
            break
        last = i
    return float(t[last])


def full_rank_to(log10_shapes, ranks, full, start=0.0):
    """Largest log10(c r̄²) reached scanning *up* from ``start`` while the rank stays full."""
    t, r = np.asarray(log10_shapes), np.asarray(ranks)
    return -full_rank_from(-t, r, full, -start)


def shape_sweep(x, log10_shapes, kernels=KERNELS):
    return {k: laplacian_errors(x, k, log10_shapes) for k in kernels}


# ----------------------------------------------------------------------------- figures
def _figures(outdir, s41, s42, sweep, grid):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, xs, curves, _ = s41
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (fname, f) in zip(axes, (("cos 4x", f_smooth), ("1 - sgn(x) x", f_kink))):
        ax.plot(xs, f(xs), "k-", lw=2, label="exact")
        style = {"LS quadratic": "r-", "CLS-GSP GA": "b--", "CLS-GSP MQ": "g-."}
        for m, u in curves[fname].items():
            ax.plot(xs, u, style[m], label=m)
        ax.plot(x, f(x), "ro", mfc="none", label="samples")
        ax.set_title(f"§4.1 (Fig. 3): {fname}")
        ax.set_ylim(-1.6, 1.6)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "seed003_fig3_reconstruction.png"), dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, fname in zip(axes, ("u1", "u2")):
        for form, res in s42.items():
            for deg in DEGREES:
                ax.loglog(HS[:len(res[(fname, deg)])], res[(fname, deg)],
                          "o-" if form == "scaled" else "x:", label=f"k={deg} {form}")
        ax.set_xlabel("h")
        ax.set_ylabel("|error of Laplacian at 0|")
        ax.set_title(f"§4.2 (Fig. 4): {fname}")
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "seed003_fig4_consistency.png"), dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(2, 2, figsize=(10, 8))
    zoom = (grid >= -4) & (grid <= -1)
    for j, (key, title) in enumerate((("fd_err", "RBF-FD"), ("gsp_err", "CLS-GSP"))):
        for k, res in sweep.items():
            axes[0, j].semilogy(grid, res[key], label=SHORT[k])
            axes[1, j].semilogy(grid[zoom], res[key][zoom], label=SHORT[k])
        axes[0, j].set_title(f"Fig. 6: {title}")
        axes[1, j].set_title(f"Fig. 6: {title}, zoom")
        for i in range(2):
            axes[i, j].set_xlabel("log10(c r̄²)")
            axes[i, j].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "seed003_fig6_shape_error.png"), dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (key, title) in zip(axes, (("fd_rank", "RBF-FD"), ("gsp_rank", "CLS-GSP"))):
        for k, res in sweep.items():
            ax.plot(grid, res[key], label=SHORT[k])
        ax.set_title(f"Fig. 7: rank, {title}")
        ax.set_xlabel("log10(c r̄²)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "seed003_fig7_shape_rank.png"), dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outdir", default=None, help="write the figures (PNG) here")
    ap.add_argument("--seed", type=int, default=0, help="seed of every random point set")
    ap.add_argument("--quick", action="store_true", help="coarse shape grid (smoke test)")
    args = ap.parse_args(argv)
    seed = args.seed

    s41 = section_41(seed)
    print(f"§4.1 local reconstruction, {N_SAMPLES} samples in [-1, 1], seed {seed}, "
          "CLS-GSP degree 2, c r̄² = 1, 8 ghosts")
    print("  function       method         |u_c(0)-u(0)|  max|err| [-0.2,0.2]  max|err| [-1,1]")
    for fname, rows in s41[3].items():
        for m, (e0, enear, eall) in rows.items():
            print(f"  {fname:14s} {m:14s} {e0:12.2e}  {enear:18.2e}  {eall:15.2e}")
    print("  (paper, Fig. 3, qualitative: CLS-GSP GA/MQ follow the function near 0, the "
          "quadratic LS fit does not)")

    s42 = {"paper": section_42(seed, scaled=False), "scaled": section_42(seed, scaled=True)}
    print(f"\n§4.2 consistency of the Laplacian at 0, GA, 8 ghosts, seed {seed}; "
          f"slopes fitted over h in [2^{int(np.log2(FIT_WINDOW[0]))}, "
          f"2^{int(np.log2(FIT_WINDOW[1]))}] (paper's slope in brackets)")
    print("  fn  k  form     slope        |err| at h = " + " ".join(
        f"2^{-i}" .ljust(8) for i in range(len(HS))))
    for fname in ("u1", "u2"):
        for deg in DEGREES:
            for form, res in s42.items():
                e = res[(fname, deg)]
                print(f"  {fname}  {deg}  {form:7s} {fit_slope(HS, e):5.2f} "
                      f"[{PAPER_SLOPES[fname][deg]}]   " + " ".join(f"{v:8.1e}" for v in e))

    x43 = samples_43(seed)
    rbar = float(np.linalg.norm(x43, axis=1).mean())
    tab = laplacian_errors(x43, "inverse-quadratic", TABLE1_K)
    print(f"\n§4.3 Table 1: IQ, degree 2, r̄ = {rbar:.4f} (paper {PAPER_R_BAR}), "
          "|err| of Δu(0) = 0.0225 and rank (tol 1e-10); paper in brackets")
    print("  c r̄²    RBF-FD err [paper]        rank [p]   CLS-GSP err [paper]       rank [p]")
    for i, k in enumerate(TABLE1_K):
        p = PAPER_TABLE1[i]
        print(f"  1e{k:+d}   {tab['fd_err'][i]:.4e} [{p[0]:.4e}]  "
              f"{tab['fd_rank'][i]:2d} [{p[1]:2d}]    {tab['gsp_err'][i]:.4e} [{p[2]:.4e}]  "
              f"{tab['gsp_rank'][i]:2d} [{p[3]:2d}]")

    step = 0.1 if args.quick else 0.02
    grid = np.round(np.arange(-8, 5 + step / 2, step), 10)
    sweep = shape_sweep(x43, grid)
    print(f"\n§4.3 Fig. 7: smallest log10(c r̄²) with full rank, scanning down from 0 "
          f"(grid step {step}); paper: RBF-FD ≈ {PAPER_FULL_RANK_FROM['RBF-FD']} (all kernels), "
          f"CLS-GSP GA ≈ {PAPER_FULL_RANK_FROM['CLS-GSP GA']}")
    print("  kernel  RBF-FD (full 26)   CLS-GSP (full 13)   CLS-GSP full rank up to   "
          "min err RBF-FD / CLS-GSP")
    for k, res in sweep.items():
        a = full_rank_from(grid, res["fd_rank"], res["fd_full"])
        b = full_rank_from(grid, res["gsp_rank"], res["gsp_full"])
        top = full_rank_to(grid, res["gsp_rank"], res["gsp_full"])
        print(f"  {SHORT[k]:6s}  {a:8.2f}           {b:8.2f}            {top:8.2f}"
              f"                  {res['fd_err'].min():.2e} / {res['gsp_err'].min():.2e}")

    if args.outdir:
        os.makedirs(args.outdir, exist_ok=True)
        _figures(args.outdir, s41, s42, sweep, grid)
        print(f"\nfigures written to {args.outdir}")


if __name__ == "__main__":
    main()
