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
    """Per-input state: options, output streams, timings, warnings, and the record
    ``--json`` prints (see :mod:`o3d_meshless.cli.schema`)."""

    def __init__(self, args, out):
        from .schema import schema_id

        self.args = args
        self.out = out
        self.timings = {}
        self.t0 = time.perf_counter()
        self.staged = []            # (temporary file, final path) of every output
        self.o3d_level = None
        self.path = None
        self.geom = None
        self.warnings = []
        self._stages = None         # the run's progress line, made by the first step
        command = getattr(args, "command", None)
        self.record = {"schema": schema_id(command), "command": command,
                       "input": _input_name(getattr(args, "input", None))}

    def options(self, **values):
        """The options the command ran with (``--json`` ``options``)."""
        self.record["options"] = _jsonable(values)

    def warn(self, text, *, loud=False):
        """A warning: kept for ``--json`` and printed on stderr (not with ``-q`` unless
        ``loud``); the same text once per run."""
        from .messages import cli_words

        lines = [cli_words(line, getattr(self.args, "flag_names", {}))
                 for line in str(text).splitlines()]
        key = " ".join(line.strip() for line in lines)
        if key in self.warnings:
            return
        self.warnings.append(key)
        if loud or not self.args.quiet:
            for line in lines:
                print(f"{PROG}: warning: {line}", file=sys.stderr)

    def show_warning(self, message, category, filename, lineno, file=None, line=None):
        """``warnings.showwarning`` for the run: library warnings become :meth:`warn`."""
        self.warn(str(message))

    def final_record(self):
        """The ``--json`` record with the keys of its schema in a fixed order."""
        rec = dict(self.record)
        rec["warnings"] = list(self.warnings)
        head = ["schema", "command", "input", "error", "n_points", "options"]
        tail = ["warnings", "outputs", "timings"]
        if "error" not in rec:
            rec.setdefault("outputs", [])
            rec.setdefault("timings", _jsonable(self.timings))
        first = {k: rec.pop(k) for k in head if k in rec}
        last = {k: rec.pop(k) for k in tail if k in rec}
        return {**first, **rec, **last}

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
        from ..io.atomic import replace_output

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
            self._clear_progress()
            print(text, file=self.out)

    def line(self, text=""):
        """A result line (with --json the results are in :attr:`record` instead)."""
        if not self.json:
            self._clear_progress()
            print(text, file=self.out)

    def result(self, key, value):
        """Keep ``value`` (numbers, strings, lists, arrays) for ``--json``."""
        self.record[key] = _jsonable(value)

    def stat(self, label, values, key=None):
        """Print min / mean / max of ``values`` under the display ``label``; keep them
        for ``--json`` under the identifier ``key`` (None: not kept). Returns them."""
        stats = _stats(values)
        if stats is None:
            self.line(f"{label:<16}: no finite values")
        else:
            self.line(f"{label:<16}: min {stats['min']:.6g}, mean {stats['mean']:.6g}, "
                      f"max {stats['max']:.6g}")
        if key is not None:
            self.result(key, stats)
        return stats

    def timed(self, name, fn, *a, **kw):
        """Run one step: timed, shown on a terminal's progress line when it takes more
        than 2 s (the library's own stage bars appear below it), logged for ``-v``."""
        if self._stages is None:
            from .._progress import Stages

            name_of = "the shipped sample" if getattr(self.args, "input", None) is None else \
                Path(self.args.input).name
            self._stages = Stages(None, desc=f"{self.record['command']} {name_of}",
                                  progress=self.progress, delay=2.0)
        t = time.perf_counter()
        try:
            with self._stages(name):
                return fn(*a, **kw)
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t

    def _clear_progress(self):
        if self._stages is not None:      # a terminal's progress line is not overwritten
            self._stages.clear()
            self.out.flush()

    def close_progress(self):
        """End the progress line of the run (it is not left on the terminal)."""
        if self._stages is not None:
            self._stages.close()
            self._stages = None

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


def _stats(values):
    """``{"min", "mean", "max"}`` of the finite values, or None if there are none."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    return {"min": float(v.min()), "mean": float(v.mean()), "max": float(v.max())}


def _input_name(path):
    """The ``input`` of a record: the file, or the shipped sample's path."""
    if path is not None:
        return str(path)
    from ..io.read import sample_path

    return str(sample_path())


def _jsonable(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None                          # JSON has no NaN or inf
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return _jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _read(run):
    from ..io.read import read_geometry, sample_path

    path = run.args.input
    run.is_sample = path is None
    if path is None:
        path = sample_path()
        run.note(f"No INPUT given: using the shipped sample {path} (Stanford bunny).")
    run.path = Path(path)
    geom = run.timed("read", read_geometry, path)
    _quiet_open3d(run)
    run.geom = geom
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
    from ..sampling.adapters import as_normals, as_points

    points = getattr(est, "points_", None)
    if points is None:
        points = as_points(geom)
    normals = getattr(est, "normals_", None)
    if normals is None:
        normals = as_normals(geom)
    return np.asarray(points), (None if normals is None else np.asarray(normals))


def _picture_kwargs(run):
    a = run.args
    kw = {"dpi": a.dpi}                  # up and view: given, else from _camera
    if a.up not in (None, "auto"):
        kw["up"] = a.up
    if a.view is not None:
        kw["view"] = a.view
    return kw


def _render(run, fn, *args, **kw):
    path = run.output(run.args.png, run.args.png.suffix or ".png")
    pictures = {**_picture_kwargs(run), **_camera(run, args[0])}
    run.timed("png", fn, *args, path, **kw, **pictures)


def _camera(run, points):
    """The automatic up and view, chosen from the INPUT's own normals (a scanner's
    normals face it) or from none: the normals the operators estimated have a sign
    of their own, which would turn a single-view scan round to be seen from behind."""
    a = run.args
    if a.up not in (None, "auto") and a.view is not None:
        return {}
    from ..plot import auto_view
    from ..sampling.adapters import as_normals

    normals = as_normals(run.geom) if run.geom is not None else None
    if normals is not None and np.shape(normals) != np.shape(points):
        normals = None
    up, view = auto_view(points, normals, up=a.up or "auto")
    return {"up": up, "view": a.view if a.view is not None else view}


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
