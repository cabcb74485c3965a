"""Per-invocation state of ``o3d-meshless`` and the steps every command shares: read the
input, build an operator from the options, stage outputs, draw, report diagnostics."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..stencils import DEFAULT_METHOD

PROG = "o3d-meshless"
_LOGGER = "o3d_meshless"


def _method_kwargs(a):
    """Operator keywords of --method and its ghost-point options (only those given)."""
    kw = {"method": a.method or DEFAULT_METHOD}
    for name in ("rbf", "shape", "ghosts"):
        if getattr(a, name) is not None:
            kw[name] = getattr(a, name)
    return kw


def _laplacian_kwargs(a):
    """LaplaceBeltrami keywords of --form and, for the strong form, the stencil flags.

    Without --form: the subcommand's default (``a.default_form``), except that stencil
    flags (--method, --order, …) select the strong form they belong to."""
    stencil_flags = [f"--{name}" for name in ("method", "order", "rbf", "shape", "ghosts")
                     if getattr(a, name) is not None]
    if a.form is None:
        a.form = "strong" if stencil_flags else a.default_form
    mass = getattr(a, "mass", None)
    if a.form == "weak":
        if stencil_flags:
            raise ValueError(f"{', '.join(stencil_flags)} choose the strong form's stencils; --form "
                             "weak has none (it is built from tangent-plane Voronoi cells): "
                             "drop them or add --form strong")
        return {"form": "weak"} if mass is None else {"form": "weak", "mass": mass}
    if mass is not None:
        raise ValueError("--mass chooses the weak form's mass matrix; the strong form has "
                         "none: drop it or add --form weak")
    return {"form": "strong", "order": (2 if a.order is None else a.order), **_method_kwargs(a)}


def _operator_arrays(a, lb):
    """The matrices and options saved by ``--out``: L (strong) or K (weak), and M (with
    the averaged mass also ``mass``, the weak pencil's mass matrix)."""
    if a.form == "weak":
        arrays = {"K": lb.K_, "M": lb.M_, "form": "weak", "mass_kind": lb.mass_kind_}
        if lb.mass_kind_ == "averaged":
            arrays.update(mass=lb.mass_)
        return arrays
    return {"L": lb.L_, "M": lb.M_, "form": "strong", "order": (2 if a.order is None else a.order),
            "method": a.method or DEFAULT_METHOD}


def _laplacian_label(a, lb):
    """How the fitted operator ``lb`` was built, for notes and picture titles."""
    if a.form == "weak":
        return f"weak form (symmetric Voronoi stiffness, {lb.mass_kind_} mass), k = {a.k}"
    return f"strong form, method {a.method or DEFAULT_METHOD}, k = {a.k}, order = {(2 if a.order is None else a.order)}"


class _Run:
    """Per-input state: options, output streams, timings, and the results ``--json``
    prints (``record``)."""

    def __init__(self, args, out):
        self.args = args
        self.out = out
        self.timings = {}
        self.t0 = time.perf_counter()
        self.staged = []            # (temporary file, final path) of every output
        self.o3d_level = None
        self.path = None
        self.record = {"command": getattr(args, "command", None)}

    def output(self, path, suffix):
        """A temporary file beside ``path`` for an output; renamed in :meth:`commit`.

        All outputs of a run appear together at the end, or none does: a failure
        leaves any previous file of the same name untouched.
        """
        final = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".tmp{suffix}",
                                   dir=final.parent)
        os.close(fd)
        self.staged.append((Path(tmp), final))
        return Path(tmp)

    def commit(self):
        from ..atomic import replace_output

        for tmp, final in self.staged:
            replace_output(tmp, final)
            self.note(f"wrote {final}")
            self.record.setdefault("outputs", []).append(str(final))
        self.staged = []

    def discard(self):
        for tmp, _ in self.staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.staged = []

    @property
    def json(self):
        return bool(getattr(self.args, "json", False))

    def note(self, text):
        """Context for a person (what was read, what was written): not with -q or --json."""
        if not (self.args.quiet or self.json):
            print(text, file=self.out)

    def line(self, text=""):
        """A result line (with --json the results are in :attr:`record` instead)."""
        if not self.json:
            print(text, file=self.out)

    def result(self, key, value):
        """Keep ``value`` (numbers, strings, lists, arrays) for ``--json``."""
        self.record[key] = _jsonable(value)

    def stat(self, name, values):
        """Print min / mean / max of ``values`` and keep them for ``--json``."""
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        if not v.size:
            self.line(f"{name:<16}: no finite values")
            self.result(name, None)
            return
        self.line(f"{name:<16}: min {v.min():.6g}, mean {v.mean():.6g}, max {v.max():.6g}")
        self.result(name, {"min": float(v.min()), "mean": float(v.mean()),
                           "max": float(v.max())})

    def timed(self, name, fn, *a, **kw):
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t

    def finish(self):
        """End a command: the timings (a note; kept for --json); returns status 0."""
        self.note(f"{'timings':<16}: {self.timing_line()}")
        self.result("timings", dict(self.timings))
        return 0

    def timing_line(self):
        parts = [f"{k} {v:.2f} s" for k, v in self.timings.items()]
        parts.append(f"total {time.perf_counter() - self.t0:.2f} s")
        return ", ".join(parts)

    @property
    def progress(self):
        return False if self.args.quiet else None  # None: library decides (stderr a TTY)


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _read(run):
    from ..io import read_geometry, sample_path

    path = run.args.input
    run.is_sample = path is None
    if path is None:
        path = sample_path()
        run.note(f"No INPUT given: using the shipped sample {path} (Stanford bunny).")
    run.path = Path(path)
    run.result("input", str(path))
    geom = run.timed("read", read_geometry, path)
    _quiet_open3d(run)
    return geom


def _quiet_open3d(run):
    """Silence Open3D's console messages, but only if Open3D is loaded anyway."""
    o3d = sys.modules.get("open3d")
    if o3d is None or run.o3d_level is not None:
        return
    try:
        util = o3d.utility
        run.o3d_level = util.get_verbosity_level()
        util.set_verbosity_level(util.VerbosityLevel.Error)
    except Exception:  # pragma: no cover - exotic Open3D builds
        run.o3d_level = None


def _orient(run, *, writes):
    o = run.args.orient
    if o == "auto":
        return "mst" if writes else None
    return None if o == "none" else o


def _construct(cls, run, **kw):
    """Instantiate an operator, dropping keywords its signature does not have."""
    import inspect

    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # pragma: no cover
        params = {}
    if params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        dropped = sorted(set(kw) - set(params))
        for name in dropped:
            logging.getLogger(_LOGGER).info("%s has no %r option; not passed", cls.__name__, name)
            kw.pop(name)
    return cls(**kw)


def _points_normals(run, est, geom):
    from ..adapters import as_normals, as_points

    points = getattr(est, "points_", None)
    if points is None:
        points = as_points(geom)
    normals = getattr(est, "normals_", None)
    if normals is None:
        normals = as_normals(geom)
    return np.asarray(points), (None if normals is None else np.asarray(normals))


def _picture_kwargs(run):
    a = run.args
    kw = {"up": a.up or "auto", "dpi": a.dpi}       # auto: upright from the shape
    if a.view is not None:
        kw["view"] = a.view
    return kw


def _render(run, fn, *args, **kw):
    path = run.output(run.args.png, run.args.png.suffix or ".png")
    run.timed("png", fn, *args, path, **kw, **_picture_kwargs(run))


_OUTPUT_FLAGS = ("--out", "--ply", "--png")


def _check_outputs(jobs):
    """Refuse, before any job runs, outputs that cannot be written, that are not regular
    files, that are an input of the batch, or that two jobs (or two flags) would share."""
    inputs = {Path(j.input).resolve(): j.input for j in jobs if j.input is not None}
    seen = {}                                    # resolved output -> (flag, input)
    for job in jobs:
        for flag in _OUTPUT_FLAGS:
            path = getattr(job, flag.lstrip("-"), None)
            if path is None:
                continue
            path = Path(path)
            _check_output_path(flag, path)
            where = path.resolve()
            if where in inputs:
                whose = "the input file" if inputs[where] == job.input else \
                    f"the input {str(inputs[where])!r} of this batch"
                raise ValueError(f"`{flag}` {str(path)!r} is {whose}; choose another name")
            if where in seen:
                other_flag, other = seen[where]
                if other == job.input:
                    raise ValueError(f"`{flag}` and `{other_flag}` name the same file "
                                     f"{str(path)!r}")
                raise ValueError(f"`{flag}` {str(path)!r} would be written for both "
                                 f"{str(other)!r} and {str(job.input)!r} (the same stem); "
                                 "run them separately or into different --out-dir folders")
            seen[where] = (flag, job.input)


def _check_output_path(flag, path):
    """One output file: its folder exists and takes new files, and the name is free or
    an existing regular file (never a folder, device or FIFO)."""
    if not path.parent.is_dir():
        raise ValueError(f"`{flag}` {str(path)!r}: the folder {str(path.parent)!r} does not "
                         "exist")
    if path.is_dir():
        raise ValueError(f"`{flag}` {str(path)!r} is a folder; give a file name")
    if path.exists() and not path.is_file():
        # os.replace would put a zip file where a device node or FIFO was
        raise ValueError(f"`{flag}` {str(path)!r} exists and is not a regular file (a device, "
                         "FIFO or socket); give the name of a file")
    try:   # the outputs are written last: find an unwritable folder before the work
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
    except OSError as exc:
        raise ValueError(f"`{flag}` {str(path)!r}: cannot write in the folder "
                         f"{str(path.parent)!r} ({exc.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def _diagnostics_lines(run, est, n):
    diag = getattr(est, "diagnostics_", None) or {}
    guard = diag.get("guard_rows")
    failed = diag.get("failed_rows")
    lines = []
    if guard is not None or failed is not None:
        lines.append(f"{'guard rows':<16}: {_count(guard)} of {n}   (neighbourhoods the guard enlarged)")
        lines.append(f"{'failed rows':<16}: {_count(failed)}")
    if diag.get("positive_rows") is not None:
        lines.append(f"{'nonnegative rows':<16}: {_count(diag['positive_rows'])}   (rows the guard "
                     "could not fix, replaced by M-matrix rows)")
    if diag.get("boundary_rows") is not None:
        what = ("Neumann cells, cut at the boundary" if getattr(est, "form_", "") == "weak"
                else "Neumann rows")
        lines.append(f"{'boundary points':<16}: {_count(diag['boundary_rows'])}   (open boundary: "
                     f"{what})")
    cond = diag.get("condition")
    if cond is not None and np.size(cond):
        c = np.asarray(cond, dtype=float)
        c = c[np.isfinite(c)]
        if c.size:
            lines.append(f"{'condition':<16}: median {np.median(c):.3g}, max {np.max(c):.3g}")
    run.result("diagnostics", {key: (None if _count(diag.get(key)) == "n/a"
                                     else int(_count(diag.get(key))))
                               for key in ("guard_rows", "failed_rows", "positive_rows",
                                           "boundary_rows") if key in diag})
    return lines


def _count(value):
    if value is None:
        return "n/a"
    if np.ndim(value):  # a mask or an index list
        arr = np.asarray(value)
        return str(int(arr.sum()) if arr.dtype == bool else int(arr.size))
    return str(int(value))
