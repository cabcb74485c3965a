"""The output model of ``o3d-meshless``, the same for every subcommand.

* Names: ``--out``, ``--ply`` and ``--png`` take a file name, which may hold ``{stem}``
  (the input's name without suffix) and ``{command}``; given without a name they write
  ``{stem}.{command}.npz`` / ``.ply`` / ``.png``, and ``--out-dir DIR`` (created when
  missing) places every name in DIR and writes ``{stem}.{command}.npz`` when ``--out``
  is not given. Outputs of different commands on one input never share a name.
* Nothing is overwritten without ``--force``: every output of the batch is checked
  before the first job runs (an existing file, an input of the batch, two jobs or two
  flags naming one file, a folder, device or FIFO, a folder that takes no new file).
* What came in goes out: a ``--ply`` keeps the input's faces (meshes, PLY meshes too),
  colours (they win over the result's colouring, unless an earlier ``--ply`` made
  them), normals and per-point columns; a ``--out`` keeps the faces and colours as
  ``faces`` and ``colors``.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["OUTPUT_FLAGS", "place_outputs", "check_outputs", "make_out_dir", "write_ply",
           "write_npz", "input_faces"]

#: output flag -> the suffix of its default name ``{stem}.{command}<suffix>``
OUTPUT_FLAGS = {"out": ".npz", "ply": ".ply", "png": ".png"}

_COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_PLY_RESERVED = {"x", "y", "z", "nx", "ny", "nz", "red", "green", "blue", "alpha"}


def default_name(flag):
    """The name an output flag given without a value writes.

    Parameters
    ----------
    flag : {"out", "ply", "png"}

    Returns
    -------
    template : str
        ``"{stem}.{command}.npz"`` etc.; :func:`place_outputs` fills it in.

    Examples
    --------
    >>> default_name("ply")
    '{stem}.{command}.ply'
    """
    return f"{{stem}}.{{command}}{OUTPUT_FLAGS[flag]}"


def place_outputs(args, inputs):
    """One copy of ``args`` per input with its output paths filled in.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.
    inputs : list of str or None
        The input files (None: the shipped sample).

    Returns
    -------
    jobs : list of argparse.Namespace
        ``{stem}`` and ``{command}`` in output names and ``{stem}`` in ``--field``
        replaced; ``--out-dir`` put before relative names.

    Raises
    ------
    ValueError
        Several inputs would write one fixed name (the message says to add ``{stem}``).
    """
    import copy

    flags = [f for f in OUTPUT_FLAGS if hasattr(args, f)]
    if args.out_dir is not None and "out" in flags and args.out is None:
        args.out = Path(default_name("out"))
    if len(inputs) > 1:
        fixed = [f"--{f}" for f in flags if getattr(args, f) is not None
                 and "{stem}" not in str(getattr(args, f))]
        if fixed:
            raise ValueError(f"{', '.join(fixed)} would be written once per input: put "
                             f"{{stem}} in the name (e.g. --png '{{stem}}.png'), give the "
                             "flag without a name, or write one input at a time")
    jobs = []
    for path in inputs:
        job = copy.copy(args)
        job.input = path
        stem = Path(path).stem if path is not None else "bunny"
        for f in flags:
            value = getattr(args, f)
            if value is None:
                continue
            value = Path(str(value).replace("{stem}", stem).replace("{command}", args.command))
            if args.out_dir is not None and not value.is_absolute():
                value = args.out_dir / value
            setattr(job, f, value)
        if isinstance(getattr(args, "field", None), str):
            job.field = args.field.replace("{stem}", stem)
        jobs.append(job)
    return jobs


def make_out_dir(out_dir):
    """Create ``--out-dir`` and its missing parents.

    Parameters
    ----------
    out_dir : pathlib.Path or None

    Returns
    -------
    made : list of pathlib.Path
        The folders created, deepest first, so that a batch refused afterwards can
        take them away again.

    Raises
    ------
    ValueError
        ``out_dir`` exists and is not a folder, or cannot be created.
    """
    if out_dir is None or out_dir.is_dir():
        return []
    if out_dir.exists():
        raise ValueError(f"`--out-dir` {str(out_dir)!r} exists and is not a folder")
    made = [p for p in [out_dir, *out_dir.parents] if not p.exists()]
    try:
        out_dir.mkdir(parents=True)
    except OSError as exc:
        raise ValueError(f"`--out-dir` {str(out_dir)!r} cannot be created "
                         f"({exc.strerror})") from None
    return made


def check_outputs(jobs, *, force=False):
    """Refuse, before any job runs, outputs that cannot go where they are asked to.

    Parameters
    ----------
    jobs : list of argparse.Namespace
        From :func:`place_outputs`.
    force : bool, default False
        Whether existing regular files may be replaced (``--force``).

    Raises
    ------
    ValueError
        An output that cannot be written (missing or read-only folder), that is not a
        regular file (folder, device, FIFO), that is an input of the batch, that two
        jobs or two flags would share, or that exists already without ``force``.
    """
    inputs = {Path(j.input).resolve(): j.input for j in jobs if j.input is not None}
    seen, existing = {}, []                     # resolved output -> (flag, input)
    for job in jobs:
        for name in OUTPUT_FLAGS:
            path = getattr(job, name, None)
            if path is None:
                continue
            flag, path = f"--{name}", Path(path)
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
            if path.exists():
                existing.append((flag, path))
    if existing and not force:
        flag, path = existing[0]
        more = f" (and {len(existing) - 1} more output(s) of this run)" \
            if len(existing) > 1 else ""
        raise ValueError(f"`{flag}` {str(path)!r} exists{more}; add --force to replace it, "
                         "or choose another name or --out-dir")


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


# ---------------------------------------------------------------------------
# what came in goes out
# ---------------------------------------------------------------------------

def input_faces(path, geom, points):
    """The input's triangles, indexing ``points``.

    Meshes read by trimesh carry them; a PLY mesh is read as the point cloud of its
    vertices, so its faces are read here again (Open3D's mesh reader keeps the vertex
    order) and used only if its vertices are the points read.

    Parameters
    ----------
    path : str or os.PathLike or None
        The input file.
    geom : geometry
        What :func:`o3d_meshless.read_geometry` returned for it.
    points : ndarray, shape (n, 3)
        Its points.

    Returns
    -------
    faces : ndarray of int64, shape (m, 3), or None
    """
    from ..sampling.contents import mesh_faces

    faces = mesh_faces(geom)
    if faces is None and path is not None and Path(path).suffix.lower() == ".ply" \
            and _ply_face_count(path):
        faces = _read_ply_faces(path, points)
    if faces is None or not len(faces) or faces.max() >= len(points):
        return None
    return np.asarray(faces, dtype=np.int64)


def _ply_face_count(path):
    with open(path, "rb") as fh:
        head = fh.read(8192)
    header = head.split(b"end_header")[0]
    match = re.search(rb"element\s+face\s+(\d+)", header)
    return int(match.group(1)) if match else 0


def _read_ply_faces(path, points):
    from ..sampling.adapters import _import_open3d
    from ..io.read import _c_stderr_kept

    o3d = _import_open3d("reading the faces of a PLY mesh")
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error), \
            _c_stderr_kept():
        try:
            mesh = o3d.io.read_triangle_mesh(str(path))
        except RuntimeError:
            return None
    vertices = np.asarray(mesh.vertices)
    scale = float(np.abs(points).max()) if len(points) else 1.0
    # float32 file data: the two readers may round the last digit differently
    if vertices.shape != points.shape or not np.allclose(vertices, points, rtol=0,
                                                         atol=1e-6 * max(scale, 1e-300)):
        return None
    faces = np.asarray(mesh.triangles, dtype=np.int64)
    return faces if len(faces) else None


def _kept(run, n):
    """Faces, colours, normals and columns of the input, for outputs of ``n`` points
    (nothing when the count differs: then they would not belong to the points)."""
    if getattr(run, "_kept_cache", None) is None:
        from ..sampling.adapters import as_normals, as_points
        from ..sampling.contents import point_colors, point_columns

        geom = run.geom
        points = as_points(geom, dims=(2, 3))
        columns = {}
        for key, value in point_columns(geom).items():
            value = np.asarray(value)
            if (_COLUMN_RE.match(key) and key not in _PLY_RESERVED
                    and np.issubdtype(value.dtype, np.number)
                    and not np.iscomplexobj(value) and value.ndim in (1, 2)
                    and not np.isinf(value).any()):
                columns[key] = value.astype(np.float64)
        run._kept_cache = {
            "n": len(points),
            "faces": input_faces(run.path, geom, points) if points.shape[1] == 3 else None,
            "colors": point_colors(geom), "normals": as_normals(geom), "columns": columns,
            "ours": _written_by_us(run.path)}
    kept = run._kept_cache
    return kept if kept["n"] == n else {"faces": None, "colors": None, "normals": None,
                                        "columns": {}, "ours": False}


def _written_by_us(path):
    """Whether the input is a PLY this package wrote: its colours then show an earlier
    result, and a new result's colouring replaces them."""
    if path is None or Path(path).suffix.lower() != ".ply":
        return False
    with open(path, "rb") as fh:
        return b"comment written by o3d_meshless" in fh.read(512).split(b"end_header")[0]


def write_ply(run, points, columns, *, normals=None, colors=None, estimator=None):
    """Stage ``--ply``: ``points`` with the command's ``columns`` and what the input
    carried.

    Parameters
    ----------
    run : o3d_meshless.cli.run._Run
    points : ndarray, shape (n, 3)
    columns : dict of str to ndarray
        The command's per-point results; they win over input columns of the same name.
    normals : ndarray, shape (n, 3), optional
        Default: the input's.
    colors : ndarray, shape (n, 3), optional
        The result's colouring; the input's own colours win over it, except colours
        this package wrote itself (an earlier result's).
    estimator : fitted operator, optional
        Its per-point diagnostics masks with a marked row are added as 0/1 columns
        (:data:`~o3d_meshless.cli.messages.MASK_COLUMNS`).
    """
    from ..io.read import save_ply
    from .messages import MASK_COLUMNS

    kept = _kept(run, len(points))
    # the PLY columns the command writes: an (n, c) result becomes <name>_0 .. <name>_c-1
    written = set()
    for name, value in columns.items():
        c = np.shape(value)[1] if np.ndim(value) == 2 else 0
        written.update([f"{name}_{j}" for j in range(c)] if c else [name])
    cols = {k: v for k, v in kept["columns"].items()
            if k not in written and not (np.ndim(v) == 2 and
                                         {f"{k}_{j}" for j in range(np.shape(v)[1])} & written)}
    cols.update(columns)
    diag = getattr(estimator, "diagnostics_", None) or {}
    for mask, column in MASK_COLUMNS.items():
        value = diag.get(mask)
        if value is not None and np.shape(value) == (len(points),) and np.any(value):
            cols[column] = np.asarray(value, dtype=np.float64)
    run.timed("write", save_ply, run.output(run.args.ply, ".ply"), points, cols,
              normals=normals if normals is not None else kept["normals"],
              colors=colors if kept["colors"] is None or (kept["ours"] and colors is not None)
              else kept["colors"],
              faces=kept["faces"])


def write_npz(run, points, **arrays):
    """Stage ``--out``: ``points`` and ``arrays``, plus ``input``, ``command`` and the
    input's ``faces`` and ``colors`` when it has them.

    Parameters
    ----------
    run : o3d_meshless.cli.run._Run
    points : ndarray, shape (n, 3)
    **arrays
        What :func:`o3d_meshless.save_npz` takes.
    """
    from ..io.read import save_npz

    kept = _kept(run, len(points))
    extra = {key: kept[key] for key in ("faces", "colors") if kept[key] is not None}
    run.timed("write", save_npz, run.output(run.args.out, ".npz"), points=points,
              input=str(run.path), command=run.args.command, **extra, **arrays)
