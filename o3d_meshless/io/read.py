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
import sys
import tempfile
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import numpy as np

from .._validation import check_points
from .file_checks import check_file, check_header, check_obj, check_off, check_vertices
from .npz import load_npz, save_npz
from .ply_writer import save_ply
from .._typing import Geometry, PathArg

__all__ = ["sample_path", "read_geometry", "save_npz", "load_npz", "save_ply"]

_O3D_EXTS = (".ply", ".pcd", ".xyz", ".xyzn", ".pts")
_TEXT_EXTS = (".xyz", ".xyzn", ".pts")
_TRIMESH_EXTS = (".obj", ".off")
_NUMPY_EXTS = (".npy",)
SUPPORTED_EXTENSIONS = _O3D_EXTS + _TRIMESH_EXTS + _NUMPY_EXTS

#: shipped samples: name -> file in o3d_meshless/data (attribution in its README.txt)
SAMPLES = {"bunny": "bunny.ply", "spot": "spot.ply"}


def sample_path(name: str = "bunny") -> Path:
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
    from ..sampling.adapters import _import_open3d

    return _import_open3d("reading .ply/.pcd/.xyz/.xyzn/.pts")


def _trimesh():
    from ..sampling.adapters import _import_trimesh

    return _import_trimesh("reading .obj/.off")


def read_geometry(path: PathArg) -> Geometry:
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
        reads as 0 points, an ``.npy`` array of the wrong shape or with NaN/inf, or a
        file that disagrees with its own header (counts larger than the file, negative
        or wrong OFF counts, OBJ/OFF face indices outside the vertices, an error of
        Open3D's reader). Open3D's C++ messages on stderr are kept off the terminal
        and quoted in the error instead.

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
        check_header(path, ext)          # before Open3D allocates what a header claims
        with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error), \
                _c_stderr_kept() as noise:
            try:
                if ext in _TEXT_EXTS:
                    # the tensor text reader parses into float32 (0.23 m error at
                    # UTM-sized coordinates); the legacy reader keeps float64
                    pcd = o3d.t.geometry.PointCloud.from_legacy(
                        o3d.io.read_point_cloud(str(path)), o3d.core.float64)
                else:
                    pcd = o3d.t.io.read_point_cloud(str(path))
            except RuntimeError as exc:  # Open3D's errors: "[Open3D Error] (sig) file:line: msg"
                raise ValueError(f"`path` {str(path)!r} could not be read "
                                 f"({_open3d_message(exc)})") from None
        if "positions" not in pcd.point or pcd.point["positions"].shape[0] == 0:
            said = f"; Open3D: {noise[0]}" if noise and noise[0] else ""
            raise ValueError(f"`path` {str(path)!r} reads as 0 points (empty or unreadable "
                             f"{ext} file{said})")
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


@contextmanager
def _c_stderr_kept():
    """Keep what compiled code writes to file descriptor 2 (RPly's "Wrong magic number")
    off the terminal; yields a list that receives the text (at most 2 kB) afterwards.

    The descriptor is process-wide: another thread's stderr output during the read is
    kept too, so this wraps only the short Open3D read calls."""
    kept = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):   # no stderr / no fd 2: nothing to keep
        yield kept
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield kept
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            kept.append(" ".join(sink.read(2048).decode("utf-8", "replace").split()))


def _open3d_message(exc):
    """The message of an Open3D RuntimeError without its colour codes and C++ location."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return re.split(r"\.(?:cpp|h):\d+: ", text)[-1].strip() or text


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
    # the counts and indices first: trimesh trusts them (a negative count drops lines)
    parsed = check_obj(path) if path.suffix.lower() == ".obj" else check_off(path)
    try:
        geom = trimesh.load(str(path), process=False, maintain_order=True)
    except Exception as exc:          # trimesh's parsers raise many kinds on garbage
        raise ValueError(f"`path` {str(path)!r} could not be read as a mesh "
                         f"({type(exc).__name__}: {exc})") from None
    if not isinstance(geom, trimesh.Scene):      # a scene's parts may reorder them
        check_vertices(path, geom.vertices, parsed)
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
