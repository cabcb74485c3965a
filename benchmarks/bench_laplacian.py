"""Benchmark LaplaceBeltrami.fit against a bare k-NN query and robust-laplacian.

Run the default set (N = 1e4, 1e5, 1e6 on a random unit sphere and on the Stanford
bunny; about 5-10 minutes on 2 cores):

    python benchmarks/bench_laplacian.py
    python benchmarks/bench_laplacian.py --quick --out results.json

It prints machine information, then two tables, every number from the same run:

1. Build: a bare ``scipy.spatial.cKDTree`` build + ``query(points, k+1)`` (k = 16, the
   default of ``LaplaceBeltrami``), ``LaplaceBeltrami(k=16).fit`` with its per-stage
   times and guard rows, ``robust_laplacian.point_cloud_laplacian(n_neighbors=30)``,
   the peak memory of each build in bytes per point, the time ratios ours / k-NN and
   ours / robust-laplacian, and the time of ``op.spectrum(50)`` (N <= 1e5 unless
   ``--spectrum-1e6``).
2. Accuracy on the unit sphere (N = 16000, Fibonacci and i.i.d. random points):
   relative RMS eigenvalue error per degree l = 1..6 against l(l+1).

Every build runs in a fresh Python process (this script with a hidden ``--worker``
option) that imports its libraries, warms up on 500 points, loads the points from a
``.npy`` file and resets its peak RSS; the build's memory is the increase of the peak
RSS during its first run, divided by N. The peak is Linux's ``VmHWM``, not
``ru_maxrss``, which in a fork + exec'd child starts at the parent's peak. Times are
the best of up to ``--repeat`` runs, stopping once the runs add up to a second.

robust-laplacian at a larger N is skipped (with a note) when its time, extrapolated
as N log N from the previous N, would pass ``--peer-max-s`` (300 s) or its memory,
extrapolated linearly, ``--peer-max-gb`` (12 GiB); a run is stopped past
``--peer-max-s`` or 80 % of the memory available when it starts.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

K = 16                   # neighbours of LaplaceBeltrami (its default)
PEER_NEIGHBORS = 30      # robust_laplacian.point_cloud_laplacian's default n_neighbors
SEED = 0
SHAPES = ("sphere", "bunny")
STAGES = ("points", "neighbours", "frames", "stencils", "assembly")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
SPECTRUM_SIZES = (10_000, 100_000)
ACCURACY_N = 16_000
ACCURACY_DEGREES = range(1, 7)
WARMUP_N = 500
MIN_TOTAL_S = 1.0        # stop repeating a build once the runs add up to this
POLL_S = 0.2             # how often a worker's time and RSS are checked

MEMORY_NOTE = ("B/pt = (peak RSS after the first build - peak RSS before it) / N, in a fresh "
               "process per build that has imported its libraries, warmed up on 500 points, "
               "loaded the points and then reset its peak to its current RSS; peak RSS = "
               "VmHWM (ru_maxrss of a fork+exec'd child starts at the parent's peak)")


# --------------------------------------------------------------------------- points

def sphere_random(n, seed=SEED):
    """``n`` i.i.d. uniform points on the unit sphere (normalised Gaussians)."""
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def sphere_fibonacci(n):
    """``n`` quasi-uniform points on the unit sphere (Fibonacci / golden-angle spiral)."""
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    r = np.sqrt(1.0 - z * z)
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


def bunny_points(n, seed=SEED):
    """``n`` points sampled uniformly by area on the shipped bunny's triangle mesh
    (the shipped cloud itself has only 8171 vertices)."""
    import trimesh

    from o3d_meshless import sample_path

    mesh = trimesh.load(sample_path(), process=False)
    return np.asarray(mesh.sample(n, seed=seed), dtype=np.float64)


def make_points(shape, n):
    """Points of a benchmark ``shape`` ("sphere" or "bunny"), fixed seed."""
    return {"sphere": sphere_random, "bunny": bunny_points}[shape](n)


# --------------------------------------------------------------------------- memory

def proc_field(path, key):
    """The value after ``key:`` in a /proc text file, or None where unavailable."""
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


def proc_kib_bytes(path, key):
    """A ``… kB`` field of a /proc file in bytes, or None."""
    value = proc_field(path, key)
    return None if value is None else int(value.split()[0]) * 1024


def available_memory_bytes():
    """``MemAvailable`` from /proc/meminfo (inf where unknown)."""
    available = proc_kib_bytes("/proc/meminfo", "MemAvailable")
    return float("inf") if available is None else available


def reset_peak_rss():
    """Reset this process's peak RSS to its current RSS (Linux ≥ 4.0; else a no-op)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_bytes():
    """Peak resident set size of this process image so far.

    ``VmHWM`` where Linux has it: unlike ``ru_maxrss`` it does not inherit the parent's
    peak across fork + exec, and :func:`reset_peak_rss` can reset it.
    """
    hwm = proc_kib_bytes("/proc/self/status", "VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --------------------------------------------------------------------------- builds

@contextmanager
def single_thread_blas():
    """Limit BLAS to one thread (faster shift-invert solves on few cores)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def knn_build(points):
    """The bare neighbour search: ``cKDTree`` build + ``query(k+1)`` on all cores."""
    from scipy.spatial import cKDTree

    cKDTree(points).query(points, K + 1, workers=-1)
    return None


def ours_build(points):
    """``LaplaceBeltrami(k=16).fit(points)``; returns the fitted operator."""
    from o3d_meshless import LaplaceBeltrami

    return LaplaceBeltrami(k=K, progress=False).fit(points)


def peer_build(points):
    """``robust_laplacian.point_cloud_laplacian(points, n_neighbors=30)`` → (L, M)."""
    import robust_laplacian

    return robust_laplacian.point_cloud_laplacian(points, n_neighbors=PEER_NEIGHBORS)


BUILDS = {"knn": knn_build, "ours": ours_build, "peer": peer_build}


def ours_stats(op):
    """Per-stage times and guard rows of a fitted ``LaplaceBeltrami``."""
    return {"timings": dict(op.diagnostics_["timings"]),
            "guard_rows": int(op.diagnostics_["guard_rows"])}


#: per-run statistics reported besides the time, by method
STATS = {"ours": ours_stats}


def timed_build(build, points):
    """``(wall seconds, CPU seconds of all threads, result)`` of one build."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = build(points)
    return time.perf_counter() - t0, time.process_time() - c0, result


def measure_build(method, points_file, repeat, spectrum_modes=0):
    """Time and memory of one build method; runs inside the worker process.

    Returns a dict with ``bytes_per_point`` (first run), ``time_s`` and ``cpu_s``
    (best run, wall and CPU time), ``runs``, the method's :data:`STATS` of the best run and, when ``spectrum_modes``
    > 0 (``ours`` only), ``spectrum_s``: the time of ``op.spectrum(spectrum_modes)``.
    """
    build = BUILDS[method]
    stats = STATS.get(method, lambda result: {})
    build(sphere_random(WARMUP_N, seed=1))          # imports and first-call costs
    points = np.load(points_file)
    reset_peak_rss()
    baseline = peak_rss_bytes()
    seconds, cpu, result = timed_build(build, points)
    out = {"bytes_per_point": (peak_rss_bytes() - baseline) / len(points),
           "time_s": seconds, "cpu_s": cpu, "runs": 1, **stats(result)}
    total = seconds
    while out["runs"] < repeat and total < MIN_TOTAL_S:
        del result                                   # free the previous build first
        seconds, cpu, result = timed_build(build, points)
        total += seconds
        out["runs"] += 1
        if seconds < out["time_s"]:
            out.update(time_s=seconds, cpu_s=cpu, **stats(result))
    if spectrum_modes:
        t0 = time.perf_counter()
        result.spectrum(spectrum_modes)
        out["spectrum_s"] = time.perf_counter() - t0
    return out


class WorkerStopped(RuntimeError):
    """A worker was killed for running too long or using too much memory."""


def run_worker(method, points_file, *, repeat, spectrum_modes=0, max_s=None, max_rss=None):
    """Run :func:`measure_build` in a fresh interpreter; returns its dict.

    The worker's RSS is polled: past ``max_s`` seconds or ``max_rss`` bytes it is killed
    and :class:`WorkerStopped` says why. A failing worker raises ``RuntimeError`` with
    its stderr.
    """
    spec = json.dumps({"method": method, "points_file": str(points_file), "repeat": repeat,
                       "spectrum_modes": spectrum_modes, "k": K})
    proc = subprocess.Popen([sys.executable, __file__, "--worker", spec], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    while True:
        try:
            stdout, stderr = proc.communicate(timeout=POLL_S)
            break
        except subprocess.TimeoutExpired:
            rss = proc_kib_bytes(f"/proc/{proc.pid}/status", "VmRSS") or 0
            if max_s is not None and time.monotonic() - t0 > max_s:
                reason = f"stopped after {max_s:.0f} s"
            elif max_rss is not None and rss > max_rss:
                reason = f"stopped at {rss / 2**30:.1f} GiB RSS"
            else:
                continue
            proc.kill()
            proc.communicate()
            raise WorkerStopped(reason) from None
    if proc.returncode != 0:
        raise RuntimeError(f"{method} worker failed ({proc.returncode}):\n{stderr}")
    return json.loads(stdout.strip().splitlines()[-1])


def worker_main(spec):
    """Entry point of the worker process: measure and print the result as JSON."""
    global K
    options = json.loads(spec)
    K = options.pop("k", K)
    print(json.dumps(measure_build(**options)), flush=True)


# --------------------------------------------------------------------------- peer limits

def peer_skip_reason(previous, n, max_s, max_bytes):
    """Why the peer build at ``n`` points should be skipped, or None.

    ``previous`` is the peer's measurement at the largest smaller N of the same shape
    (or None); its time is extrapolated as N log N and its memory linearly in N.
    """
    if previous is None:
        return None
    est_s = previous["time_s"] * n * np.log(n) / (previous["n"] * np.log(previous["n"]))
    est_bytes = previous["bytes_per_point"] * n
    limit_bytes = min(max_bytes, 0.8 * available_memory_bytes())
    if est_s > max_s or est_bytes > limit_bytes:
        return (f"robust-laplacian skipped at N={fmt_n(n)}: extrapolated {est_s:.0f} s, "
                f"{est_bytes / 2**30:.1f} GiB (limits {max_s:.0f} s, "
                f"{limit_bytes / 2**30:.1f} GiB)")
    return None


# --------------------------------------------------------------------------- benchmark

def bench_case(shape, n, points_file, args, previous_peer):
    """All builds of one (shape, N): one row of the build table, plus notes."""
    row, notes = {"shape": shape, "n": n}, []
    spectrum_sizes = SPECTRUM_SIZES + ((1_000_000,) if args.spectrum_1e6 else ())
    modes = args.modes if n in spectrum_sizes else 0
    row["knn"] = run_worker("knn", points_file, repeat=args.repeat)
    row["ours"] = run_worker("ours", points_file, repeat=args.repeat, spectrum_modes=modes)
    if not args.no_peer:
        reason = peer_skip_reason(previous_peer, n, args.peer_max_s, args.peer_max_gb * 2**30)
        if reason is None:
            try:
                row["peer"] = run_worker("peer", points_file, repeat=args.repeat,
                                         max_s=args.peer_max_s,
                                         max_rss=0.8 * available_memory_bytes())
            except WorkerStopped as stopped:
                reason = f"robust-laplacian at N={fmt_n(n)} {stopped}"
        if reason:
            notes.append(f"{shape}: {reason}")
    return row, notes


def run_builds(args, workdir):
    """The build table's rows for every shape and size, plus notes on skipped runs."""
    rows, notes = [], []
    for shape in SHAPES:
        previous_peer = None
        for n in args.sizes:
            points_file = Path(workdir) / f"{shape}_{n}.npy"
            np.save(points_file, make_points(shape, n))
            row, row_notes = bench_case(shape, n, points_file, args, previous_peer)
            points_file.unlink()
            rows.append(row)
            notes += row_notes
            if "peer" in row:
                previous_peer = dict(row["peer"], n=n)
            print(f"  done: {shape} N={fmt_n(n)}", file=sys.stderr, flush=True)
    return rows, notes


def relative_errors(vals, degrees=ACCURACY_DEGREES):
    """E2(l) = sqrt(mean over the 2l+1 eigenvalues of degree l of ((λ - l(l+1))/l(l+1))²),
    from ascending eigenvalues with λ₀ = 0 first."""
    vals = np.sort(np.asarray(vals))
    out = {}
    for l in degrees:
        exact = l * (l + 1)
        block = vals[l * l:(l + 1) * (l + 1)]
        out[l] = float(np.sqrt(np.mean(((block - exact) / exact) ** 2)))
    return out


def peer_eigenvalues(points, n_eigs):
    """Smallest ``n_eigs`` eigenvalues of robust-laplacian's ``L x = λ M x``."""
    from scipy.sparse.linalg import eigsh

    L, M = peer_build(points)
    with single_thread_blas():
        vals = eigsh(L, n_eigs, M, sigma=-1e-8, return_eigenvectors=False)
    return np.sort(vals)


def run_accuracy(args):
    """Sphere eigenvalue errors (ours and the peer) for Fibonacci and random points."""
    n_eigs = (max(ACCURACY_DEGREES) + 1) ** 2
    out = {}
    for name, points in (("fibonacci", sphere_fibonacci(ACCURACY_N)),
                         ("random", sphere_random(ACCURACY_N))):
        vals, _ = ours_build(points).spectrum(n_eigs)
        out[name] = {"ours": relative_errors(vals), "ours_min_eig": float(vals.min())}
        if not args.no_peer:
            out[name]["peer"] = relative_errors(peer_eigenvalues(points, n_eigs))
    return out


# --------------------------------------------------------------------------- output

def _version(dist):
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "n/a"


def _git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "n/a"


def machine_info():
    """Cores, CPU, memory and library versions."""
    return {
        "cpu": proc_field("/proc/cpuinfo", "model name") or platform.processor() or "n/a",
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        **{d: _version(d) for d in ("numpy", "scipy", "o3d_meshless", "robust-laplacian",
                                    "trimesh", "threadpoolctl")},
        "o3d_meshless_commit": _git_commit(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def print_table(title, header, rows):
    """Right-aligned plain-text table; cells are preformatted strings."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells):
        return "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))

    print(f"\n{title}")
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def fmt_n(n):
    """Point counts as ``1e4`` when they are a power of ten, else as integers."""
    mantissa, exponent = f"{n:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}" if float(f"{n:.0e}") == n else str(n)


def _fmt(x, spec):
    return "—" if x is None else format(x, spec)


def _ratio(a, b):
    return None if a is None or b is None else a / b


def build_table(rows):
    """Header and formatted cells of the build table."""
    header = ["shape", "N", "kNN s", "ours s", "ours cpu s", *STAGES, "guard", "ours B/pt",
              "RL s", "RL B/pt", "ours/kNN", "ours/RL", "mem ours/RL", "spectrum s"]
    cells = []
    for r in rows:
        ours, knn, peer = r["ours"], r["knn"], r.get("peer", {})
        cells.append([
            r["shape"], fmt_n(r["n"]), _fmt(knn["time_s"], ".3f"), _fmt(ours["time_s"], ".3f"),
            _fmt(ours["cpu_s"], ".3f"), *(_fmt(ours["timings"].get(s), ".3f") for s in STAGES), ours["guard_rows"],
            _fmt(ours["bytes_per_point"], ".0f"), _fmt(peer.get("time_s"), ".2f"),
            _fmt(peer.get("bytes_per_point"), ".0f"),
            _fmt(_ratio(ours["time_s"], knn["time_s"]), ".2f"),
            _fmt(_ratio(ours["time_s"], peer.get("time_s")), ".3f"),
            _fmt(_ratio(ours["bytes_per_point"], peer.get("bytes_per_point")), ".2f"),
            _fmt(ours.get("spectrum_s"), ".2f"),
        ])
    return header, cells


def accuracy_table(acc):
    """Header and cells of the sphere accuracy table."""
    columns = [(name, who) for name in acc for who in ("ours", "peer") if who in acc[name]]
    header = ["l"] + [f"{name[:3]} {'ours' if who == 'ours' else 'RL'}" for name, who in columns]
    cells = [[l] + [f"{acc[name][who][l]:.2e}" for name, who in columns]
             for l in ACCURACY_DEGREES]
    cells.append(["min λ"] + [f"{acc[name]['ours_min_eig']:.1e}" if who == "ours" else "—"
                              for name, who in columns])
    return header, cells


def report(info, rows, notes, accuracy, args):
    """Print the machine, the build table with its notes and the accuracy table."""
    n_eigs = (max(ACCURACY_DEGREES) + 1) ** 2
    print("Machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    print_table(f"Build: ours = LaplaceBeltrami(k={K}).fit, RL = robust-laplacian "
                f"(n_neighbors={PEER_NEIGHBORS}); times in s, best of up to {args.repeat} runs",
                *build_table(rows))
    print(f"  kNN = cKDTree(points) + query(points, {K + 1}, workers=-1); points..assembly = "
          "ours' stages (diagnostics_['timings']); guard = diagnostics_['guard_rows']")
    print("  ours/kNN, ours/RL = time ratios; mem ours/RL = B/pt ratio; spectrum = "
          f"op.spectrum({args.modes}) after the build (shift-invert ARPACK, 1 BLAS thread)")
    print("  s = wall time; cpu s = CPU time of all threads (ours and kNN use every core, "
          "RL one: its CPU time ~ its wall time, see the JSON)")
    print(f"  {MEMORY_NOTE}")
    print(f"  sphere = i.i.d. uniform on the unit sphere (seed {SEED}); bunny = area-uniform "
          f"samples of the shipped bunny mesh (trimesh, seed {SEED})")
    for note in notes:
        print(f"  note: {note}")
    if accuracy:
        print_table(f"Accuracy, unit sphere N={ACCURACY_N}: E2(l) = RMS over the 2l+1 "
                    "eigenvalues of (λ - l(l+1))/(l(l+1)); fib = Fibonacci, ran = i.i.d. "
                    f"random (seed {SEED})", *accuracy_table(accuracy))
        print(f"  ours: op.spectrum({n_eigs}); RL: eigsh(L, {n_eigs}, M, sigma=-1e-8) with "
              "1 BLAS thread; min λ = smallest real eigenvalue of ours")


# --------------------------------------------------------------------------- CLI

def parse_sizes(text):
    """``"1e4,1e5"`` → ``(10000, 100000)``."""
    return tuple(int(float(s)) for s in text.split(",") if s.strip())


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=DEFAULT_SIZES,
                        help="comma-separated point counts (default 1e4,1e5,1e6)")
    parser.add_argument("--quick", action="store_true", help="sizes 1e4,1e5 only")
    parser.add_argument("--no-peer", action="store_true", help="skip robust-laplacian")
    parser.add_argument("--modes", type=int, default=50, help="modes of the timed spectrum")
    parser.add_argument("--spectrum-1e6", action="store_true",
                        help="also time the spectrum at N=1e6 (slow)")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the accuracy table")
    parser.add_argument("--k", type=int, default=K,
                        help="neighbours of LaplaceBeltrami (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs per build at most (stops after 1 s of runs)")
    parser.add_argument("--peer-max-s", type=float, default=300.0,
                        help="skip/stop robust-laplacian beyond this many seconds")
    parser.add_argument("--peer-max-gb", type=float, default=12.0,
                        help="skip robust-laplacian beyond this extrapolated memory (GiB)")
    parser.add_argument("--out", type=Path, help="also write all results as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes = QUICK_SIZES
    return args


def main(argv=None):
    global K
    args = parse_args(argv)
    if args.worker:
        return worker_main(args.worker)
    K = args.k
    t0 = time.perf_counter()
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="bench_laplacian_") as workdir:
        rows, notes = run_builds(args, workdir)
    accuracy = None if args.no_accuracy else run_accuracy(args)
    report(info, rows, notes, accuracy, args)
    total = time.perf_counter() - t0
    print(f"\nTotal benchmark time: {total:.0f} s")
    if args.out:
        args.out.write_text(json.dumps({"machine": info, "memory_method": MEMORY_NOTE,
                                        "builds": rows, "notes": notes, "accuracy": accuracy,
                                        "total_s": total}, indent=2))
        print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
