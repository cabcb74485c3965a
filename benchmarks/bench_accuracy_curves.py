"""Accuracy and build-time curves against N, written as CSV for the documentation's plots.

Measures, and writes into ``benchmarks/results/`` (one CSV per table, columns
``case,method,n,value``), the numbers that ``docs/_ext/benchmark_plots.py`` draws on the
"Accuracy and speed" page, so that the pictures and the numbers cannot drift apart:

* ``accuracy_sphere.csv``: unit sphere, i.i.d. points (``random_sphere(n, seed=0)``),
  mean relative error of eigenvalues 1..24 against ``l(l+1)`` (l = 1..4);
* ``accuracy_ellipsoid.csv``: ellipsoid (1, 0.6, 0.3), i.i.d. points uniform by area
  (``random_ellipsoid(n, seed=0)``), mean |relative error| of modes 1..30 against
  ``../shared/data/ellipsoid_lb_eigenvalues.txt``;

  each for ``ours`` (``om.spectrum(points, n_modes=...)``, weak form),
  ``robust-laplacian`` (``point_cloud_laplacian(points, n_neighbors=30)``) and ``fem``
  (P1 finite elements, cotangent stiffness and consistent mass, on the convex hull's
  triangles of the same points), at N = 2000 … 32 000 (``--quick``: up to 8000);
* ``build_time.csv``: seconds to build the operator (min of 3 runs) for ``ours``
  (``LaplaceBeltrami(form="weak").fit``), ``robust-laplacian`` and the bare ``knn``
  (``cKDTree(points).query(points, 17, workers=-1)``), at N = 1e4 … 3e5 (``--quick``:
  up to 1e5);
* ``meta.json``: date, machine, cores, load, package versions.

Usage::

    PYTHONPATH=. python benchmarks/bench_accuracy_curves.py            # everything
    PYTHONPATH=. python benchmarks/bench_accuracy_curves.py --part accuracy --quick
    PYTHONPATH=. python benchmarks/bench_accuracy_curves.py --part speed

Eigen-solves run with one BLAS thread (``threadpoolctl``); timings are wall-clock on
whatever else the machine is doing, so the load average is printed and recorded.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse.linalg as sla
from scipy.spatial import ConvexHull, cKDTree
from threadpoolctl import threadpool_limits

import o3d_meshless as om
from o3d_meshless.testing import random_ellipsoid, random_sphere
from o3d_meshless.testing.fem import p1_fem

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

ACCURACY_N = (2000, 4000, 8000, 16000, 32000)
SPEED_N = (10_000, 30_000, 100_000, 300_000)
QUICK_ACCURACY_MAX = 8000
QUICK_SPEED_MAX = 100_000
ACCURACY_METHODS = ("ours", "robust-laplacian", "fem")
SPEED_METHODS = ("ours", "robust-laplacian", "knn")
SPHERE_MODES = 24          # eigenvalues 1..24: l = 1..4 (3 + 5 + 7 + 9)
ELLIPSOID_MODES = 30       # eigenvalues 1..30
FIELDS = ("case", "method", "n", "value")


def sphere_reference():
    return np.array([l * (l + 1) for l in range(0, 5) for _ in range(2 * l + 1)], float)


def fem_hull(points):
    """P1 FEM on the convex hull's triangles: cotangent stiffness K, consistent mass M."""
    return p1_fem(points, ConvexHull(points).simplices)


def pencil_eigenvalues(K, M, n_modes):
    with threadpool_limits(1):
        vals = sla.eigsh(K.tocsc(), n_modes, M.tocsc(), sigma=-1e-3, which="LM",
                         return_eigenvectors=False)
    return np.sort(vals)


def spectra(points, n_modes, robust_laplacian):
    """Smallest ``n_modes`` eigenvalues by each method, as {method: values}."""
    out = {}
    with threadpool_limits(1):
        out["ours"] = np.sort(np.asarray(om.spectrum(points, n_modes=n_modes).values))
    L, M = robust_laplacian.point_cloud_laplacian(points, n_neighbors=30)
    out["robust-laplacian"] = pencil_eigenvalues(L, M, n_modes)
    out["fem"] = pencil_eigenvalues(*fem_hull(points), n_modes)
    return out


def mean_rel_error(vals, ref, modes):
    return float(np.abs(vals[1:modes + 1] / ref[1:modes + 1] - 1).mean())


def write_csv(name, rows):
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / name, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(FIELDS)
        for case, method, n, value in rows:
            w.writerow([case, method, int(n), f"{value:.6g}"])


def markdown(title, rows, methods, fmt):
    sizes = sorted({r[2] for r in rows})
    table = {(r[1], r[2]): r[3] for r in rows}
    lines = [f"\n{title}\n", "| method | " + " | ".join(f"N = {n}" for n in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for m in methods:
        cells = [fmt(table[m, n]) if (m, n) in table else "–" for n in sizes]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    print("\n".join(lines), flush=True)


def accuracy(sizes):
    import robust_laplacian
    ref_path = DATA / "ellipsoid_lb_eigenvalues.txt"
    if not ref_path.is_file():
        raise SystemExit(f"reference {ref_path} not found")
    ell_ref = np.loadtxt(ref_path)
    sph_ref = sphere_reference()
    sphere, ellipsoid = [], []
    for n in sizes:
        t0 = time.perf_counter()
        vals = spectra(random_sphere(n, seed=0), SPHERE_MODES + 1, robust_laplacian)
        for m in ACCURACY_METHODS:
            sphere.append(("sphere", m, n, mean_rel_error(vals[m], sph_ref, SPHERE_MODES)))
        vals = spectra(random_ellipsoid(n, seed=0), ELLIPSOID_MODES + 1, robust_laplacian)
        for m in ACCURACY_METHODS:
            ellipsoid.append(("ellipsoid", m, n,
                              mean_rel_error(vals[m], ell_ref, ELLIPSOID_MODES)))
        print(f"  accuracy N = {n}: {time.perf_counter() - t0:.1f} s", flush=True)
    write_csv("accuracy_sphere.csv", sphere)
    write_csv("accuracy_ellipsoid.csv", ellipsoid)
    markdown(f"Unit sphere, i.i.d. points: mean relative error of eigenvalues 1–"
             f"{SPHERE_MODES}", sphere, ACCURACY_METHODS, lambda v: f"{v:.2e}")
    markdown(f"Ellipsoid (1, 0.6, 0.3), i.i.d. points: mean |relative error| of modes 1–"
             f"{ELLIPSOID_MODES}", ellipsoid, ACCURACY_METHODS, lambda v: f"{v:.2e}")


def best_of(fn, points, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(points)
        best = min(best, time.perf_counter() - t0)
    return best


def speed(sizes, max_load=1.5):
    import robust_laplacian
    builders = {
        "ours": lambda p: om.LaplaceBeltrami(form="weak", progress=False).fit(p),
        "robust-laplacian": lambda p: robust_laplacian.point_cloud_laplacian(p, n_neighbors=30),
        "knn": lambda p: cKDTree(p).query(p, 17, workers=-1),
    }
    for attempt in range(2):
        load = os.getloadavg()
        print(f"load average before timing: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
              flush=True)
        if load[0] <= max_load or attempt == 1:
            break
        print(f"  load above {max_load}: waiting 120 s and retrying once", flush=True)
        time.sleep(120)
    rows = []
    for n in sizes:
        p = random_sphere(n, seed=0)
        for m in SPEED_METHODS:
            rows.append(("sphere", m, n, best_of(builders[m], p)))
        print(f"  timed N = {n}", flush=True)
    load_after = os.getloadavg()
    write_csv("build_time.csv", rows)
    markdown("Unit sphere, i.i.d. points: build time in seconds (min of 3)", rows,
             SPEED_METHODS, lambda v: f"{v:.3g}")
    print(f"\nload average (1, 5, 15 min): before {tuple(round(x, 2) for x in load)}, "
          f"after {tuple(round(x, 2) for x in load_after)}", flush=True)
    return {"load_before": [round(x, 2) for x in load],
            "load_after": [round(x, 2) for x in load_after]}


def write_meta(part, quick, extra=None):
    path = RESULTS / "meta.json"
    meta = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    try:
        import robust_laplacian
        rl_version = getattr(robust_laplacian, "__version__", None)
        if rl_version is None:
            from importlib.metadata import version
            rl_version = version("robust_laplacian")
    except Exception:                                   # pragma: no cover
        rl_version = None
    meta.update({
        "machine": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                     "o3d_meshless": om.__version__, "robust_laplacian": rl_version},
        "command": "PYTHONPATH=. python benchmarks/bench_accuracy_curves.py",
    })
    entry = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             "quick": quick}
    entry.update(extra or {})
    meta[part] = entry
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("all", "accuracy", "speed"), default="all")
    ap.add_argument("--quick", action="store_true",
                    help=f"accuracy up to N = {QUICK_ACCURACY_MAX}, timing up to "
                         f"N = {QUICK_SPEED_MAX}")
    args = ap.parse_args(argv)
    if args.part in ("all", "accuracy"):
        sizes = [n for n in ACCURACY_N if not args.quick or n <= QUICK_ACCURACY_MAX]
        accuracy(sizes)
        write_meta("accuracy", args.quick, {"sizes": sizes})
    if args.part in ("all", "speed"):
        sizes = [n for n in SPEED_N if not args.quick or n <= QUICK_SPEED_MAX]
        extra = speed(sizes)
        write_meta("speed", args.quick, {"sizes": sizes, **extra})


if __name__ == "__main__":
    main()
