"""Binary PLY files of points plus named per-point columns, written with NumPy alone;
Open3D (``o3d.t.io.read_point_cloud``), trimesh, CloudCompare and MeshLab read the
columns back."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .._validation import check_points, check_values
from .atomic import atomic_output
from .._typing import ArrayLike, Geometry, PathArg

__all__ = ["save_ply"]

# dots allowed after the first character: the CLI names HKS columns by their time
# (hks_t0.01); Open3D, trimesh and CloudCompare read such names back
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")

_RESERVED_PLY = {"x", "y", "z", "nx", "ny", "nz", "red", "green", "blue", "alpha"}


def save_ply(path: PathArg, points: Geometry, fields: dict[str, ArrayLike] | None = None, *,
             normals: ArrayLike | None = None, colors: ArrayLike | None = None,
             faces: ArrayLike | None = None) -> Path:
    """Write points (or a whole geometry) and named per-point columns as a binary
    little-endian PLY.

    Written with numpy alone. The vertex element holds ``x y z`` (double), then
    ``nx ny nz`` (double) if ``normals`` are given, ``red green blue`` (uchar) if
    ``colors`` are given, then one ``property double <name>`` per ``(n,)`` field and
    ``<name>_0 .. <name>_{c-1}`` for an ``(n, c)`` field. This is the column layout
    Open3D writes for tensor attributes, so ``o3d.t.io.read_point_cloud`` returns
    each column as an ``(n, 1)`` float64 point attribute; trimesh reads the file as a
    ``PointCloud`` with the columns in ``metadata["_ply_raw"]``.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (any suffix; ``.ply`` recommended).
    points : array_like of shape (n, 3), or a geometry
        With an Open3D / trimesh geometry or a dict (anything
        :func:`o3d_meshless.as_points` accepts) its normals, colours, faces and
        per-point columns (:func:`o3d_meshless.sampling.contents.point_columns`, e.g. what
        :func:`o3d_meshless.attach` stored) are written too; the keyword arguments
        add to or replace them.
    fields : dict of str to array_like, optional
        Per-point arrays of shape ``(n,)`` or ``(n, c)``, stored as float64.
        Names use letters, digits, underscores and dots and must not start with a
        digit or a dot;
        PLY names ``x y z nx ny nz red green blue alpha`` are reserved.
    normals : array_like, shape (n, 3), optional
    colors : array_like, shape (n, 3), optional
        Floats in [0, 1] (scaled by 255 and rounded) or integers in 0..255.
    faces : array_like of int, shape (m, 3), optional
        Triangles, written as the ``face`` element (``vertex_indices`` lists).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ValueError
        Bad shapes or lengths, NaN/inf, bad or clashing names; the message names the
        argument or field.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.io.read import save_ply
    >>> pts = np.random.rand(100, 3)
    >>> save_ply("/tmp/modes.ply", pts, {"lb_mode_1": pts[:, 0], "grad": pts}).name
    'modes.ply'
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a str or os.PathLike; got {type(path).__name__}")
    path = Path(path)
    if not isinstance(points, (np.ndarray, list, tuple)):        # a geometry
        points, fields, normals, colors, faces = _from_geometry(points, fields, normals,
                                                                colors, faces)
    pts = check_points(points, name="points", dims=(3,))
    n = pts.shape[0]
    columns = [("x", pts[:, 0]), ("y", pts[:, 1]), ("z", pts[:, 2])]
    if normals is not None:
        nrm = check_values(normals, n, name="normals", allow_nan=True)
        if nrm.ndim != 2 or nrm.shape[1] != 3:
            raise ValueError(f"`normals` must have shape (n, 3) with n = {n}; got {nrm.shape}")
        nrm = np.nan_to_num(nrm)        # no normal (excluded outliers): written as 0, 0, 0
        columns += [("nx", nrm[:, 0]), ("ny", nrm[:, 1]), ("nz", nrm[:, 2])]
    if colors is not None:
        rgb = _colors_uint8(colors, n)
        columns += [("red", rgb[:, 0]), ("green", rgb[:, 1]), ("blue", rgb[:, 2])]
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise ValueError(f"`fields` must be a dict mapping names to per-point arrays; "
                         f"got {type(fields).__name__}")
    taken = {name for name, _ in columns} | _RESERVED_PLY
    for name, value in fields.items():
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ValueError(f"`fields` name {name!r} is not valid: use letters, digits, "
                             "underscores and dots, not starting with a digit or a dot")
        arr = check_values(value, n, name=f"fields[{name!r}]", allow_nan=True)  # NaN: no value
        if arr.ndim == 1:
            new = [(name, arr)]
        else:
            new = [(f"{name}_{j}", arr[:, j]) for j in range(arr.shape[1])]
        for col, _ in new:
            if col in taken:
                raise ValueError(f"`fields[{name!r}]` gives the PLY column {col!r}, which "
                                 "is reserved or already used; rename the field")
            taken.add(col)
        columns += new

    dtype = np.dtype([(name, "<u1" if col.dtype == np.uint8 else "<f8")
                      for name, col in columns])
    table = np.empty(n, dtype=dtype)
    for name, col in columns:
        table[name] = col
    ply_type = {np.dtype("u1"): "uchar", np.dtype("<f8"): "double"}
    header = ["ply", "format binary_little_endian 1.0", "comment written by o3d_meshless",
              f"element vertex {n}"]
    header += [f"property {ply_type[dtype[name]]} {name}" for name, _ in columns]
    tri = None
    if faces is not None:
        tri = _faces_table(faces, n)
        header += [f"element face {len(tri)}", "property list uchar int vertex_indices"]
    header.append("end_header")
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        fh.write(("\n".join(header) + "\n").encode("ascii"))
        fh.write(table.tobytes())
        if tri is not None:
            fh.write(tri.tobytes())
    return path


def _from_geometry(geometry, fields, normals, colors, faces):
    """Points, columns, normals, colours and faces of a geometry; the caller's
    arguments win."""
    from ..sampling.adapters import as_normals, as_points
    from ..sampling.contents import mesh_faces, point_colors, point_columns

    merged = dict(point_columns(geometry))
    merged.update(fields or {})
    return (as_points(geometry, dims=(3,)), merged,
            as_normals(geometry) if normals is None else normals,
            point_colors(geometry) if colors is None else colors,
            mesh_faces(geometry) if faces is None else faces)


def _faces_table(faces, n):
    tri = np.asarray(faces)
    if tri.ndim != 2 or tri.shape[1] != 3 or not np.issubdtype(tri.dtype, np.integer):
        raise ValueError(f"`faces` must be an integer array of shape (m, 3); got "
                         f"{tri.dtype} {tri.shape}")
    if len(tri) and (tri.min() < 0 or tri.max() >= n):
        raise ValueError(f"`faces` must index the {n} points (0 <= i < {n}); got indices in "
                         f"[{tri.min()}, {tri.max()}]")
    table = np.empty(len(tri), dtype=[("count", "u1"), ("v", "<i4", (3,))])
    table["count"] = 3
    table["v"] = tri
    return table


def _colors_uint8(colors, n):
    raw = np.asarray(colors)
    arr = check_values(raw, n, name="colors")
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"`colors` must have shape (n, 3) with n = {n}; got {arr.shape}")
    if np.issubdtype(raw.dtype, np.integer):
        if arr.min() < 0 or arr.max() > 255:
            raise ValueError("`colors` given as integers must lie in 0..255")
        return arr.astype(np.uint8)
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(f"`colors` given as floats must lie in [0, 1]; got values in "
                         f"[{arr.min():.4g}, {arr.max():.4g}]")
    return np.round(arr * 255.0).astype(np.uint8)
