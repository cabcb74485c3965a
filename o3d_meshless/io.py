"""Files in and out: read point clouds and meshes, save results as ``.npz`` / ``.ply``.

* :func:`read_geometry` reads ``.ply .pcd .xyz .xyzn .pts`` with Open3D's tensor API,
  ``.obj .off`` with trimesh and ``.npy`` with numpy.
* :func:`save_npz` / :func:`load_npz` store arrays, strings, scalars and
  ``scipy.sparse`` matrices (operators, spectra, parameters) losslessly.
* :func:`save_ply` writes points plus named per-point columns as a binary PLY with
  numpy alone; Open3D (``o3d.t.io.read_point_cloud``), trimesh, CloudCompare and
  MeshLab read the columns back.
* :func:`sample_path` is the shipped Stanford bunny.

Open3D and trimesh are imported only inside the functions that need them.
"""
from __future__ import annotations

import errno
import os
import re
import tempfile
from contextlib import contextmanager, suppress
from importlib import resources
from pathlib import Path

import numpy as np

from ._validation import check_points, check_values
from .file_checks import check_file, check_obj

__all__ = ["sample_path", "read_geometry", "save_npz", "load_npz", "save_ply"]

_O3D_EXTS = (".ply", ".pcd", ".xyz", ".xyzn", ".pts")
_TEXT_EXTS = (".xyz", ".xyzn", ".pts")
_TRIMESH_EXTS = (".obj", ".off")
_NUMPY_EXTS = (".npy",)
SUPPORTED_EXTENSIONS = _O3D_EXTS + _TRIMESH_EXTS + _NUMPY_EXTS

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CSR = "__csr_"
_CSR_PARTS = ("data", "indices", "indptr", "shape", "kind")


#: shipped samples: name -> file in o3d_meshless/data (attribution in its README.txt)
SAMPLES = {"bunny": "bunny.ply", "spot": "spot.ply"}


def sample_path(name="bunny"):
    """Return the path of a shipped sample point cloud.

    ``"bunny"`` (default): the Stanford bunny (reconstruction at decimation level 2), an
    ASCII PLY with 8171 vertices and 16301 faces; :func:`read_geometry` reads it as a
    tensor point cloud of its 8171 vertices. ``"spot"``: Keenan Crane's public-domain Spot
    cow, 2930 points with outward normals (its up axis is y: draw it with ``--up y``).

    Returns
    -------
    path : pathlib.Path
        ``o3d_meshless/data/bunny.ply`` inside the installed package.

    Examples
    --------
    >>> from o3d_meshless import sample_path, read_geometry, as_points
    >>> sample_path().name
    'bunny.ply'
    >>> as_points(read_geometry(sample_path())).shape
    (8171, 3)
    >>> as_points(read_geometry(sample_path("spot"))).shape
    (2930, 3)
    """
    if name not in SAMPLES:
        raise ValueError(f"`name` must be one of {tuple(SAMPLES)}; got {name!r}")
    path = Path(str(resources.files("o3d_meshless.data").joinpath(SAMPLES[name])))
    if not path.is_file():  # pragma: no cover - broken installation
        raise FileNotFoundError(errno.ENOENT, "the shipped sample is missing from the "
                                "installation; reinstall o3d_meshless", str(path))
    return path


def _open3d():
    # Open3D/trimesh are only ever imported through the adapters module
    from .adapters import _import_open3d

    return _import_open3d("reading .ply/.pcd/.xyz/.xyzn/.pts")


def _trimesh():
    from .adapters import _import_trimesh

    return _import_trimesh("reading .obj/.off")


@contextmanager
def atomic_output(path):
    """Write ``path`` through a temporary file in the same folder, renamed on success.

    Yields the temporary path. If the body raises, the temporary file is removed and
    ``path`` (and any previous version of it) is left as it was; otherwise
    ``os.replace`` puts the new file in place in one step.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        yield Path(tmp)
        replace_output(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def replace_output(tmp, path):
    """Move a finished temporary file onto ``path`` with the permissions a plain
    ``open(path, "w")`` would have given it (mkstemp makes files private, 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def read_geometry(path):
    """Read a point cloud or mesh file into the geometry type that suits it.

    Parameters
    ----------
    path : str or os.PathLike
        File to read. The extension (case-insensitive) picks the reader:

        ``.ply .pcd .xyz .xyzn .pts``
            ``open3d.t.io.read_point_cloud`` → ``open3d.t.geometry.PointCloud``.
            Extra per-vertex PLY/PCD properties become point attributes; a PLY with
            faces gives the point cloud of its vertices. Positions and normals are
            returned as float64 (widening float32 file data is lossless); other
            attributes keep their dtype. The text formats ``.xyz .xyzn .pts`` are
            parsed by Open3D's legacy reader, which keeps full double precision
            (the tensor text reader parses into float32).
        ``.obj .off``
            ``trimesh.load(path, process=False, maintain_order=True)`` →
            ``trimesh.Trimesh`` (vertex order kept; a multi-part scene is
            concatenated), or ``trimesh.PointCloud`` for a file with vertices only.
        ``.npy``
            ``(n, 3)`` (or planar ``(n, 2)``) → that float64 array;
            ``(n, 6)`` → ``{"points": (n, 3), "normals": (n, 3)}``.

    Returns
    -------
    geometry : open3d.t.geometry.PointCloud, trimesh.Trimesh, trimesh.PointCloud, ndarray or dict
        Anything :func:`o3d_meshless.as_points` accepts.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Unsupported extension (the message lists the supported ones), a file that
        reads as 0 points, or an ``.npy`` array of the wrong shape or with NaN/inf.

    Examples
    --------
    >>> from o3d_meshless import read_geometry, sample_path
    >>> pcd = read_geometry(sample_path())
    >>> pcd.point.positions.shape
    SizeVector[8171, 3]
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a str or os.PathLike; got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a directory, not a file", str(path))
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    ext = path.suffix.lower()
    if ext in _O3D_EXTS:
        o3d = _open3d()
        with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
            if ext in _TEXT_EXTS:
                # the tensor text reader parses into float32 (0.23 m error at UTM-sized
                # coordinates); the legacy reader keeps float64
                pcd = o3d.t.geometry.PointCloud.from_legacy(
                    o3d.io.read_point_cloud(str(path)), o3d.core.float64)
            else:
                pcd = o3d.t.io.read_point_cloud(str(path))
        if "positions" not in pcd.point or pcd.point["positions"].shape[0] == 0:
            raise ValueError(f"`path` {str(path)!r} reads as 0 points (empty or unreadable "
                             f"{ext} file)")
        check_file(path, ext, pcd.point["positions"].numpy())
        for key in ("positions", "normals"):
            if key in pcd.point and pcd.point[key].dtype != o3d.core.float64:
                pcd.point[key] = pcd.point[key].to(o3d.core.float64)
        return pcd
    if ext in _TRIMESH_EXTS:
        return _read_trimesh(path)
    if ext in _NUMPY_EXTS:
        arr = _load_npy(path)
        if arr.ndim == 2 and arr.shape[0] == 0:
            raise ValueError(f"`path` {str(path)!r} reads as 0 points")
        if arr.ndim == 2 and arr.shape[1] == 6:
            pts = check_points(arr[:, :3], name=f"{path.name}[:, :3] (points)", dims=(3,))
            nrm = check_points(arr[:, 3:], name=f"{path.name}[:, 3:] (normals)", dims=(3,))
            return {"points": pts, "normals": nrm}
        if arr.ndim != 2 or arr.shape[1] not in (2, 3):
            raise ValueError(f"`path` {str(path)!r} must hold an array of shape (n, 3), "
                             f"(n, 2) or (n, 6) (points + normals); got {arr.shape}")
        return check_points(arr, name=path.name, dims=(2, 3))
    raise ValueError(f"`path` has unsupported extension {path.suffix!r}; supported: "
                     f"{', '.join(SUPPORTED_EXTENSIONS)}")


def _load_npy(path):
    """``np.load`` of a ``.npy`` whose header was checked against the file's size first
    (a lying header would make numpy allocate what it claims)."""
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            shape, _, dtype = (np.lib.format.read_array_header_1_0(fh) if version == (1, 0)
                               else np.lib.format.read_array_header_2_0(fh))
            start = fh.tell()
    except (ValueError, EOFError, OSError) as exc:
        raise ValueError(f"`path` {str(path)!r} is not a valid .npy file ({exc})") from None
    if dtype.hasobject:
        raise ValueError(f"`path` {str(path)!r} holds Python objects; only numeric arrays are "
                         "read (no pickles)")
    need = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if need > path.stat().st_size - start:
        raise ValueError(f"`path` {str(path)!r} is truncated or corrupt: its header promises "
                         f"an array of shape {shape} ({need} bytes), the file holds "
                         f"{path.stat().st_size - start}")
    return np.load(path, allow_pickle=False)


def _read_trimesh(path):
    trimesh = _trimesh()
    try:
        geom = trimesh.load(str(path), process=False, maintain_order=True)
    except Exception as exc:          # trimesh's parsers raise many kinds on garbage
        raise ValueError(f"`path` {str(path)!r} could not be read as a mesh "
                         f"({type(exc).__name__}: {exc})") from None
    if path.suffix.lower() == ".obj" and not isinstance(geom, trimesh.Scene):
        check_obj(path, geom.vertices)
    if isinstance(geom, trimesh.Scene):
        parts = list(geom.dump())
        meshes = [g for g in parts if isinstance(g, trimesh.Trimesh)]
        clouds = [g for g in parts if isinstance(g, trimesh.PointCloud)]
        if meshes:
            geom = meshes[0] if len(meshes) == 1 else trimesh.util.concatenate(meshes)
        elif clouds:
            geom = trimesh.PointCloud(np.vstack([c.vertices for c in clouds]))
        else:
            geom = None
    if geom is None or len(getattr(geom, "vertices", ())) == 0:
        raise ValueError(f"`path` {str(path)!r} reads as 0 points")
    return geom


# ---------------------------------------------------------------------------
# npz
# ---------------------------------------------------------------------------


def save_npz(path, **arrays):
    """Save arrays, scalars, strings and sparse matrices to one compressed ``.npz``.

    Dense values go through ``np.savez_compressed`` unchanged (bit-exact, any shape and
    dtype except ``object``). A ``scipy.sparse`` matrix or array is stored as CSR under
    the keys ``<name>__csr_data``, ``<name>__csr_indices``, ``<name>__csr_indptr``,
    ``<name>__csr_shape`` and ``<name>__csr_kind``; :func:`load_npz` puts it back
    together. The file loads without pickle.

    Parameters
    ----------
    path : str or os.PathLike
        Output file. numpy appends ``.npz`` if the name has another suffix.
    **arrays : array_like or scipy.sparse matrix
        Values to store; names must not contain ``"__csr_"``.

    Returns
    -------
    path : pathlib.Path
        The file written (with the ``.npz`` suffix numpy may have added).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from o3d_meshless.io import save_npz, load_npz
    >>> p = save_npz("/tmp/spectrum.npz", evals=np.arange(3.0), L=sp.eye(3, format="csr"),
    ...              method="taylor")
    >>> d = load_npz(p)
    >>> d["L"].format, str(d["method"])
    ('csr', 'taylor')
    """
    import scipy.sparse as sp

    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a str or os.PathLike; got {type(path).__name__}")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    out = {}
    for name, value in arrays.items():
        if _CSR in name:
            raise ValueError(f"`{name}`: names must not contain {_CSR!r} (reserved for "
                             "sparse matrices)")
        if sp.issparse(value):
            csr = value.tocsr()
            out[f"{name}{_CSR}data"] = csr.data
            out[f"{name}{_CSR}indices"] = csr.indices
            out[f"{name}{_CSR}indptr"] = csr.indptr
            out[f"{name}{_CSR}shape"] = np.asarray(csr.shape, dtype=np.int64)
            out[f"{name}{_CSR}kind"] = np.asarray(
                "array" if isinstance(value, getattr(sp, "sparray", ())) else "matrix")
            continue
        try:
            arr = np.asarray(value)
        except ValueError:  # ragged sequences
            arr = np.empty(0, dtype=object)
        if arr.dtype == object:
            raise ValueError(f"`{name}` must be a numeric/str array, scalar or scipy.sparse "
                             f"matrix; got {type(value).__name__} (object dtype)")
        out[name] = arr
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as fh:         # a file object: numpy adds no suffix to it
            np.savez_compressed(fh, **out)
    return path


def load_npz(path):
    """Load a file written by :func:`save_npz`.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npz`` file.

    Returns
    -------
    arrays : dict
        Name → value. Sparse entries come back as ``scipy.sparse.csr_matrix`` (or
        ``csr_array`` if a sparse array was saved); 0-d entries (scalars, strings)
        as numpy scalars; everything else as the saved ndarray.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.io import save_npz, load_npz
    >>> load_npz(save_npz("/tmp/k.npz", k=20, x=np.ones(2)))["k"]
    np.int64(20)
    """
    import scipy.sparse as sp

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a directory, not a file", str(path))
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    out = {}
    sparse = {}
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            if _CSR in key:
                name, part = key.split(_CSR, 1)
                sparse.setdefault(name, {})[part] = data[key]
            else:
                arr = data[key]
                out[key] = arr[()] if arr.ndim == 0 else arr
    for name, parts in sparse.items():
        missing = [p for p in _CSR_PARTS if p not in parts and p != "kind"]
        if missing:
            raise ValueError(f"{str(path)!r}: sparse entry {name!r} lacks {missing}")
        kind = str(parts.get("kind", "matrix"))
        cls = sp.csr_array if kind == "array" else sp.csr_matrix
        try:
            shape = tuple(int(s) for s in np.asarray(parts["shape"]).ravel())
            mat = cls((parts["data"], parts["indices"], parts["indptr"]), shape=shape)
            # a crafted or corrupt file must not reach compiled sparse code with indices
            # out of range (a segfault in L @ x): check the whole structure here
            mat.check_format(full_check=True)
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"{str(path)!r}: sparse entry {name!r} is corrupt ({exc}); "
                             "write it again with save_npz") from None
        out[name] = mat
    return out


# ---------------------------------------------------------------------------
# PLY
# ---------------------------------------------------------------------------

_RESERVED_PLY = {"x", "y", "z", "nx", "ny", "nz", "red", "green", "blue", "alpha"}


def save_ply(path, points, fields=None, *, normals=None, colors=None):
    """Write points and named per-point columns as a binary little-endian PLY.

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
    points : array_like, shape (n, 3)
    fields : dict of str to array_like, optional
        Per-point arrays of shape ``(n,)`` or ``(n, c)``, stored as float64.
        Names use letters, digits and underscores and must not start with a digit;
        PLY names ``x y z nx ny nz red green blue alpha`` are reserved.
    normals : array_like, shape (n, 3), optional
    colors : array_like, shape (n, 3), optional
        Floats in [0, 1] (scaled by 255 and rounded) or integers in 0..255.

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
    >>> from o3d_meshless.io import save_ply
    >>> pts = np.random.rand(100, 3)
    >>> save_ply("/tmp/modes.ply", pts, {"lb_mode_1": pts[:, 0], "grad": pts}).name
    'modes.ply'
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a str or os.PathLike; got {type(path).__name__}")
    path = Path(path)
    pts = check_points(points, name="points", dims=(3,))
    n = pts.shape[0]
    columns = [("x", pts[:, 0]), ("y", pts[:, 1]), ("z", pts[:, 2])]
    if normals is not None:
        nrm = check_values(normals, n, name="normals")
        if nrm.ndim != 2 or nrm.shape[1] != 3:
            raise ValueError(f"`normals` must have shape (n, 3) with n = {n}; got {nrm.shape}")
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
            raise ValueError(f"`fields` name {name!r} is not valid: use letters, digits and "
                             "underscores, not starting with a digit")
        arr = check_values(value, n, name=f"fields[{name!r}]")
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
    header.append("end_header")
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        fh.write(("\n".join(header) + "\n").encode("ascii"))
        fh.write(table.tobytes())
    return path


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
