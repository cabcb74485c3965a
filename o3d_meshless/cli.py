"""Command line interface: ``o3d-meshless {spectrum,gradient,laplacian,info} [INPUT] ...``.

Every subcommand reads one point cloud or mesh (any format
:func:`o3d_meshless.read_geometry` reads); without INPUT it uses the shipped sample
(the Stanford bunny) and says so. Results are printed as small tables on stdout and
saved on request: ``--out`` (``.npz``, see :func:`o3d_meshless.io.save_npz`),
``--ply`` (points + per-point columns), ``--png`` (headless matplotlib picture with
back-face culling, see :mod:`o3d_meshless.plot`).

Errors in the input (missing file, unsupported format, bad option values) end with one
line ``o3d-meshless: error: ...`` on stderr and exit status 2; ``-v`` adds the
traceback. ``-v`` / ``-vv`` show the library's INFO / DEBUG log (stage timings) on
stderr, ``-q`` shows errors only (and the warning about negative eigenvalues, which
``spectrum`` always prints) and turns progress bars off. Progress bars appear
only when stderr is a terminal.

Run ``o3d-meshless <subcommand> -h`` for the options of each subcommand.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import logging
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from .stencils import DEFAULT_METHOD, METHODS

__all__ = ["main", "build_parser"]

PROG = "o3d-meshless"
_LOGGER = "o3d_meshless"

_EPILOG = """examples:
  o3d-meshless spectrum                                # shipped bunny, 20 modes
  o3d-meshless spectrum scan.ply --modes 30 --png modes.png --out modes.npz
  o3d-meshless gradient scan.ply --field "sin(3*x)" --png grad.png
  o3d-meshless laplacian scan.ply --out L.npz
  o3d-meshless info scan.ply
"""


# ---------------------------------------------------------------------------
# argument parsing
# ---------------------------------------------------------------------------


def _int_list(text):
    try:
        values = [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated integers like 1,2,3; got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("must name at least one mode")
    return values


def _view(text):
    try:
        elev, azim = (float(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be ELEV,AZIM in degrees like 15,-60; got {text!r}") from None
    return elev, azim


def _workers(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int (-1 = all cores); got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive int or negative (-1 = all cores); got 0")
    return value


def _ghosts(text):
    if text in ("circle", "disc"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be 'circle', 'disc' or a number of ghosts; got {text!r}") from None


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
    if a.form == "weak":
        if stencil_flags:
            raise ValueError(f"{', '.join(stencil_flags)} choose the strong form's stencils; --form "
                             "weak has none (it is built from tangent-plane Voronoi cells): "
                             "drop them or add --form strong")
        return {"form": "weak"}
    return {"form": "strong", "order": (2 if a.order is None else a.order), **_method_kwargs(a)}


def _operator_arrays(a, lb):
    """The matrices and options saved by ``--out``: L (strong) or K (weak), and M."""
    if a.form == "weak":
        return {"K": lb.K_, "M": lb.M_, "form": "weak"}
    return {"L": lb.L_, "M": lb.M_, "form": "strong", "order": (2 if a.order is None else a.order),
            "method": a.method or DEFAULT_METHOD}


def _laplacian_label(a):
    """How the operator was built, for notes and picture titles."""
    if a.form == "weak":
        return f"weak form (symmetric Voronoi stiffness), k = {a.k}"
    return f"strong form, method {a.method or DEFAULT_METHOD}, k = {a.k}, order = {(2 if a.order is None else a.order)}"


def build_parser():
    """Return the :class:`argparse.ArgumentParser` of the ``o3d-meshless`` command."""
    from . import __version__

    # -v/-q work before and after the subcommand; SUPPRESS keeps the subparser from
    # overwriting a value given before it.
    verbosity = argparse.ArgumentParser(add_help=False)
    grp = verbosity.add_argument_group("output")
    grp.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                     help="log progress details to stderr (-vv: debug, with stage timings); "
                          "show tracebacks on errors")
    grp.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                     help="print results only: no notes, no warnings (except the one about "
                          "negative eigenvalues), no progress bars")

    inp = argparse.ArgumentParser(add_help=False)
    inp.add_argument("input", metavar="INPUT", nargs="?", default=None,
                     help="point cloud or mesh: .ply .pcd .xyz .xyzn .pts .obj .off .npy "
                          "(default: the shipped bunny sample)")

    op = argparse.ArgumentParser(add_help=False)
    g = op.add_argument_group("operator")
    g.add_argument("--k", "-k", type=int, default=16, metavar="K",
                   help="neighbours per point (default: %(default)s)")
    g.add_argument("--workers", type=_workers, default=-1, metavar="W",
                   help="threads, SciPy's meaning: -1 all cores (default: %(default)s)")
    g.add_argument("--method", choices=tuple(METHODS), default=None,
                   help="stencil method: " + ", ".join(f"{s.name} = {s.title}"
                                                       for s in METHODS.values())
                        + f" (default: {DEFAULT_METHOD}; strong form only)")
    g.add_argument("--rbf", choices=("gaussian", "multiquadric", "inverse-multiquadric",
                                      "inverse-quadratic"), default=None,
                   help="clsgsp/lsgsp: radial kernel (default: gaussian)")
    g.add_argument("--shape", type=float, default=None, metavar="C",
                   help="clsgsp/lsgsp: scale-free shape parameter c*rbar^2 (default: 3, "
                        "0.1 with --ghosts disc)")
    g.add_argument("--ghosts", type=_ghosts, default=None, metavar="LAYOUT",
                   help="clsgsp/lsgsp: 'circle' (8 ghosts on the circle of radius the mean "
                        "neighbour distance, default), 'disc' (49 in a disc) or a count")
    g.add_argument("--orient", choices=("auto", "none", "outward", "mst"), default="auto",
                   help="normal orientation; 'auto' = 'mst' when pictures/files are "
                        "written, else none (default: %(default)s)")

    pic = argparse.ArgumentParser(add_help=False)
    g = pic.add_argument_group("picture (--png)")
    g.add_argument("--up", choices=("x", "y", "z"), default=None,
                   help="axis drawn vertically (default: y for the shipped bunny, else z)")
    g.add_argument("--view", type=_view, default=None, metavar="ELEV,AZIM",
                   help="camera elevation and azimuth in degrees (default: 15,-60)")
    g.add_argument("--dpi", type=int, default=120, help="PNG resolution (default: %(default)s)")

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Meshless surface calculus on point clouds: Laplace-Beltrami spectra, "
                    "surface gradients and operator matrices, for any file Open3D or "
                    "trimesh reads.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=argparse.SUPPRESS)
    parser.add_argument("-q", "--quiet", action="store_true", default=False,
                        help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="{spectrum,gradient,laplacian,info}")
    sub.required = True

    p = sub.add_parser("spectrum", parents=[inp, op, pic, verbosity],
                       help="Laplace-Beltrami eigenvalues and eigenmodes",
                       description="Compute the smallest Laplace-Beltrami eigenpairs "
                                   "(K v = lambda M v with the symmetric weak form, or "
                                   "L v = lambda v with the strong form; eigenvalues >= 0, "
                                   "V^T M V = I) and print the eigenvalues.")
    p.add_argument("--modes", type=int, default=20, metavar="N",
                   help="number of eigenpairs (default: %(default)s)")
    p.add_argument("--form", choices=("weak", "strong"), default=None,
                   help="weak = symmetric positive semi-definite Voronoi stiffness (real "
                        "spectrum, orthonormal modes, the more accurate eigenvalues); strong = "
                        "pointwise stencils (default: weak, or strong when --method, --order "
                        "or another stencil flag is given)")
    p.add_argument("--order", type=int, default=None,
                   help="stencil order, strong form only (default: 2)")
    p.add_argument("--png", type=Path, metavar="FILE", help="draw eigenmodes into FILE")
    p.add_argument("--show-modes", type=_int_list, default=None, metavar="I,J,...",
                   help="modes drawn by --png (default: 1,2,3,4,5,6)")
    p.add_argument("--out", type=Path, metavar="FILE.npz",
                   help="save eigenvalues, eigenvectors, points, normals, L, M and the "
                        "quality report (spectrum_n_negative, spectrum_min_real, "
                        "spectrum_max_imag, spectrum_orthogonality_defect)")
    p.add_argument("--ply", type=Path, metavar="FILE.ply",
                   help="save points, normals and one lb_mode_<i> column per mode, "
                        "coloured by the first drawn mode")
    p.set_defaults(func=_cmd_spectrum, default_form="weak")

    p = sub.add_parser("gradient", parents=[inp, op, pic, verbosity],
                       help="surface gradient of a scalar field",
                       description="Tangential (surface) gradient of a per-point scalar "
                                   "field; prints min/mean/max of |grad f|.")
    p.add_argument("--field", default="z", metavar="F",
                   help="x, y or z (a coordinate function), a .npy file with one value per "
                        "point, or an expression in x, y, z, r such as 'sin(3*x) + y**2' "
                        "(default: %(default)s)")
    p.add_argument("--order", type=int, default=2, help="stencil order (default: %(default)s; "
                   "3 is more accurate on exact, noise-free points)")
    p.add_argument("--png", type=Path, metavar="FILE", help="draw f and |grad f| into FILE")
    p.add_argument("--out", type=Path, metavar="FILE.npz",
                   help="save points, normals, field, gradient (n, 3) and the operator G (3n x n)")
    p.add_argument("--ply", type=Path, metavar="FILE.ply",
                   help="save points with columns field, grad_0..2, grad_norm")
    p.set_defaults(func=_cmd_gradient)

    p = sub.add_parser("laplacian", parents=[inp, op, pic, verbosity],
                       help="Laplace-Beltrami matrix L and lumped areas M",
                       description="Build the Laplace-Beltrami matrix L (~ -Delta, strong "
                                   "form, CSR) and the diagonal lumped-area matrix M; print "
                                   "their size, area and diagnostics. --form weak builds "
                                   "the symmetric stiffness K ~ M(-Delta) instead.")
    p.add_argument("--form", choices=("strong", "weak"), default=None,
                   help="strong = pointwise L ~ -Delta; weak = symmetric positive "
                        "semi-definite stiffness K ~ M(-Delta), saved as K (default: strong)")
    p.add_argument("--order", type=int, default=None,
                   help="stencil order, strong form only (default: 2)")
    p.add_argument("--field", default=None, metavar="F",
                   help="also apply L to this field (same forms as for gradient)")
    p.add_argument("--out", type=Path, metavar="FILE.npz", help="save L, M, points, normals "
                   "(and field, Lf with --field)")
    p.add_argument("--png", type=Path, metavar="FILE",
                   help="draw f and L f (with --field), else lumped area and condition")
    p.add_argument("--ply", type=Path, metavar="FILE.ply",
                   help="save points with columns area (and field, Lf)")
    p.set_defaults(func=_cmd_laplacian, default_form="strong")

    p = sub.add_parser("info", parents=[inp, verbosity],
                       help="quick facts about a point file (no operator)",
                       description="Number of points, bounding box, spacing, normals, "
                                   "duplicates.")
    p.set_defaults(func=_cmd_info)
    return parser


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


class _Run:
    """Per-invocation state: options, output streams, timings."""

    def __init__(self, args, out):
        self.args = args
        self.out = out
        self.timings = {}
        self.t0 = time.perf_counter()
        self.staged = []            # (temporary file, final path) of every output

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
        from .io import replace_output

        for tmp, final in self.staged:
            replace_output(tmp, final)
            self.note(f"wrote {final}")
        self.staged = []

    def discard(self):
        for tmp, _ in self.staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.staged = []

    def note(self, text):
        if not self.args.quiet:
            print(text, file=self.out)

    def line(self, text=""):
        print(text, file=self.out)

    def timed(self, name, fn, *a, **kw):
        t = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t

    def timing_line(self):
        parts = [f"{k} {v:.2f} s" for k, v in self.timings.items()]
        parts.append(f"total {time.perf_counter() - self.t0:.2f} s")
        return ", ".join(parts)

    @property
    def progress(self):
        return False if self.args.quiet else None  # None: library decides (stderr a TTY)


def _read(run):
    from .io import read_geometry, sample_path

    path = run.args.input
    run.is_sample = path is None
    if path is None:
        path = sample_path()
        run.note(f"No INPUT given: using the shipped sample {path} (Stanford bunny).")
    run.path = Path(path)
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
    from .adapters import as_normals, as_points

    points = getattr(est, "points_", None)
    if points is None:
        points = as_points(geom)
    normals = getattr(est, "normals_", None)
    if normals is None:
        normals = as_normals(geom)
    return np.asarray(points), (None if normals is None else np.asarray(normals))


def _picture_kwargs(run):
    a = run.args
    up = a.up or ("y" if run.is_sample else "z")
    kw = {"up": up, "dpi": a.dpi}
    if a.view is not None:
        kw["view"] = a.view
    return kw


def _render(run, fn, *args, **kw):
    path = run.output(run.args.png, run.args.png.suffix or ".png")
    run.timed("png", fn, *args, path, **kw, **_picture_kwargs(run))


def _npz_name(path):
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _check_outputs(run):
    """Refuse, before any work, outputs that cannot be written or would overwrite the input."""
    a = run.args
    given = {flag: getattr(a, flag.lstrip("-"), None) for flag in ("--out", "--ply", "--png")}
    seen = {}
    source = Path(a.input).resolve() if getattr(a, "input", None) else None
    for flag, path in given.items():
        if path is None:
            continue
        path = Path(path)
        if flag == "--out" and path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")        # save_npz's rule
        if not path.parent.is_dir():
            raise ValueError(f"`{flag}` {str(path)!r}: the folder {str(path.parent)!r} does not "
                             "exist")
        if path.is_dir():
            raise ValueError(f"`{flag}` {str(path)!r} is a folder; give a file name")
        if source is not None and path.resolve() == source:
            raise ValueError(f"`{flag}` {str(path)!r} is the input file; choose another name")
        if path.resolve() in seen:
            raise ValueError(f"`{flag}` and `{seen[path.resolve()]}` name the same file "
                             f"{str(path)!r}")
        seen[path.resolve()] = flag


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
    return lines


def _count(value):
    if value is None:
        return "n/a"
    if np.ndim(value):  # a mask or an index list
        arr = np.asarray(value)
        return str(int(arr.sum()) if arr.dtype == bool else int(arr.size))
    return str(int(value))


# --- scalar fields from the command line ------------------------------------

_FUNCS = {name: getattr(np, name) for name in (
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh",
    "exp", "log", "log10", "sqrt", "abs", "sign", "minimum", "maximum", "floor", "ceil")}
_CONSTS = {"pi": np.pi, "e": np.e}
_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
           ast.Div: np.divide, ast.Pow: np.power, ast.Mod: np.mod}
_UNOPS = {ast.USub: np.negative, ast.UAdd: np.positive}


def evaluate_expression(expr, points):
    """Evaluate a small arithmetic expression in ``x, y, z, r`` at every point.

    Only numbers, ``x y z r pi e``, ``+ - * / ** %`` and the numpy functions
    ``sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh exp log log10 sqrt abs
    sign minimum maximum floor ceil`` are allowed (parsed with :mod:`ast`, never
    ``eval``). ``r`` is the distance to the centroid.
    """
    pts = np.asarray(points, dtype=np.float64)
    names = {"x": pts[:, 0], "y": pts[:, 1],
             "z": pts[:, 2] if pts.shape[1] > 2 else np.zeros(len(pts)),
             "r": np.linalg.norm(pts - pts.mean(axis=0), axis=1), **_CONSTS}
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except RecursionError:
        raise ValueError(f"`--field` is nested too deeply ({len(expr)} characters); "
                         "use a .npy file of values") from None
    except SyntaxError as exc:
        raise ValueError(f"`--field` {expr!r} is not a valid expression ({exc.msg})") from None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNOPS:
            return _UNOPS[type(node.op)](ev(node.operand))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _FUNCS and not node.keywords):
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])
        what = ast.unparse(node) if hasattr(ast, "unparse") else type(node).__name__
        raise ValueError(f"`--field` {expr!r}: {what!r} is not allowed; use numbers, "
                         f"x, y, z, r, pi, e, + - * / ** % and {', '.join(sorted(_FUNCS))}")

    try:
        with np.errstate(all="ignore"):
            values = np.broadcast_to(np.asarray(ev(tree), dtype=np.float64), (len(pts),)).copy()
    except TypeError as exc:             # e.g. sin(x, y, z): wrong number of arguments
        raise ValueError(f"`--field` {expr!r}: {exc}") from None
    except RecursionError:
        raise ValueError(f"`--field` is nested too deeply ({len(expr)} characters); "
                         "use a .npy file of values") from None
    if not np.isfinite(values).all():
        bad = int(np.count_nonzero(~np.isfinite(values)))
        raise ValueError(f"`--field` {expr!r} gives NaN or inf at {bad} point(s)")
    return values


def _field(spec, points):
    """Per-point values from ``--field``: a .npy file or an expression."""
    n = len(points)
    path = Path(spec)
    if spec.lower().endswith(".npy"):
        if not path.is_file():
            raise FileNotFoundError(2, "no such file", spec)
        values = np.load(path, allow_pickle=False)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.shape != (n,):
            raise ValueError(f"`--field` file {spec!r} must hold one value per point, shape "
                             f"({n},); got {values.shape}")
        if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
            raise ValueError(f"`--field` file {spec!r} must hold real numbers; got dtype "
                             f"{values.dtype}")
        values = values.astype(np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"`--field` file {spec!r} contains NaN or inf")
        return values
    return evaluate_expression(spec, points)


SPURIOUS_MARK = "  <- spurious (negative)"


def _spectrum_lines(vals, report):
    """Eigenvalue table rows (negative ones marked :data:`SPURIOUS_MARK`), then the
    lines of the :class:`~o3d_meshless.SpectrumReport`."""
    lines = [f"{'mode':>5}  {'eigenvalue':>14}"]
    for i, lam in enumerate(np.real(vals)):
        mark = SPURIOUS_MARK if lam < -report.negative_tol else ""
        lines.append(f"{i:>5}  {lam:>14.6e}{mark}")
    lines.extend(str(report).splitlines())
    return lines


def _spurious_warning_lines(report):
    """The multi-line stderr warning for negative eigenvalues."""
    return [
        f"SPURIOUS MODES: {report.n_negative} of {report.n_modes} eigenvalues are NEGATIVE "
        f"(most negative {report.min_real:.6g}).",
        "  They are NOT modes of the surface: L ~ -Delta has eigenvalues >= 0, so they",
        "  come from stencils that failed (see 'failed rows'). Do not use the rows marked",
        f"  '{SPURIOUS_MARK.strip()}'. To fix: give an INPUT with normals (e.g. the",
        "  mesh's vertex normals), a larger --k, or --method clsgsp; then check that",
        "  the report shows 'negative eigenvalues: 0'.",
    ]


def _stats(name, v):
    v = np.asarray(v)
    return (f"{name:<16}: min {v.min():.6g}, mean {v.mean():.6g}, max {v.max():.6g}")


# ---------------------------------------------------------------------------
# subcommands
# ---------------------------------------------------------------------------


def _cmd_spectrum(run):
    from .adapters import as_points
    from .io import save_npz, save_ply

    a = run.args
    if a.modes < 1:
        raise ValueError(f"`--modes` must be a positive int; got {a.modes}")
    bad = [i for i in a.show_modes or () if not 0 <= i < a.modes]
    if bad:
        raise ValueError(f"`--show-modes` must be mode indices in 0..{a.modes - 1}; got {bad}")
    geom = _read(run)
    n_points = len(as_points(geom))
    if a.modes >= n_points:
        raise ValueError(f"`--modes` must be smaller than the number of points ({n_points}); "
                         f"got {a.modes}")
    from . import LaplaceBeltrami  # after reading: a bad INPUT is reported first

    writes = bool(a.png or a.ply or a.out)
    lb = _construct(LaplaceBeltrami, run, k=a.k, orient=_orient(run, writes=writes),
                    workers=a.workers, progress=run.progress, **_laplacian_kwargs(a))
    run.timed("operator", lb.fit, geom)
    with warnings.catch_warnings():  # the negative-eigenvalue warning is printed below, fuller
        warnings.filterwarnings("ignore", message="SPURIOUS MODES", category=RuntimeWarning)
        result = run.timed("spectrum", lb.spectrum, n_modes=a.modes)
    vals, vecs = result
    report = result.report
    if a.show_modes is not None:
        show = a.show_modes or [0]
    else:       # the first six modes after the constant one(s) of each connected piece
        first = min(max(1, report.n_zero), a.modes - 1)
        show = list(range(first, min(a.modes, first + 6))) or [0]
    points, normals = _points_normals(run, lb, geom)
    n = len(points)

    problem = ("K v = lambda M v (K ~ M(-Delta))" if a.form == "weak"
               else "L v = lambda v (L ~ -Delta)")
    run.note(f"{n} points, {_laplacian_label(a)}; {len(vals)} smallest eigenvalues of "
             f"{problem}:")
    for text in _spectrum_lines(vals, report):
        run.line(text)
    for text in _diagnostics_lines(run, lb, n):
        run.line(text)
    if report.n_negative:  # loud, on stderr, even with -q
        for text in _spurious_warning_lines(report):
            print(f"{PROG}: warning: {text}", file=sys.stderr)

    vecs_r = np.real(vecs)
    if a.out:
        run.timed("write", save_npz, run.output(_npz_name(a.out), ".npz"),
                  eigenvalues=np.real(vals), eigenvectors=vecs_r, points=points,
                  normals=normals if normals is not None else np.zeros((0, 3)),
                  **_operator_arrays(a, lb), k=a.k, input=str(run.path),
                  spectrum_n_negative=report.n_negative,
                  spectrum_min_real=report.min_real, spectrum_max_imag=report.max_imag,
                  spectrum_orthogonality_defect=report.orthogonality_defect)
    if a.ply:
        from .plot import colorize

        fields = {f"lb_mode_{i}": vecs_r[:, i] for i in range(vecs_r.shape[1])}
        run.timed("write", save_ply, run.output(a.ply, ".ply"), points, fields, normals=normals,
                  colors=colorize(vecs_r[:, show[0]]))
    if a.png:
        from .plot import render_spectrum

        _render(run, render_spectrum, points, vals, vecs_r, normals=normals, modes=show,
                suptitle=f"{run.path.name}: Laplace-Beltrami modes ({_laplacian_label(a)})")
    run.line(f"{'timings':<16}: {run.timing_line()}")
    return 0


def _cmd_gradient(run):
    from .adapters import as_points
    from .io import save_npz, save_ply

    a = run.args
    geom = _read(run)
    f = _field(a.field, as_points(geom))
    from . import SurfaceGradient

    writes = bool(a.png or a.ply or a.out)
    sg = _construct(SurfaceGradient, run, k=a.k, order=a.order, orient=_orient(run, writes=writes),
                    workers=a.workers, progress=run.progress, **_method_kwargs(a))
    run.timed("operator", sg.fit, geom)
    grad = np.asarray(run.timed("apply", sg.apply, f))
    norm = np.linalg.norm(grad, axis=1)
    points, normals = _points_normals(run, sg, geom)

    run.note(f"{len(points)} points, k = {a.k}, order = {a.order}; field {a.field!r}")
    run.line(_stats("f", f))
    run.line(_stats("|grad f|", norm))
    for text in _diagnostics_lines(run, sg, len(points)):
        run.line(text)
    if a.out:
        extra = {"G": sg.G_} if getattr(sg, "G_", None) is not None else {}
        run.timed("write", save_npz, run.output(_npz_name(a.out), ".npz"),
                  points=points, field=f, gradient=grad, grad_norm=norm,
                  normals=normals if normals is not None else np.zeros((0, 3)),
                  k=a.k, order=a.order, input=str(run.path), **extra)
    if a.ply:
        from .plot import colorize

        run.timed("write", save_ply, run.output(a.ply, ".ply"), points,
                  {"field": f, "grad": grad, "grad_norm": norm}, normals=normals,
                  colors=colorize(norm))
    if a.png:
        from .plot import render_fields

        _render(run, render_fields, points, {f"f = {a.field}": f, "|grad f|": norm},
                normals=normals, suptitle=f"{run.path.name}: surface gradient")
    run.line(f"{'timings':<16}: {run.timing_line()}")
    return 0


def _cmd_laplacian(run):
    from .adapters import as_points
    from .io import save_npz, save_ply

    a = run.args
    geom = _read(run)
    f = _field(a.field, as_points(geom)) if a.field is not None else None
    from . import LaplaceBeltrami

    writes = bool(a.png or a.ply or a.out)
    lb = _construct(LaplaceBeltrami, run, k=a.k, orient=_orient(run, writes=writes),
                    workers=a.workers, progress=run.progress, **_laplacian_kwargs(a))
    run.timed("operator", lb.fit, geom)
    weak = a.form == "weak"
    L, M = (lb.K_ if weak else lb.L_), lb.M_
    name = "K" if weak else "L"
    points, normals = _points_normals(run, lb, geom)
    n = len(points)
    area = np.asarray(M.diagonal(), dtype=np.float64)

    run.note(f"{n} points, {_laplacian_label(a)}")
    run.line(f"{name:<16}: {L.shape[0]} x {L.shape[1]}, {L.nnz} non-zeros "
             f"({L.nnz / max(n, 1):.1f} per row), {L.format.upper()}")
    row_sums = np.abs(np.asarray(L.sum(axis=1))).ravel()
    run.line(f"{'max |row sum|':<16}: {row_sums.max():.3g}")
    run.line(f"{'area (trace M)':<16}: {area.sum():.6g}")
    for text in _diagnostics_lines(run, lb, n):
        run.line(text)
    Lf = None
    if f is not None:
        Lf = np.asarray(lb.L_ @ f).ravel()      # weak form: M⁻¹K f, for the picture/stats
        run.line(_stats("L f", Lf))
    arrays = {**_operator_arrays(a, lb), "points": points,
              "normals": normals if normals is not None else np.zeros((0, 3)),
              "k": a.k, "input": str(run.path)}
    if f is not None:
        arrays.update(field=f, Lf=Lf)
    if a.out:
        run.timed("write", save_npz, run.output(_npz_name(a.out), ".npz"), **arrays)
    if a.ply:
        fields = {"area": area}
        if f is not None:
            fields.update(field=f, Lf=Lf)
        run.timed("write", save_ply, run.output(a.ply, ".ply"), points, fields, normals=normals)
    if a.png:
        from .plot import render_fields

        if f is not None:
            panels = {f"f = {a.field}": f, "L f  (≈ -Δf)": Lf}
        else:
            panels = {"lumped area (diag M)": area}
            cond = (getattr(lb, "diagnostics_", None) or {}).get("condition")
            if cond is not None and np.shape(cond) == (n,):
                panels["log10 condition"] = np.log10(np.maximum(np.asarray(cond, float), 1e-300))
        _render(run, render_fields, points, panels, normals=normals,
                suptitle=f"{run.path.name}: Laplace-Beltrami operator")
    run.line(f"{'timings':<16}: {run.timing_line()}")
    return 0


def _cmd_info(run):
    from scipy.spatial import cKDTree

    from .adapters import as_normals, as_points

    geom = _read(run)
    points = as_points(geom, dims=(2, 3))
    n, d = points.shape
    kind = f"{type(geom).__module__}.{type(geom).__qualname__}".replace(".pybind.", ".")
    run.line(f"{'file':<12}: {run.path}")
    run.line(f"{'type':<12}: {kind}")
    run.line(f"{'points':<12}: {n} ({d}-D)")
    faces = getattr(geom, "faces", None)
    if faces is not None and np.ndim(faces) == 2:
        run.line(f"{'faces':<12}: {len(faces)}")
    lo, hi = points.min(axis=0), points.max(axis=0)
    fmt = lambda v: "(" + ", ".join(f"{x:.6g}" for x in v) + ")"  # noqa: E731
    run.line(f"{'bbox min':<12}: {fmt(lo)}")
    run.line(f"{'bbox max':<12}: {fmt(hi)}")
    run.line(f"{'extent':<12}: {fmt(hi - lo)}, diagonal {np.linalg.norm(hi - lo):.6g}")
    uniq = np.unique(points, axis=0).shape[0]
    if n > 1:
        t = time.perf_counter()
        dist, _ = cKDTree(points).query(points, k=2, workers=-1)
        nn = dist[:, 1]
        run.timings["spacing"] = time.perf_counter() - t
        pos = nn[nn > 0]
        med = np.median(pos) if pos.size else 0.0
        run.line(f"{'spacing':<12}: median nearest-neighbour distance {med:.6g} "
                 f"(min {nn.min():.6g}, max {nn.max():.6g})")
    normals = as_normals(geom)
    run.line(f"{'normals':<12}: {'yes' if normals is not None else 'no'}")
    run.line(f"{'duplicates':<12}: {n - uniq} point(s) repeat an earlier position "
             f"({uniq} distinct)")
    attrs = _attribute_names(geom)
    if attrs:
        run.line(f"{'attributes':<12}: {', '.join(attrs)}")
    return 0


def _attribute_names(geom):
    """Extra per-point attribute names of an Open3D tensor cloud / dict, else []."""
    skip = {"positions", "points", "normals"}
    point = getattr(geom, "point", None)
    try:
        if point is not None:
            return sorted(k for k in point if k not in skip)
    except TypeError:  # pragma: no cover - older Open3D TensorMap
        return []
    if isinstance(geom, dict):
        return sorted(str(k) for k in geom if k not in skip)
    return []


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {message}", file=sys.stderr if file is None else file)


def main(argv=None):
    """Run the ``o3d-meshless`` command; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 2 for a usage or input error (one ``o3d-meshless: error:`` line
        on stderr), 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    args.verbose = getattr(args, "verbose", 0) or 0
    args.quiet = bool(getattr(args, "quiet", False))

    logger = logging.getLogger(_LOGGER)
    old_level = logger.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(name)s: %(message)s"))
    level = (logging.ERROR if args.quiet else logging.DEBUG if args.verbose >= 2
             else logging.INFO if args.verbose == 1 else logging.WARNING)
    logger.addHandler(handler)
    logger.setLevel(level)
    run = _Run(args, sys.stdout)
    run.o3d_level = None
    try:
        with warnings.catch_warnings():
            if args.quiet:
                warnings.simplefilter("ignore")
            else:  # one tidy line per library warning, not the source line of the caller
                warnings.showwarning = _show_warning
            _check_outputs(run)
            status = int(args.func(run) or 0)
            run.commit()
            return status
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError,
            ImportError) as exc:
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        msg = str(exc) if not isinstance(exc, OSError) or not exc.filename else \
            f"{exc.strerror}: {exc.filename}"
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        run.discard()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        if run.o3d_level is not None:
            sys.modules["open3d"].utility.set_verbosity_level(run.o3d_level)
        sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
