"""The bodies of the ``o3d-meshless`` subcommands and their text output."""
from __future__ import annotations

import time
import warnings

import numpy as np

from .fields import _field
from .outputs import write_npz, write_ply
from .run import (_construct, _diagnostics_lines, _laplacian_kwargs, _laplacian_label,
                  _method_kwargs, _operator_arrays, _orient, _points_normals,
                  _read, _render)
from ..stencils import DEFAULT_METHOD


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


# ---------------------------------------------------------------------------
# subcommands
# ---------------------------------------------------------------------------


def _operator_options(run, lb, writes):
    """``options`` of the commands that build a LaplaceBeltrami."""
    a = run.args
    weak = a.form == "weak"
    return {"k": a.k, "workers": a.workers, "orient": _orient(run, writes=writes),
            "form": a.form, "mass": lb.mass_kind_ if weak else None,
            "method": None if weak else (a.method or DEFAULT_METHOD),
            "order": None if weak else (2 if a.order is None else a.order)}


def _cmd_spectrum(run):
    from ..sampling.adapters import as_points

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
    from .. import LaplaceBeltrami  # after reading: a bad INPUT is reported first

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
    run.options(modes=a.modes, **_operator_options(run, lb, writes), show_modes=show)

    problem = ("K v = lambda M v (K ~ M(-Delta))" if a.form == "weak"
               else "L v = lambda v (L ~ -Delta)")
    run.note(f"{n} points, {_laplacian_label(a, lb)}; {len(vals)} smallest eigenvalues of "
             f"{problem}:")
    for text in _spectrum_lines(vals, report):
        run.line(text)
    run.result("n_points", n)
    run.result("eigenvalues", np.real(vals))
    run.result("report", {"n_negative": report.n_negative, "n_zero": report.n_zero,
                          "min_real": report.min_real, "max_imag": report.max_imag,
                          "orthogonality_defect": report.orthogonality_defect,
                          "trustworthy": report.trustworthy, "reason": report.reason,
                          "n_outliers": report.n_outliers, "denoised": report.denoised,
                          "coarse": report.coarse, "sheet_conflicts": report.sheet_conflicts,
                          "sheets_unresolved": report.sheets_unresolved,
                          "noise_level": (report.noise_level
                                          if np.isfinite(report.noise_level) else None),
                          "symmetric": report.symmetric})
    for text in _diagnostics_lines(run, lb, n):
        run.note(text)
    if report.n_negative:  # loud, on stderr, even with -q
        run.warn("\n".join(_spurious_warning_lines(report)), loud=True)

    vecs_r = np.real(vecs)
    if a.out:
        write_npz(run, points, eigenvalues=np.real(vals), eigenvectors=vecs_r,
                  normals=normals if normals is not None else np.zeros((0, 3)),
                  **_operator_arrays(a, lb), k=a.k,
                  spectrum_n_negative=report.n_negative,
                  spectrum_min_real=report.min_real, spectrum_max_imag=report.max_imag,
                  spectrum_orthogonality_defect=report.orthogonality_defect)
    if a.ply:
        from ..plot import colorize

        fields = {f"lb_mode_{i}": vecs_r[:, i] for i in range(vecs_r.shape[1])}
        write_ply(run, points, fields, normals=normals, colors=colorize(vecs_r[:, show[0]]),
                  estimator=lb)
    if a.png:
        from ..plot import render_spectrum

        _render(run, render_spectrum, points, vals, vecs_r, normals=normals, modes=show,
                suptitle=f"{run.path.name}: Laplace-Beltrami modes ({_laplacian_label(a, lb)})")
    return run.finish()


def _cmd_gradient(run):
    from ..sampling.adapters import as_points

    a = run.args
    geom = _read(run)
    f = _field(a.field, as_points(geom), geom)
    from .. import SurfaceGradient

    writes = bool(a.png or a.ply or a.out)
    sg = _construct(SurfaceGradient, run, k=a.k, order=a.order, orient=_orient(run, writes=writes),
                    workers=a.workers, progress=run.progress, **_method_kwargs(a))
    run.timed("operator", sg.fit, geom)
    grad = np.asarray(run.timed("apply", sg.apply, f))
    norm = np.linalg.norm(grad, axis=1)
    points, normals = _points_normals(run, sg, geom)

    run.options(field=a.field, k=a.k, workers=a.workers,
                orient=_orient(run, writes=writes), method=a.method or DEFAULT_METHOD,
                order=a.order)
    run.note(f"{len(points)} points, k = {a.k}, order = {a.order}; field {a.field!r}")
    run.result("n_points", len(points))
    run.stat("f", f, "field")
    run.stat("|grad f|", norm, "grad_norm")
    for text in _diagnostics_lines(run, sg, len(points)):
        run.note(text)
    if a.out:
        extra = {"G": sg.G_} if getattr(sg, "G_", None) is not None else {}
        write_npz(run, points, field=f, field_name=a.field, gradient=grad, grad_norm=norm,
                  normals=normals if normals is not None else np.zeros((0, 3)),
                  k=a.k, order=a.order, **extra)
    if a.ply:
        from ..plot import colorize

        write_ply(run, points, {"field": f, "grad": grad, "grad_norm": norm},
                  normals=normals, colors=colorize(norm), estimator=sg)
    if a.png:
        from ..plot import render_fields

        _render(run, render_fields, points, {f"f = {a.field}": f, "|grad f|": norm},
                normals=normals, vectors={f"f = {a.field}": grad},
                suptitle=f"{run.path.name}: surface gradient (arrows: grad f)")
    return run.finish()


def _cmd_laplacian(run):
    from ..sampling.adapters import as_points

    a = run.args
    geom = _read(run)
    f = _field(a.field, as_points(geom), geom) if a.field is not None else None
    from .. import LaplaceBeltrami

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

    run.options(**_operator_options(run, lb, writes), field=a.field)
    run.note(f"{n} points, {_laplacian_label(a, lb)}")
    run.line(f"{name:<16}: {L.shape[0]} x {L.shape[1]}, {L.nnz} non-zeros "
             f"({L.nnz / max(n, 1):.1f} per row), {L.format.upper()}")
    row_sums = np.abs(np.asarray(L.sum(axis=1))).ravel()
    run.line(f"{'max |row sum|':<16}: {row_sums.max():.3g}")
    run.line(f"{'area (trace M)':<16}: {area.sum():.6g}")
    run.result("n_points", n)
    run.result("matrix", {"name": name, "shape": list(L.shape), "nnz": int(L.nnz),
                          "max_abs_row_sum": float(row_sums.max())})
    run.result("area", float(area.sum()))
    for text in _diagnostics_lines(run, lb, n):
        run.note(text)
    Lf = None
    if f is not None:
        Lf = np.asarray(lb.L_ @ f).ravel()      # weak form: M⁻¹K f, for the picture/stats
        run.stat("L f", Lf, "lf")
    else:
        run.result("lf", None)
    arrays = {**_operator_arrays(a, lb),
              "normals": normals if normals is not None else np.zeros((0, 3)), "k": a.k}
    if f is not None:
        arrays.update(field=f, field_name=a.field, Lf=Lf)
    if a.out:
        write_npz(run, points, **arrays)
    if a.ply:
        fields = {"area": area}
        if f is not None:
            fields.update(field=f, Lf=Lf)
        write_ply(run, points, fields, normals=normals, estimator=lb)
    if a.png:
        from ..plot import render_fields

        if f is not None:
            panels = {f"f = {a.field}": f, "L f  (≈ -Δf)": Lf}
        else:
            panels = {"lumped area (diag M)": area}
            cond = (getattr(lb, "diagnostics_", None) or {}).get("condition")
            if cond is not None and np.shape(cond) == (n,):
                panels["log10 condition"] = np.log10(np.maximum(np.asarray(cond, float), 1e-300))
        _render(run, render_fields, points, panels, normals=normals,
                suptitle=f"{run.path.name}: Laplace-Beltrami operator")
    return run.finish()


def _cmd_info(run):
    from scipy.spatial import cKDTree

    from ..sampling.adapters import as_normals, as_points
    from ..sampling.contents import point_colors
    from .outputs import input_faces

    geom = _read(run)
    points = as_points(geom, dims=(2, 3))
    n, d = points.shape
    run.options()
    kind = f"{type(geom).__module__}.{type(geom).__qualname__}".replace(".pybind.", ".")
    run.line(f"{'file':<12}: {run.path}")
    run.line(f"{'type':<12}: {kind}")
    run.line(f"{'points':<12}: {n} ({d}-D)")
    run.result("n_points", n)
    run.result("type", kind)
    run.result("dimension", d)
    faces = input_faces(run.path, geom, points) if d == 3 else None
    if faces is not None:
        run.line(f"{'faces':<12}: {len(faces)}")
    run.result("n_faces", None if faces is None else len(faces))
    lo, hi = points.min(axis=0), points.max(axis=0)
    fmt = lambda v: "(" + ", ".join(f"{x:.6g}" for x in v) + ")"  # noqa: E731
    run.line(f"{'bbox min':<12}: {fmt(lo)}")
    run.line(f"{'bbox max':<12}: {fmt(hi)}")
    run.line(f"{'extent':<12}: {fmt(hi - lo)}, diagonal {np.linalg.norm(hi - lo):.6g}")
    run.result("bbox_min", lo)
    run.result("bbox_max", hi)
    uniq = np.unique(points, axis=0).shape[0]
    med = None
    if n > 1:
        t = time.perf_counter()
        dist, _ = cKDTree(points).query(points, k=2, workers=-1)
        nn = dist[:, 1]
        run.timings["spacing"] = time.perf_counter() - t
        pos = nn[nn > 0]
        med = float(np.median(pos)) if pos.size else 0.0
        run.line(f"{'spacing':<12}: median nearest-neighbour distance {med:.6g} "
                 f"(min {nn.min():.6g}, max {nn.max():.6g})")
    run.result("spacing", med)
    normals = as_normals(geom)
    colors = point_colors(geom)
    run.line(f"{'normals':<12}: {'yes' if normals is not None else 'no'}")
    run.line(f"{'colours':<12}: {'yes' if colors is not None else 'no'}")
    run.result("normals", normals is not None)
    run.result("colors", colors is not None)
    run.result("duplicates", n - uniq)
    run.line(f"{'duplicates':<12}: {n - uniq} point(s) repeat an earlier position "
             f"({uniq} distinct)")
    attrs = _attribute_names(geom)
    if attrs:
        run.line(f"{'attributes':<12}: {', '.join(attrs)}")
    run.result("attributes", attrs)
    if getattr(run.args, "out", None):
        extra = {"normals": normals} if normals is not None else {}
        write_npz(run, points, bbox_min=lo, bbox_max=hi, duplicates=n - uniq,
                  spacing=np.nan if med is None else med, **extra)
    return 0


def _attribute_names(geom):
    """Per-point column names of the input (what --field may name)."""
    from ..sampling.contents import point_columns

    return sorted(point_columns(geom))
