"""Negative eigenvalues of the strong form on thin-featured public inputs (issue 29, item 7).

For each input, ``LaplaceBeltrami()`` with the default options (``outliers="keep"`` on the
planted-outlier scan, the behaviour before outlier detection) is fitted twice: as it is,
and with the nonnegative row repair (:func:`o3d_meshless.operators.guard.repair_laplacian_rows`)
skipped, the guard's enlargement still on. Every eigenvalue is looked at: a dense
eigen-decomposition of ``L_`` up to ``--dense-limit`` points, else shift-invert windows
(``--per-shift`` eigenvalues nearest each shift ``-1, -2, -4, …`` down to ``-2n`` in
unit-area coordinates; a localised spurious mode sits near ``-1/h²``, i.e. ``-n``, there).

Columns: points; negative eigenvalues without / with the repair (a sweep's count is a
lower bound); the most negative real part with the repair (unit-area coordinates,
``L · area``); rows the repair replaced; for the unrepaired negative modes (dense only)
the median number of points carrying each (``1/IPR``, IPR = ``Σ|v|⁴ / (Σ|v|²)²``) and
the share of their 5 largest entries that sit on rows the repair replaces.

Measured 2026-12-07 (``neg-``: without the repair; ``neg+``: default; ``1/IPR`` and
``on rep`` of the unrepaired negative modes)::

    input                               n   neg-   neg+   most neg repaired   1/IPR on rep
    cow.obj cloud                    2903     47      0       none       65     3.0   0.68
    cow.obj trimesh                  2903     21      0       none       29     3.3   0.63
    cow.off cloud                    2762     50      0       none       56     4.2   0.58
    cow.off trimesh                  2762     17      0       none       27     3.3   0.69
    bunny.off cloud                  3485      7      0       none        9     2.5   0.54
    bunny.off trimesh                3485      3      0       none        6     2.0   0.27
    bun_zipper_res3.ply cloud        1889     21      0       none       22     5.4   0.83
    bun_zipper_res3.ply trimesh      1889     14      0       none       17     6.6   0.70
    bun_zipper_res4.ply cloud         453     22      0       none       28     5.6   0.88
    bun_zipper_res4.ply trimesh       453     13      0       none       16     7.7   0.86
    bun_zipper_res3.ply open3d       1889     15      0       none       18     5.5   0.64
    bun_zipper_res4.ply open3d        453     14      0       none       17     6.9   0.81
    bun000.ply + outliers           40276   ≥223     ≥0       none      201       -      -

Run from the repository root (inputs in ``../shared/data``)::

    python benchmarks/bench_strong_negative.py            # every input, ~30 min on 2 cores
    python benchmarks/bench_strong_negative.py --small    # without the 40 000-point scan
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from scipy import linalg
from scipy.sparse import linalg as sla
from scipy.spatial import cKDTree

import o3d_meshless as om
import o3d_meshless.operators.surface_operator as surface_operator

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MESHES = ("cow.obj", "cow.off", "bunny.off", "bun_zipper_res3.ply", "bun_zipper_res4.ply")


def cloud(name):
    return np.asarray(om.as_points(om.read_geometry(DATA / name)), dtype=float)


def trimesh_mesh(name):
    import trimesh
    return trimesh.load(DATA / name, process=False, maintain_order=True)


def open3d_mesh(name):
    import open3d as o3d
    return o3d.io.read_triangle_mesh(str(DATA / name))


def planted_scan(seed=0):
    """bun000.ply, 1 % of its points pushed 3–10 spacings off along random directions and
    20 stray points uniform in its bounding box (h = mean nearest-neighbour distance)."""
    p = cloud("bun000.ply")
    rng = np.random.default_rng(seed)
    h = cKDTree(p).query(p, 2)[0][:, 1].mean()
    idx = rng.choice(len(p), len(p) // 100, replace=False)
    dirs = rng.normal(size=(len(idx), 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    q = p.copy()
    q[idx] += dirs * rng.uniform(3, 10, (len(idx), 1)) * h
    return np.vstack([q, rng.uniform(p.min(0), p.max(0), (20, 3))])


def cases(small):
    out = {}
    for name in MESHES:
        out[f"{name} cloud"] = (lambda name=name: cloud(name), {})
        out[f"{name} trimesh"] = (lambda name=name: trimesh_mesh(name), {})
    for name in ("bun_zipper_res3.ply", "bun_zipper_res4.ply"):
        out[f"{name} open3d"] = (lambda name=name: open3d_mesh(name), {})
    if not small:
        keep = {"outliers": "keep"} if "outliers" in om.LaplaceBeltrami().get_params() else {}
        out["bun000.ply + outliers"] = (planted_scan, keep)
    return out


def _skip_repair(st, *args, **kwargs):
    st.positive = np.zeros(len(st.indptr) - 1, dtype=bool)
    st.boundary = st.positive.copy()
    return st


def fit(geometry, options, repair=True):
    real = surface_operator.repair_laplacian_rows
    if not repair:
        surface_operator.repair_laplacian_rows = _skip_repair
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return om.LaplaceBeltrami(**options).fit(geometry)
    finally:
        surface_operator.repair_laplacian_rows = real


def dense_negative(L, vectors=False):
    """Negative eigenvalues of dense ``L`` (below ``-1e-8 λ₁`` and the zero eigenvalue's
    round-off ``1e-12 max|λ|``), and their eigenvectors when asked."""
    if vectors:
        vals, vecs = linalg.eig(L.toarray())
    else:
        vals, vecs = linalg.eigvals(L.toarray()), None
    top = np.abs(vals.real).max()
    lam1 = vals.real[vals.real > 1e-8 * top].min()
    neg = np.flatnonzero(vals.real < -max(1e-8 * max(1.0, lam1), 1e-12 * top))
    return vals[neg], (vecs[:, neg] if vectors else None)


def swept_negative(L, M, per_shift, tol=1e-6):
    """Negative eigenvalues (unit-area coordinates) found by shift-invert windows at
    ``-1, -2, -4, …, -2n``: a lower bound on those that exist."""
    n = L.shape[0]
    Ls = (L * float(M.sum())).tocsc()
    v0 = np.random.default_rng(0).standard_normal(n)
    found, lam1, s = [], None, -1.0
    while s >= -2.0 * n:
        try:
            vals = sla.eigs(Ls, k=per_shift, sigma=s, which="LM", v0=v0, tol=tol,
                            return_eigenvectors=False)
        except sla.ArpackNoConvergence as exc:          # keep what converged
            vals = exc.eigenvalues
        if lam1 is None:
            lam1 = vals.real[vals.real > 1e-8 * np.abs(vals.real).max()].min()
        # ARPACK's error in λ grows like tol·|s|: far windows return the zero eigenvalue
        # off by that much (down to -4.8e-4 on the planted scan with tol 1e-6, where
        # σ = -1 at tol 1e-12 gives ±4e-12). A real negative λ is caught by the window
        # nearest it (shifts double), where 10·tol·|s| <= 20·tol·|λ| is far below |λ|.
        found.extend(vals[vals.real < -max(1e-8 * lam1, 10 * tol * abs(s))])
        s *= 2.0
    if not found:
        return np.zeros(0, dtype=complex)
    distinct = []                            # windows overlap: one copy of each
    for z in sorted(found, key=lambda z: z.real):
        if not any(abs(z - y) <= 1e-4 * abs(z) for y in distinct):
            distinct.append(z)
    return np.array(distinct)


def row(label, geometry, options, dense_limit, per_shift):
    op = fit(geometry, options)
    raw = fit(geometry, options, repair=False)
    n = op.L_.shape[0]
    area = float(op.M_.sum())
    repaired = op.diagnostics_.get("positive_rows", 0)
    loc = share = "-"
    if n <= dense_limit:
        neg_raw, vecs = dense_negative(raw.L_, vectors=True)
        neg, _ = dense_negative(op.L_)
        lam_min = float(linalg.eigvals(op.L_.toarray()).real.min()) * area if neg.size else None
        if neg_raw.size:
            w = np.abs(vecs) ** 2
            w /= w.sum(axis=0)
            loc = f"{np.median(1.0 / (w ** 2).sum(axis=0)):.1f}"
            top = np.argsort(-w, axis=0)[:5]
            share = f"{op.diagnostics_['positive_mask'][top].mean():.2f}"
        counts = f"{neg_raw.size:>6d} {neg.size:>6d}"
    else:
        neg_raw = swept_negative(raw.L_, raw.M_, per_shift)
        neg = swept_negative(op.L_, op.M_, per_shift)
        lam_min = float(neg.real.min()) if neg.size else None
        counts = f"{'≥' + str(neg_raw.size):>6s} {'≥' + str(neg.size):>6s}"
    worst = "none" if lam_min is None else f"{lam_min:.3g}"
    print(f"{label:30s} {n:>6d} {counts} {worst:>10s} {repaired:>8d} {loc:>7s} {share:>6s}",
          flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help="leave out the 40 000-point scan (its sweeps take ~20 min)")
    parser.add_argument("--dense-limit", type=int, default=8000)
    parser.add_argument("--per-shift", type=int, default=30)
    parser.add_argument("--only", nargs="*", help="inputs whose label contains any of these")
    args = parser.parse_args(argv)
    print(f"{'input':30s} {'n':>6s} {'neg-':>6s} {'neg+':>6s} {'most neg':>10s} "
          f"{'repaired':>8s} {'1/IPR':>7s} {'on rep':>6s}")
    print("(neg-: without the repair, neg+: default; most negative with the repair, "
          "unit-area coordinates)")
    for label, (make, options) in cases(args.small).items():
        if args.only and not any(s in label for s in args.only):
            continue
        row(label, make(), options, args.dense_limit, args.per_shift)


if __name__ == "__main__":
    main()
