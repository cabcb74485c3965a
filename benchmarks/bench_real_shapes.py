"""Laplace–Beltrami spectra on real shapes: accuracy against FEM and spurious modes.

Prints two markdown-style tables, each row as soon as it is computed, with the peer
libraries side by side (a peer that is not installed gets "n/a" and a note).

1. **Closed meshes vs FEM** (``bunny.off``, ``cow.off``, ``spot_triangulated.obj``).
   Every mesh is scaled to unit total area, so eigenvalues are comparable across
   shapes. The reference is LaPy's P1 finite-element spectrum (cotan stiffness and
   consistent mass, ``lump=False``), modes 1..``--modes`` (mode 0 ≈ 0 is skipped).
   Compared mode by mode (sorted eigenvalue i against FEM eigenvalue i), as the mean
   and max of ``|λ_i − λ_i^FEM| / λ_i^FEM`` in %:

   * ours: ``LaplaceBeltrami(**options).fit(mesh).spectrum(modes + 1)``, fitted on the
     ``trimesh.Trimesh`` itself (its vertex normals and boundary edges are used), plus the
     smallest real part among its eigenvalues and how many are negative
     (``Re λ < −1e-8 λ₁^FEM``); "ours cloud": the same fitted on the vertex array alone
     (normals estimated: the closed meshes used as vertex clouds);
   * robust-laplacian ``point_cloud_laplacian(vertices, n_neighbors=30)`` and
     ``mesh_laplacian(vertices, faces)``, generalized problem ``L v = λ M v`` solved by
     ``eigsh`` in shift-invert mode at ``σ = −1e-3``.

2. **Spurious modes on real inputs** (the raw range scan ``bun000.ply``,
   ``bun_zipper.ply``, ``bun_zipper_res2.ply``, ``cow.obj`` with its pinch vertex, and
   the shipped samples ``spot`` and ``bunny``). Each input is read with
   ``o3d_meshless.io.read.read_geometry`` and gets two rows, ours (default operator unless
   ``--option`` is given) and robust-laplacian on the same points:

   * n, build time, the guard's ``failed_rows`` (and ``positive_rows`` /
     ``boundary_rows`` when the package reports them), rows with ``L_ii <= 0``;
   * the number of eigenvalues with ``Re λ < −1e-8 λ₁`` (λ₁: the smallest real part
     above 1e-6 × the largest among the first 50 modes). Up to ``--dense-limit``
     points this is exact, from all eigenvalues of the dense matrix; above it, a
     shift-invert sweep of ``L`` in unit-area coordinates (``L · area``) collects the
     30 eigenvalues nearest each shift σ ∈ {−1e5, −1e4, −1e3, −1e2, −10, −1}, which is
     a lower bound ("≥" when one shift returned only negative eigenvalues, so more may
     hide between the shifts);
   * ``max |Im λ| / |λ|`` over the first 50 modes (the window of ``spectrum(50)``),
     from complex eigenvalues: returned by the spectrum if it does, else the dense
     ones, else an ``eigs`` solve of the same window (the bound
     ``max_imag / min |Re λ|``, printed as "≤…", if that fails);
   * the time of the 50-mode spectrum.

Eigen-solves run with one BLAS thread (``threadpoolctl``), which is much faster than
two on a 2-core machine for ARPACK's shift-invert iterations.

Run it from the repository root::

    python benchmarks/bench_real_shapes.py                  # both tables, every shape
    python benchmarks/bench_real_shapes.py --quick          # bunny.off/spot; cow.obj, spot, sample
    python benchmarks/bench_real_shapes.py --only table1 --modes 50
    python benchmarks/bench_real_shapes.py --option k=24 --option order=3
    python benchmarks/bench_real_shapes.py --data /path/to/data --dense-limit 3000

The data folder defaults to ``../shared/data`` next to the repository (see its
README for provenance). ``--quick`` takes a few minutes on 2 cores, dominated by the
dense nonsymmetric eigenvalue solves; the full run adds the 36k–40k point scans.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import os
import platform
import shlex
import sys
import time
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import linalg
from scipy.sparse import linalg as sla

import o3d_meshless as om
from o3d_meshless.io.read import read_geometry

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPOT_VERTICES = 2930          # closed genus-0 Spot, read without splitting UV seams
PEER_NEIGHBORS = 30           # robust_laplacian.point_cloud_laplacian's default
PEER_SIGMA = -1e-3            # shift of the peers' eigsh, unit-area coordinates
NEGATIVE_REL = 1e-8           # Re λ < −NEGATIVE_REL · λ₁ counts as negative
ZERO_REL = 1e-6               # λ₁ = smallest Re λ above ZERO_REL · max Re λ
IMAG_MODES = 50               # modes of the max |Im λ| / |λ| column
SWEEP_SIGMAS = (-1e5, -1e4, -1e3, -1e2, -10.0, -1.0)
SWEEP_K = 30

TABLE1_SHAPES = ("bunny.off", "cow.off", "spot_triangulated.obj")
TABLE1_QUICK = ("bunny.off", "spot_triangulated.obj")
# (label, source): a file name in --data, or ("sample", name) for om.sample_path(name)
TABLE2_INPUTS = (("bun000.ply", "bun000.ply"), ("bun_zipper.ply", "bun_zipper.ply"),
                 ("bun_zipper_res2.ply", "bun_zipper_res2.ply"), ("cow.obj", "cow.obj"),
                 ("spot (sample)", ("sample", "spot")), ("bunny (sample)", ("sample", "bunny")))
TABLE2_QUICK = ("cow.obj", "spot (sample)", "bunny (sample)")


# --------------------------------------------------------------------------- output


class Table:
    """Markdown-style table printed row by row (fixed column widths, flushed).

    Parameters
    ----------
    title : str
    columns : list of (str, int)
        Header and minimum width of each column; the first column is left-aligned,
        the others right-aligned.
    """

    def __init__(self, title, columns):
        self.title = title
        self.headers = [h for h, _ in columns]
        self.widths = [max(w, len(h)) for h, w in columns]
        self.notes = []

    def _line(self, cells):
        parts = [str(c).ljust(w) if i == 0 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(cells, self.widths))]
        return "| " + " | ".join(parts) + " |"

    def start(self):
        """Print the title, the header and the separator line."""
        say(f"\n### {self.title}\n")
        say(self._line(self.headers))
        say("|" + "|".join((":" if i == 0 else "") + "-" * (w + 1) + (":" if i else "")
                           for i, w in enumerate(self.widths)) + "|")

    def row(self, cells):
        """Print one row now."""
        say(self._line(cells))

    def note(self, text):
        """Remember a note (printed once, under the table, by :meth:`finish`)."""
        if text not in self.notes:
            self.notes.append(text)

    def finish(self, legend=()):
        """Print the legend lines and the collected notes."""
        say("")
        for text in (*legend, *self.notes):
            say(f"- {text}")


def say(text=""):
    """``print`` and flush, so rows show up while the benchmark runs."""
    print(text, flush=True)


def fmt(x, spec, missing="–"):
    """Format ``x`` with ``spec``, or ``missing`` for ``None``."""
    return missing if x is None else format(x, spec)


def machine_note():
    """One line: cores, load average, Python and library versions."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    import scipy
    return (f"machine: {os.cpu_count()} cores, load average {load}, "
            f"Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, o3d_meshless {om.__version__}")


# ------------------------------------------------------------------------ utilities


def optional_import(name):
    """Import a peer library, or return ``(None, reason)`` when it is missing.

    Parameters
    ----------
    name : str
        Module name.

    Returns
    -------
    module : module or None
    reason : str or None
        Why the import failed; ``None`` on success.
    """
    try:
        return importlib.import_module(name), None
    except ImportError as exc:
        return None, f"{name} is not installed ({exc}); its column is skipped"


def single_blas_thread():
    """Context manager limiting BLAS to one thread (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(1, "blas")


@contextmanager
def collect_warnings(table, label, limit=160):
    """Turn warnings raised inside the block into notes of ``table``.

    Parameters
    ----------
    table : Table
    label : str
        Prefix of the notes (the row they belong to).
    limit : int, default=160
        Longer messages are cut to this many characters.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = " ".join(str(w.message).split())
        if len(text) > limit:
            text = text[:limit - 1] + "…"
        table.note(f"{label}: {w.category.__name__}: {text}")


def timed(fn, *args, **kwargs):
    """``(result, wall seconds)`` of one call."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def parse_option(text):
    """``"KEY=VALUE"`` → ``(key, value)``, the value read as a Python literal if it is one."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def describe_options(opts):
    """``LaplaceBeltrami(k=24)`` style label of our operator."""
    return "LaplaceBeltrami(" + ", ".join(f"{k}={v!r}" for k, v in opts.items()) + ")"


def sorted_by_real(values):
    """Eigenvalues as an array sorted by real part (complex kept when present)."""
    values = np.asarray(values)
    return values[np.argsort(values.real, kind="stable")]


def first_nonzero(values):
    """λ₁: the smallest real part above ``ZERO_REL`` × the largest one.

    Parameters
    ----------
    values : array_like
        Eigenvalues (real or complex), any order.

    Returns
    -------
    float or None
        ``None`` when no real part is positive.
    """
    re = np.sort(np.asarray(values).real)
    if len(re) == 0 or re[-1] <= 0:
        return None
    above = re[re > ZERO_REL * re[-1]]
    return float(above[0])


def relative_deviation(values, reference, modes):
    """Mean and max of ``|λ_i − λ_i^ref| / λ_i^ref`` over modes 1..``modes``, in %.

    Parameters
    ----------
    values, reference : array_like
        Ascending eigenvalues (real parts are compared), mode 0 first.
    modes : int

    Returns
    -------
    mean, max : float
    """
    v = np.asarray(values).real[1:modes + 1]
    r = np.asarray(reference, dtype=float)[1:modes + 1]
    if len(v) < modes or len(r) < modes:
        raise ValueError(f"need {modes + 1} eigenvalues, got {len(v) + 1} and {len(r) + 1}")
    dev = 100.0 * np.abs(v - r) / r
    return float(dev.mean()), float(dev.max())


def generalized_smallest(L, M, n, sigma=PEER_SIGMA):
    """Smallest ``n`` eigenvalues of the symmetric problem ``L v = λ M v`` (ascending).

    Shift-invert ``eigsh`` at ``sigma`` with a fixed start vector, one BLAS thread.
    """
    with single_blas_thread():
        vals = sla.eigsh(L.tocsc(), k=n, M=M.tocsc(), sigma=sigma, which="LM",
                         v0=np.ones(L.shape[0]), return_eigenvectors=False)
    return np.sort(vals)


def ours_spectrum(op, n_modes):
    """Eigenvalues of ``op.spectrum(n_modes)``, sorted by real part, and the raw result.

    Only ``result[0]`` is used, so both a plain ``(vals, vecs)`` tuple and a richer
    result object that unpacks like one work.
    """
    with single_blas_thread():
        result = op.spectrum(n_modes)
    return sorted_by_real(result[0]), result


# ------------------------------------------------------------ table 1: closed meshes


def load_unit_area_mesh(path, trimesh, expect_vertices=None):
    """Read a closed triangle mesh as stored and scale it to unit total area.

    Parameters
    ----------
    path : pathlib.Path
    trimesh : module
    expect_vertices : int, optional
        Raise if the mesh does not have this many vertices (Spot read with its UV
        seams split has 3225 instead of 2930).

    Returns
    -------
    mesh : trimesh.Trimesh
        ``process=False`` copy with vertices multiplied by ``1 / sqrt(area)``.
    """
    mesh = trimesh.load(path, process=False, maintain_order=True)
    if expect_vertices is not None and len(mesh.vertices) != expect_vertices:
        raise ValueError(f"{path.name}: {len(mesh.vertices)} vertices, expected "
                         f"{expect_vertices} (load with process=False, maintain_order=True)")
    scale = 1.0 / np.sqrt(mesh.area)
    return trimesh.Trimesh(vertices=np.asarray(mesh.vertices, dtype=np.float64) * scale,
                           faces=np.asarray(mesh.faces), process=False)


def fem_eigenvalues(lapy, vertices, faces, n):
    """LaPy P1 FEM eigenvalues (cotan stiffness, consistent mass), ``n`` smallest.

    Parameters
    ----------
    lapy : module
    vertices : ndarray of shape (nv, 3)
    faces : ndarray of shape (nf, 3)
    n : int

    Returns
    -------
    ndarray of shape (n,)
        Ascending; 0 first on a closed surface.
    """
    solver = lapy.Solver(lapy.TriaMesh(vertices, faces), lump=False)
    with single_blas_thread():
        vals, _ = solver.eigs(k=n, v0=np.ones(len(vertices)))
    return np.sort(vals)


def peer_deviations(rl, verts, faces, ref, modes):
    """Mean deviation (%) of robust-laplacian's point-cloud and mesh spectra from ``ref``.

    Parameters
    ----------
    rl : module
        ``robust_laplacian``.
    verts, faces : ndarray
        Unit-area mesh.
    ref : ndarray
        FEM eigenvalues, mode 0 first.
    modes : int

    Returns
    -------
    pc, mesh : str
        Formatted percentages.
    """
    out = []
    for L, M in (rl.point_cloud_laplacian(verts, n_neighbors=PEER_NEIGHBORS),
                 rl.mesh_laplacian(verts, faces)):
        vals = generalized_smallest(L, M, modes + 1)
        out.append(f"{relative_deviation(vals, ref, modes)[0]:.2f}")
    return tuple(out)


def table1_row(name, path, args, peers, table):
    """Compute and print one row of table 1."""
    n_eigs = args.modes + 1
    expect = SPOT_VERTICES if name.startswith("spot") else None
    mesh = load_unit_area_mesh(path, peers["trimesh"], expect)
    verts, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    ref = fem_eigenvalues(peers["lapy"], verts, faces, n_eigs)
    lam1 = float(ref[1])

    with collect_warnings(table, f"{name}, ours"):
        op = om.LaplaceBeltrami(**args.options).fit(mesh)
        ours, _ = ours_spectrum(op, n_eigs)
    mean, worst = relative_deviation(ours, ref, args.modes)
    n_neg = int((ours.real < -NEGATIVE_REL * lam1).sum())
    with collect_warnings(table, f"{name}, ours as a cloud"):
        cloud = om.LaplaceBeltrami(**args.options).fit(verts)      # vertices only
        ours_cloud, _ = ours_spectrum(cloud, n_eigs)
    cloud_mean, _ = relative_deviation(ours_cloud, ref, args.modes)
    n_neg += int((ours_cloud.real < -NEGATIVE_REL * lam1).sum())

    rl = peers["robust_laplacian"]
    rl_pc = rl_mesh = "n/a"
    if rl is not None:
        with collect_warnings(table, f"{name}, RL"):
            rl_pc, rl_mesh = peer_deviations(rl, verts, faces, ref, args.modes)
    table.row([name, len(verts), f"{lam1:.3f}", f"{mean:.2f}", f"{worst:.2f}",
               f"{cloud_mean:.2f}", f"{float(ours.real.min()):.3g}", n_neg, rl_pc, rl_mesh])


def run_table1(args, peers):
    """Table 1: eigenvalues of closed meshes against LaPy FEM."""
    modes = args.modes
    table = Table(f"Table 1: closed meshes vs FEM (unit area, modes 1-{modes}, deviation "
                  "from LaPy FEM in %)",
                  [("shape", 21), ("n", 5), ("FEM λ₁", 7), ("ours mean %", 6),
                   ("ours max %", 6), ("ours cloud mean %", 6), ("ours min Re", 9),
                   ("ours #neg", 4),
                   ("RL pc mean %", 6), ("RL mesh mean %", 6)])
    missing = [m for m in ("trimesh", "lapy") if peers[m] is None]
    if missing:
        table.start()
        table.finish([f"table 1 skipped: {', '.join(missing)} not installed (needed for "
                      "the meshes and the FEM reference)"])
        return
    if peers["robust_laplacian"] is None:
        table.note(peers["notes"]["robust_laplacian"])
    table.start()
    for name in TABLE1_QUICK if args.quick else TABLE1_SHAPES:
        path = args.data / name
        if not path.is_file():
            table.note(f"{name}: not found in {args.data}; row skipped")
            continue
        try:
            table1_row(name, path, args, peers, table)
        except Exception as exc:                     # keep the other rows going
            table.note(f"{name}: failed with {type(exc).__name__}: {exc}")
    table.finish([
        f"ours = {describe_options(args.options)}.fit(trimesh.Trimesh).spectrum({modes + 1}) "
        "(the mesh's vertex normals and boundary edges are used); ours cloud = the same on "
        "the vertex array alone (estimated normals); modes compared by sorted real part, i "
        "against i",
        f"ours min Re = smallest real part of the {modes + 1} eigenvalues (mesh input); #neg = "
        f"how many have Re λ < −{NEGATIVE_REL:g} λ₁(FEM), mesh and cloud inputs together",
        f"RL pc = robust_laplacian.point_cloud_laplacian(vertices, n_neighbors={PEER_NEIGHBORS}), "
        "RL mesh = robust_laplacian.mesh_laplacian(vertices, faces); L v = λ M v by eigsh "
        f"shift-invert, σ = {PEER_SIGMA:g}",
    ])


# ---------------------------------------------------------- table 2: spurious modes


@dataclass
class NegativeCount:
    """How many eigenvalues have a negative real part, and how that was found."""

    count: int
    lower_bound: bool = False        # the sweep may have missed some
    how: str = "dense"

    def __str__(self):
        return ("≥" if self.lower_bound else "") + str(self.count)


def negatives_dense(L, threshold, M=None):
    """Exact count of eigenvalues with ``Re λ < −threshold`` from the dense matrix.

    Parameters
    ----------
    L : sparse matrix of shape (n, n)
    threshold : float
    M : sparse matrix, optional
        Symmetric generalized problem ``L v = λ M v`` (``eigh``); otherwise ``L`` is
        treated as nonsymmetric (``eigvals``).

    Returns
    -------
    count : NegativeCount
    values : ndarray
        All eigenvalues, sorted by real part.
    """
    with single_blas_thread():
        if M is None:
            values = linalg.eigvals(L.toarray())
        else:
            values = linalg.eigh(L.toarray(), M.toarray(), eigvals_only=True)
    values = sorted_by_real(values)
    return NegativeCount(int((values.real < -threshold).sum()), how="dense"), values


def _distinct(values, tol):
    """Values (complex) with near-duplicates within ``tol`` (relative) merged."""
    out = []
    for v in sorted(values, key=lambda z: (z.real, z.imag)):
        if not any(abs(v - u) <= tol * max(abs(v), abs(u), 1.0) for u in out):
            out.append(v)
    return out


def negatives_sweep(L, area, threshold, M=None):
    """Lower bound on the negative eigenvalues by a shift-invert sweep.

    ``L`` is scaled to unit-area coordinates (``L · area``) and ARPACK returns the
    ``SWEEP_K`` eigenvalues nearest each shift of ``SWEEP_SIGMAS``; the distinct ones
    with ``Re λ < −threshold · area`` are counted.

    Parameters
    ----------
    L : sparse matrix of shape (n, n)
    area : float
        Total area (``M.diagonal().sum()``).
    threshold : float
        In the units of ``L``.
    M : sparse matrix, optional
        Symmetric generalized problem (``eigsh``); otherwise ``eigs``.

    Returns
    -------
    NegativeCount
        ``lower_bound`` is set when a shift returned only negative eigenvalues (more
        may lie between the shifts); ``how`` lists shifts that failed to converge.
    """
    Ls = (L * area).tocsc()
    v0 = np.ones(L.shape[0])
    found, saturated, trouble = [], False, []
    with single_blas_thread():
        for s in SWEEP_SIGMAS:
            try:
                if M is None:
                    vals = sla.eigs(Ls, k=SWEEP_K, sigma=s, which="LM", v0=v0,
                                    return_eigenvectors=False)
                else:
                    vals = sla.eigsh(Ls, k=SWEEP_K, M=M.tocsc(), sigma=s, which="LM", v0=v0,
                                     return_eigenvectors=False)
            except sla.ArpackNoConvergence as exc:
                vals = exc.eigenvalues
                trouble.append(f"{s:g}")
            neg = [complex(v) for v in np.atleast_1d(vals) if v.real < -threshold * area]
            saturated |= len(neg) == SWEEP_K
            found.extend(neg)
    how = "sweep" + (f" (no convergence at σ = {', '.join(trouble)})" if trouble else "")
    return NegativeCount(len(_distinct(found, 1e-6)), lower_bound=saturated, how=how)


def smallest_complex(L, area, n_modes):
    """The ``n_modes`` eigenvalues of smallest real part, complex, by shift-invert.

    The window of :meth:`LaplaceBeltrami.spectrum` (shift ``−1/area``, a few extra
    eigenvalues, the smallest real parts kept), for when the spectrum returns real
    parts only. ``L`` is scaled to unit area for the solve and back afterwards.
    """
    n = L.shape[0]
    k = min(n_modes + max(4, n_modes // 4), n - 2)
    with single_blas_thread():
        vals = sla.eigs((L * area).tocsc(), k=k, sigma=-1.0, which="LM", v0=np.ones(n),
                        return_eigenvectors=False)
    return sorted_by_real(vals)[:n_modes] / area


def imag_ratio(values, bound=None):
    """``max |Im λ| / |λ|`` over eigenvalues that are not ≈ 0, formatted.

    Parameters
    ----------
    values : ndarray
        Complex eigenvalues, or real parts when only ``bound`` is known.
    bound : float, optional
        ``max |Im λ|`` of a window whose real parts are ``values``: gives the upper
        bound ``max |Im λ| / min |Re λ|``, printed as "≤…".
    """
    values = np.asarray(values)
    lam1 = first_nonzero(values) or 1.0
    keep = np.abs(values) > ZERO_REL * lam1
    if not keep.any():
        return "–"
    if bound is None:
        return f"{float((np.abs(values.imag) / np.abs(values))[keep].max()):.1e}"
    return f"≤{bound / float(np.abs(values.real)[keep].min()):.1e}"


def resolve_input(source, data):
    """Path of a table-2 input: a file in ``data`` or a shipped sample."""
    if isinstance(source, tuple):
        return om.sample_path(source[1])
    return data / source


def imag_ratio_ours(op, first, result, dense, table, label):
    """``max |Im λ| / |λ|`` of our first modes, from the best source available.

    Complex eigenvalues returned by the spectrum; else the first of the dense
    eigenvalues; else a shift-invert solve of the same window; if that fails, the
    bound from the spectrum's ``max_imag``.
    """
    if np.iscomplexobj(first):
        return imag_ratio(first)
    if dense is not None:
        return imag_ratio(dense[:len(first)])
    try:
        return imag_ratio(smallest_complex(op.L_, float(op.M_.diagonal().sum()), len(first)))
    except (sla.ArpackNoConvergence, RuntimeError) as exc:
        table.note(f"{label}, ours: complex window failed ({exc}); max|Im|/|λ| is a bound")
    report = getattr(result, "report", None)
    max_imag = getattr(report, "max_imag", getattr(op, "max_imag_", None))
    return "–" if max_imag is None else imag_ratio(first.real, bound=max_imag)


def ours_row(label, path, args, table):
    """Fit our operator on one input and print its table-2 row."""
    geometry = read_geometry(path)
    with collect_warnings(table, f"{label}, ours"):
        op, fit_s = timed(om.LaplaceBeltrami(**args.options).fit, geometry)
        (first, result), eig_s = timed(ours_spectrum, op, IMAG_MODES)
    L, n = op.L_, op.L_.shape[0]
    diag = op.diagnostics_
    lam1 = first_nonzero(first)
    threshold = NEGATIVE_REL * (lam1 or 1.0)
    with collect_warnings(table, f"{label}, ours eigenvalue count"):
        if n <= args.dense_limit:
            neg, dense = negatives_dense(L, threshold)
        else:
            neg, dense = negatives_sweep(L, float(op.M_.diagonal().sum()), threshold), None
    ratio = imag_ratio_ours(op, first, result, dense, table, label)
    table.row([label, "ours", n, f"{fit_s:.2f}", diag.get("failed_rows", "–"),
               diag.get("positive_rows", "–"), diag.get("boundary_rows", "–"),
               int((L.diagonal() <= 0).sum()), str(neg), neg.how.split(" ")[0], ratio,
               f"{eig_s:.2f}"])
    if "no convergence" in neg.how:
        table.note(f"{label}, ours: {neg.how}")
    return om.as_points(geometry)


def peer_row(label, points, args, rl, table):
    """robust-laplacian's point-cloud Laplacian on the same points: one table-2 row."""
    with collect_warnings(table, f"{label}, RL pc"):
        (L, M), fit_s = timed(rl.point_cloud_laplacian, points, n_neighbors=PEER_NEIGHBORS)
        n = L.shape[0]
        area = float(M.diagonal().sum())
        first, eig_s = timed(lambda: generalized_smallest(L * area, M, IMAG_MODES) / area)
        lam1 = first_nonzero(first)
        threshold = NEGATIVE_REL * (lam1 or 1.0)
        if n <= args.dense_limit:
            neg, _ = negatives_dense(L, threshold, M=M)
        else:
            neg = negatives_sweep(L, area, threshold, M=M)
    table.row([label, "RL pc", n, f"{fit_s:.2f}", "–", "–", "–",
               int((L.diagonal() <= 0).sum()), str(neg), neg.how.split(" ")[0],
               "0 (sym.)", f"{eig_s:.2f}"])
    if "no convergence" in neg.how:
        table.note(f"{label}, RL pc: {neg.how}")


def run_table2(args, peers):
    """Table 2: spurious (negative-real-part) modes of ours and the peer on real inputs."""
    table = Table("Table 2: spurious modes on real inputs",
                  [("input", 19), ("method", 6), ("n", 6), ("fit s", 6), ("failed", 4),
                   ("positive", 4), ("boundary", 4), ("L_ii<=0", 4), ("#neg", 5),
                   ("#neg by", 6), (f"max|Im|/|λ| ({IMAG_MODES})", 8),
                   (f"eig{IMAG_MODES} s", 5)])
    rl = peers["robust_laplacian"]
    if rl is None:
        table.note(peers["notes"]["robust_laplacian"])
    table.start()
    for label, source in TABLE2_INPUTS:
        if args.quick and label not in TABLE2_QUICK:
            continue
        path = resolve_input(source, args.data)
        if not path.is_file():
            table.note(f"{label}: {path} not found; row skipped")
            continue
        try:
            points = ours_row(label, path, args, table)
        except Exception as exc:
            table.note(f"{label}, ours: failed with {type(exc).__name__}: {exc}")
            points = om.as_points(read_geometry(path))
        if rl is None:
            continue
        try:
            peer_row(label, points, args, rl, table)
        except Exception as exc:
            table.note(f"{label}, RL pc: failed with {type(exc).__name__}: {exc}")
    table.finish([
        f"ours = {describe_options(args.options)}.fit(read_geometry(path)); RL pc = "
        f"robust_laplacian.point_cloud_laplacian(points, n_neighbors={PEER_NEIGHBORS}) "
        "(symmetric L v = λ M v)",
        "failed / positive / boundary = diagnostics_ 'failed_rows' / 'positive_rows' / "
        "'boundary_rows' (– when not reported); L_ii<=0 = rows with a non-positive diagonal",
        f"#neg = eigenvalues with Re λ < −{NEGATIVE_REL:g} λ₁; dense = all eigenvalues "
        f"(n <= {args.dense_limit}); sweep = distinct negatives among the {SWEEP_K} nearest "
        f"to each σ in {', '.join(f'{s:g}' for s in SWEEP_SIGMAS)} (unit area), a lower "
        "bound, '≥' when a shift returned only negatives",
        f"max|Im|/|λ| over the first {IMAG_MODES} modes by real part (complex values: "
        "from the dense solve, else an eigs solve of spectrum's window; '≤' = the bound "
        "max_imag / min|Re λ| if that fails); "
        f"eig{IMAG_MODES} s = time of the {IMAG_MODES}-mode spectrum",
    ])


# ---------------------------------------------------------------------- entry point


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Laplace–Beltrami spectra on real shapes: accuracy vs FEM and "
                    "spurious modes, with peers side by side.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"folder with the test shapes (default: {DEFAULT_DATA})")
    parser.add_argument("--quick", action="store_true",
                        help="table 1: bunny.off and spot; table 2: cow.obj, spot, sample")
    parser.add_argument("--only", choices=("table1", "table2"), help="run one table")
    parser.add_argument("--modes", type=int, default=30,
                        help="table 1: compare modes 1..MODES (default 30)")
    parser.add_argument("--dense-limit", type=int, default=5000,
                        help="table 2: all eigenvalues of the dense matrix up to this n, "
                             "else a shift-invert sweep (default 5000)")
    parser.add_argument("--option", dest="options", action="append", type=parse_option,
                        default=[], metavar="KEY=VALUE",
                        help="keyword option of our LaplaceBeltrami (repeatable), e.g. k=24")
    args = parser.parse_args(argv)
    if args.modes < 1:
        parser.error("--modes must be at least 1")
    args.options = dict(args.options)
    return args


def main(argv=None):
    """Run the selected tables."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    say("command: " + shlex.join(["python", sys.argv[0], *argv]))
    say(machine_note())
    say(f"data: {args.data}")
    peers, notes = {}, {}
    for name in ("trimesh", "lapy", "robust_laplacian"):
        peers[name], notes[name] = optional_import(name)
    peers["notes"] = notes
    t0 = time.perf_counter()
    if args.only in (None, "table1"):
        run_table1(args, peers)
    if args.only in (None, "table2"):
        run_table2(args, peers)
    say(f"\ntotal time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
