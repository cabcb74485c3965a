"""How the default surface operators behave on noisy samples.

Checks whether the defaults hold up when the point positions are noisy:
``om.SurfaceGradient()`` (order 3, with a guard that recomputes rows whose weights
amplify noise) against ``order=2`` and ``order=1``, and ``om.LaplaceBeltrami()``
(order 2, k = 16) against ``order=3, k=30`` and ``order=4, k=30``.

Cases (n points each, 16 000 by default):

* unit sphere, i.i.d. uniform points (``o3d_meshless.testing.random_sphere``);
* unit sphere, Fibonacci points (``o3d_meshless.testing.fibonacci_sphere``);
* torus R = 1, r = 0.4, i.i.d. area-uniform points (rejection sampling of the area
  element, as ``make_torus`` in tests/conftest.py).

Noise: the operators see ``p + σ ξ`` with ξ isotropic standard Gaussian in 3-D and
``σ = factor · h``, ``h = sqrt(area / n)`` the mean spacing; factors 0, 0.001, 0.003,
0.01 (the 0.1–1 % of the spacing asked for) and 0.03, 0.1 (beyond). One ξ per case is
drawn and scaled, so rows of one case differ only in σ. Normals are estimated (plain
arrays are passed, the default ``normals="auto"`` finds none).

Run:

    python benchmarks/bench_noise.py              # n = 16000, all factors: a few minutes
    python benchmarks/bench_noise.py --quick      # n = 4000, factors 0, 0.01, 0.1
    python benchmarks/bench_noise.py --sizes 4000,16000 --seed 1 --noise 0,0.01

Reading the tables:

1. Gradient of f = x·exp(z). The values are those at the CLEAN points (the exact
   function), only the positions the operator sees are noisy. The error per point is
   ``|G f − ∇_S f|`` (3-vector norm) against the exact tangential gradient
   ``∇f − (∇f·n) n`` at the clean point with the exact normal. ``rms``, ``p99`` and
   ``max`` are over the points; the "Scales" line under the table gives h and the RMS
   of the exact ``|∇_S f|`` per case.
   ``guard %`` is ``diagnostics_["guard_rows"] / n`` (rows the guard recomputed:
   larger neighbourhood and/or lower order), ``lowered %`` the rows that ended at a
   lower order than requested. ``fit s`` is one wall-clock run (noisy, machine
   shared). ``warn`` counts RuntimeWarnings caught in the row (messages as notes).
2. Gradient summary: RMS of order 1 / 2 / 3 side by side per (case, σ/h), with the
   order of lowest RMS and of lowest max.
3. Laplace–Beltrami spectrum, spheres only: ``E2(l)`` = RMS relative error of the
   2l+1 computed eigenvalues of degree l against l(l+1), l = 1..6, from
   ``op.spectrum(49)``; ``neg`` = ``spectrum_report_.n_negative`` (spurious negative
   eigenvalues), ``pos rows`` = ``diagnostics_["positive_rows"]`` (Laplacian rows
   replaced by nonnegative stencils), ``guard`` = guard rows. Times: fit and spectrum,
   one run each.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
import warnings

import numpy as np

import o3d_meshless as om
from o3d_meshless.testing import (fibonacci_sphere, random_sphere, random_torus,
                                  sphere_eigenvalue_errors, tangential, torus_normals)

DEFAULT_N = 16_000
QUICK_N = 4_000
DEFAULT_FACTORS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1)
QUICK_FACTORS = (0.0, 0.01, 0.1)
GRADIENT_ORDERS = (1, 2, 3)                     # 3 is SurfaceGradient's default
LB_CONFIGS = (("default (o2, k16)", {}),
              ("o3, k30", {"order": 3, "k": 30}),
              ("o4, k30", {"order": 4, "k": 30}))
N_MODES = 49                                    # (l_max + 1)² with l_max = 6
L_MAX = 6
TORUS_R, TORUS_r = 1.0, 0.4
CASES = ("sphere iid", "sphere fib", "torus iid")


# --------------------------------------------------------------------------- geometry

def make_case(name, n, seed):
    """``(clean points, exact unit normals, surface area)`` of a named case."""
    if name == "sphere iid":
        p = random_sphere(n, seed=seed)
        return p, p.copy(), 4 * np.pi
    if name == "sphere fib":
        p = fibonacci_sphere(n)
        return p, p.copy(), 4 * np.pi
    if name == "torus iid":
        p = random_torus(n, TORUS_R, TORUS_r, seed=seed)
        return p, torus_normals(p, R=TORUS_R), 4 * np.pi ** 2 * TORUS_R * TORUS_r
    raise ValueError(f"unknown case {name!r}")


def noise_direction(n, seed, case_index):
    """Standard Gaussian ξ of shape (n, 3), fixed per (seed, case)."""
    return np.random.default_rng([seed, 1000 + case_index]).standard_normal((n, 3))


# --------------------------------------------------------------------------- fields

def test_function(p):
    """f = x·exp(z) at points ``p``."""
    return p[:, 0] * np.exp(p[:, 2])


def test_gradient(p, normals):
    """Exact tangential gradient of f = x·exp(z): ∇f − (∇f·n) n."""
    e = np.exp(p[:, 2])
    grad = np.c_[e, np.zeros(len(p)), p[:, 0] * e]
    return tangential(grad, normals)


# --------------------------------------------------------------------------- helpers

class WarningCounter:
    """Catch warnings inside a ``with`` block; count RuntimeWarnings, keep their messages."""

    def __enter__(self):
        self._cm = warnings.catch_warnings(record=True)
        self.caught = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        self.runtime = [str(w.message) for w in self.caught
                        if issubclass(w.category, RuntimeWarning)]
        return False


def add_notes(notes, label, messages):
    """Record RuntimeWarning messages of one row (first 160 characters of each)."""
    for msg in dict.fromkeys(messages):          # distinct, in order
        short = " ".join(msg.split())
        notes.append(f"{label}: {short[:160]}{'…' if len(short) > 160 else ''}")


def print_notes(notes):
    """Print collected warning notes under a table."""
    if notes:
        print("\nNotes (RuntimeWarnings):")
        for note in notes:
            print(f"- {note}")
    print(flush=True)


def row(cells):
    """Print one markdown table row and flush."""
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def header(cells):
    """Print a markdown table header."""
    row(cells)
    row(["---"] * len(cells))


def machine_note():
    """One line: cores, load average, platform, Python and NumPy versions."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"machine: {os.cpu_count()} cores, load avg (1/5/15 min) {load}; "
            f"{platform.system()} {platform.machine()}; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, o3d_meshless {om.__version__}")


# --------------------------------------------------------------------------- measurements

def gradient_errors(points_seen, clean, normals, order, default_order=3):
    """Fit ``SurfaceGradient`` (order None = default) on ``points_seen``; error statistics."""
    opts = {} if order is None else {"order": order}
    requested = default_order if order is None else order
    with WarningCounter() as wc:
        t0 = time.perf_counter()
        op = om.SurfaceGradient(progress=False, **opts).fit(points_seen)
        fit_s = time.perf_counter() - t0
        g = op.apply(test_function(clean))
    err = np.linalg.norm(g - test_gradient(clean, normals), axis=1)
    d = op.diagnostics_
    n = len(clean)
    return {"rms": float(np.sqrt(np.mean(err ** 2))), "p99": float(np.percentile(err, 99)),
            "max": float(err.max()), "guard": d["guard_rows"] / n,
            "lowered": float(np.mean(d["order_used"] < requested)),
            "fit_s": fit_s, "warnings": wc.runtime}


def spectrum_errors(points_seen, opts):
    """Fit ``LaplaceBeltrami(**opts)``, compute 49 modes; E2(l), l = 1..6, and diagnostics."""
    with WarningCounter() as wc:
        t0 = time.perf_counter()
        op = om.LaplaceBeltrami(progress=False, **opts).fit(points_seen)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        vals, _ = op.spectrum(N_MODES)
        spec_s = time.perf_counter() - t0
    return {"e2": sphere_eigenvalue_errors(vals, L_MAX),
            "neg": op.spectrum_report_.n_negative,
            "pos": op.diagnostics_.get("positive_rows"),
            "guard": op.diagnostics_["guard_rows"], "fit_s": fit_s, "spec_s": spec_s,
            "warnings": wc.runtime}


# --------------------------------------------------------------------------- tables

def gradient_table(sizes, factors, seed):
    """Table 1 (per order) and return the results for the summary table."""
    print("## 1. Surface gradient of f = x·exp(z) (values at the clean points)\n")
    header(["case", "n", "σ/h", "order", "rms", "p99", "max", "guard %", "lowered %",
            "fit s", "warn"])
    results, notes, scales = {}, [], []
    for n in sizes:
        for ci, case in enumerate(CASES):
            clean, normals, area = make_case(case, n, seed)
            h = np.sqrt(area / n)
            xi = noise_direction(n, seed, ci)
            scale = np.sqrt(np.mean(np.sum(test_gradient(clean, normals) ** 2, axis=1)))
            scales.append(f"{case}, n = {n}: h = {h:.4g}, |∇_S f| rms = {scale:.3f}")
            for factor in factors:
                seen = clean + factor * h * xi
                for order in GRADIENT_ORDERS:
                    label = f"{order} (default)" if order == 3 else str(order)
                    r = gradient_errors(seen, clean, normals, None if order == 3 else order)
                    results[(case, n, factor, order)] = r
                    row([case, n, f"{factor:g}", label, f"{r['rms']:.2e}", f"{r['p99']:.2e}",
                         f"{r['max']:.2e}", f"{100 * r['guard']:.2f}",
                         f"{100 * r['lowered']:.2f}", f"{r['fit_s']:.2f}",
                         len(r["warnings"])])
                    add_notes(notes, f"{case} n={n} σ/h={factor:g} order {order}",
                              r["warnings"])
    print("\nScales: " + "; ".join(scales) + ".")
    print_notes(notes)
    return results


def gradient_summary(results, sizes, factors):
    """Table 2: RMS per order side by side, with the best order by RMS and by max."""
    print("## 2. Gradient summary: RMS error per order, best order by RMS and by max\n")
    header(["case", "n", "σ/h", "rms o1", "rms o2", "rms o3 (default)", "o3 / best",
            "best by rms", "best by max"])
    for n in sizes:
        for case in CASES:
            for factor in factors:
                rs = {o: results[(case, n, factor, o)] for o in GRADIENT_ORDERS}
                best_rms = min(rs, key=lambda o: rs[o]["rms"])
                best_max = min(rs, key=lambda o: rs[o]["max"])
                row([case, n, f"{factor:g}"] + [f"{rs[o]['rms']:.2e}" for o in GRADIENT_ORDERS]
                    + [f"{rs[3]['rms'] / rs[best_rms]['rms']:.2f}", best_rms, best_max])
    print(flush=True)


def spectrum_table(sizes, factors, seed):
    """Table 3: sphere eigenvalue errors per LaplaceBeltrami configuration and noise."""
    print("## 3. Laplace–Beltrami spectrum on the unit sphere: E2(l), l = 1..6\n")
    header(["case", "n", "σ/h", "operator"] + [f"E2({l})" for l in range(1, L_MAX + 1)]
           + ["neg", "pos rows", "guard", "fit s", "spectrum s", "warn"])
    notes = []
    for n in sizes:
        for ci, case in enumerate(CASES):
            if not case.startswith("sphere"):
                continue
            clean, _, area = make_case(case, n, seed)
            h = np.sqrt(area / n)
            xi = noise_direction(n, seed, ci)
            for factor in factors:
                seen = clean + factor * h * xi
                for label, opts in LB_CONFIGS:
                    r = spectrum_errors(seen, opts)
                    row([case, n, f"{factor:g}", label] + [f"{e:.2e}" for e in r["e2"]]
                        + [r["neg"], r["pos"], r["guard"], f"{r['fit_s']:.2f}",
                           f"{r['spec_s']:.2f}", len(r["warnings"])])
                    add_notes(notes, f"{case} n={n} σ/h={factor:g} {label}", r["warnings"])
    print_notes(notes)


# --------------------------------------------------------------------------- main

def parse_args(argv=None):
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help=f"n = {QUICK_N}, noise factors {', '.join(map(str, QUICK_FACTORS))}")
    ap.add_argument("--sizes", type=str, default=None,
                    help=f"comma-separated point counts (default {DEFAULT_N}; accepts 1.6e4)")
    ap.add_argument("--noise", type=str, default=None,
                    help="comma-separated noise factors σ/h (default "
                         f"{', '.join(map(str, DEFAULT_FACTORS))})")
    ap.add_argument("--seed", type=int, default=0, help="seed of samples and noise (default 0)")
    ap.add_argument("--no-spectrum", action="store_true", help="skip table 3")
    return ap.parse_args(argv)


def main(argv=None):
    """Run the three tables."""
    args = parse_args(argv)
    sizes = ([int(float(s)) for s in args.sizes.split(",")] if args.sizes
             else [QUICK_N if args.quick else DEFAULT_N])
    factors = ([float(s) for s in args.noise.split(",")] if args.noise
               else list(QUICK_FACTORS if args.quick else DEFAULT_FACTORS))
    print("# Default operators on noisy samples\n")
    print("command: `" + " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv) + "`")
    print(machine_note())
    print(f"sizes {sizes}, noise factors σ/h {factors}, seed {args.seed}\n", flush=True)
    t0 = time.perf_counter()
    results = gradient_table(sizes, factors, args.seed)
    gradient_summary(results, sizes, factors)
    t1 = time.perf_counter()
    if not args.no_spectrum:
        spectrum_table(sizes, factors, args.seed)
    t2 = time.perf_counter()
    print(f"total {t2 - t0:.1f} s (gradient tables {t1 - t0:.1f} s, spectrum table "
          f"{t2 - t1:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
