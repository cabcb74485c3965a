"""Geometry in: the geometry types users hold as ``(n, d)`` float64 arrays.

With :mod:`o3d_meshless.io.attach_results` (results back onto geometry) and
:mod:`o3d_meshless.io.class_methods` (opt-in methods on the Open3D / trimesh classes), the only
modules that touch Open3D and trimesh. Everything else in the package works on plain
arrays: :func:`as_points`, :func:`as_normals`, :func:`reference_normals`,
:func:`mesh_normals`, :func:`mesh_boundary`.

Open3D and trimesh are imported lazily, inside the functions that need them. Types
are recognised by their module and class name first, so passing a numpy array never
imports Open3D.

Accepted geometry types
-----------------------
* ``open3d.geometry.PointCloud`` (legacy) and ``open3d.t.geometry.PointCloud`` (tensor)
* ``open3d.geometry.TriangleMesh`` and ``open3d.t.geometry.TriangleMesh`` (their vertices)
* ``trimesh.PointCloud`` and ``trimesh.Trimesh`` (their vertices)
* a ``dict`` with key ``"points"`` and optional ``"normals"`` (what
  :func:`o3d_meshless.attach` returns for array input and what
  :func:`o3d_meshless.read_geometry` returns for an ``(n, 6)`` ``.npy`` file)
* numpy arrays and array-likes of shape ``(n, d)``
"""
from __future__ import annotations

import logging

import numpy as np

from .._validation import check_points
from .._typing import Float64Array, Geometry

__all__ = [
    "as_points",
    "as_normals",
    "reference_normals",
    "mesh_faces",
    "mesh_normals",
    "mesh_boundary",
]

log = logging.getLogger(__name__)

_ACCEPTED = ("an Open3D PointCloud or TriangleMesh (legacy `open3d.geometry` or tensor "
             "`open3d.t.geometry`), a trimesh.PointCloud or trimesh.Trimesh, a dict with "
             "key 'points' (and optional 'normals'), or an (n, d) numpy array / array-like")

# ---------------------------------------------------------------------------
# optional imports
# ---------------------------------------------------------------------------


def _import_open3d(purpose="this operation"):
    """Import Open3D lazily; ``purpose`` completes the install hint."""
    try:
        import open3d as o3d
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{purpose} needs Open3D; install it with `pip install open3d`") from exc
    return o3d


def _import_trimesh(purpose="this operation"):
    """Import trimesh lazily; ``purpose`` completes the install hint."""
    try:
        import trimesh
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{purpose} needs trimesh; install it with `pip install trimesh`") from exc
    return trimesh


# ---------------------------------------------------------------------------
# type detection (by module / class name, never by importing)
# ---------------------------------------------------------------------------

_O3D_LEGACY_PCD = "open3d legacy PointCloud"
_O3D_TENSOR_PCD = "open3d tensor PointCloud"
_O3D_LEGACY_MESH = "open3d legacy TriangleMesh"
_O3D_TENSOR_MESH = "open3d tensor TriangleMesh"
_TM_PCD = "trimesh PointCloud"
_TM_MESH = "trimesh Trimesh"
_DICT = "dict"
_ARRAY = "array"


def _kind(obj):
    """Return a string naming the geometry kind of ``obj`` or None if unknown."""
    if isinstance(obj, dict):
        return _DICT
    if isinstance(obj, (np.ndarray, list, tuple)):
        return _ARRAY
    for cls in type(obj).__mro__:
        mod = getattr(cls, "__module__", "") or ""
        name = cls.__name__
        if mod.startswith("open3d"):
            tensor = mod.endswith(".t.geometry")
            legacy = mod.endswith(".geometry") and not tensor
            if name == "PointCloud" and tensor:
                return _O3D_TENSOR_PCD
            if name == "PointCloud" and legacy:
                return _O3D_LEGACY_PCD
            if name == "TriangleMesh" and tensor:
                return _O3D_TENSOR_MESH
            if name == "TriangleMesh" and legacy:
                return _O3D_LEGACY_MESH
            if name == "Tensor" and mod.endswith(".core"):
                return _ARRAY
            if mod.endswith(".utility") and name.startswith("Vector"):
                return _ARRAY
        elif mod.startswith("trimesh"):
            if name == "Trimesh":
                return _TM_MESH
            if name == "PointCloud":
                return _TM_PCD
    if hasattr(obj, "__array__") or hasattr(obj, "__array_interface__"):
        return _ARRAY
    return None


def _unknown(obj, name):
    return ValueError(f"`{name}` must be {_ACCEPTED}; got {type(obj).__module__}."
                      f"{type(obj).__qualname__}")


def _tensor_to_numpy(t):
    """Copy an ``open3d.core.Tensor`` (any device) into a new numpy array."""
    return np.array(t.cpu().numpy(), copy=True)


def _raw_points(geometry, kind, name):
    """Positions of a known geometry as a fresh numpy array (not yet validated)."""
    if kind == _O3D_LEGACY_PCD:
        return np.array(geometry.points, dtype=np.float64)
    if kind == _O3D_LEGACY_MESH:
        return np.array(geometry.vertices, dtype=np.float64)
    if kind == _O3D_TENSOR_PCD:
        if "positions" not in geometry.point:
            return np.empty((0, 3))
        return _tensor_to_numpy(geometry.point["positions"])
    if kind == _O3D_TENSOR_MESH:
        if "positions" not in geometry.vertex:
            return np.empty((0, 3))
        return _tensor_to_numpy(geometry.vertex["positions"])
    if kind in (_TM_PCD, _TM_MESH):
        return np.array(geometry.vertices, dtype=np.float64)
    if kind == _DICT:
        if "points" not in geometry:
            raise ValueError(f"`{name}` is a dict, so it must have a 'points' key; "
                             f"got keys {sorted(map(str, geometry))}")
        return np.array(geometry["points"], copy=True)
    if kind == _ARRAY:
        if type(geometry).__name__ == "Tensor" and hasattr(geometry, "cpu"):
            return _tensor_to_numpy(geometry)
        return geometry
    raise _unknown(geometry, name)  # pragma: no cover - callers check kind first


# ---------------------------------------------------------------------------
# geometry -> arrays
# ---------------------------------------------------------------------------


def as_points(geometry: Geometry, *, dims: tuple[int, ...] = (3,),
              name: str = "geometry") -> Float64Array:
    """Return the points of ``geometry`` as a float64 C-contiguous array.

    Parameters
    ----------
    geometry : geometry or array_like
        Open3D legacy or tensor ``PointCloud`` / ``TriangleMesh`` (vertices),
        ``trimesh.PointCloud`` / ``trimesh.Trimesh`` (vertices), a dict with a
        ``"points"`` key, or an array-like of shape ``(n, d)``.
    dims : int or tuple of int, default (3,)
        Allowed numbers of columns ``d``. Pass ``(2, 3)`` to accept planar data.
    name : str, default "geometry"
        Argument name used in error messages.

    Returns
    -------
    points : ndarray, shape (n, d), float64
        For geometry objects and dicts this is always a copy; for a float64
        C-contiguous array it may be the array itself.

    Raises
    ------
    ValueError
        Unknown type, wrong shape, no points, NaN/inf or non-numeric data. The
        message names ``name``.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless import as_points
    >>> as_points([[0, 0, 0], [1, 0, 0]]).dtype
    dtype('float64')
    >>> import open3d as o3d
    >>> pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.eye(3)))
    >>> as_points(pcd).shape
    (3, 3)
    """
    kind = _kind(geometry)
    if kind is None:
        raise _unknown(geometry, name)
    raw = _raw_points(geometry, kind, name)
    return check_points(raw, name=name, dims=dims)


def as_normals(geometry: Geometry, *, name: str = "geometry") -> Float64Array | None:
    """Return the normals the user stored on ``geometry``, or None.

    Parameters
    ----------
    geometry : geometry or array_like
        See :func:`as_points`.
    name : str, default "geometry"
        Argument name used in error messages.

    Returns
    -------
    normals : ndarray, shape (n, 3), float64, or None
        Legacy Open3D clouds/meshes: ``points``/``vertex_normals`` when present;
        tensor clouds/meshes: the ``"normals"`` attribute when present; dicts: the
        ``"normals"`` key. trimesh objects and plain arrays give ``None``: trimesh
        derives vertex normals from faces, which we do not treat as user normals
        (see :func:`reference_normals`). Normals are returned as stored, not
        re-normalised.

    Raises
    ------
    ValueError
        Unknown type, or normals that are not finite or do not have one row per
        point.

    Examples
    --------
    >>> import numpy as np, open3d as o3d
    >>> from o3d_meshless import as_normals
    >>> pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.eye(3)))
    >>> as_normals(pcd) is None
    True
    >>> pcd.normals = o3d.utility.Vector3dVector(np.tile([0.0, 0.0, 1.0], (3, 1)))
    >>> as_normals(pcd)[0]
    array([0., 0., 1.])
    """
    kind = _kind(geometry)
    if kind is None:
        raise _unknown(geometry, name)
    raw = None
    if kind == _O3D_LEGACY_PCD and geometry.has_normals():
        raw = np.array(geometry.normals, dtype=np.float64)
    elif kind == _O3D_LEGACY_MESH and geometry.has_vertex_normals():
        raw = np.array(geometry.vertex_normals, dtype=np.float64)
    elif kind == _O3D_TENSOR_PCD and "normals" in geometry.point:
        raw = _tensor_to_numpy(geometry.point["normals"])
    elif kind == _O3D_TENSOR_MESH and "normals" in geometry.vertex:
        raw = _tensor_to_numpy(geometry.vertex["normals"])
    elif kind == _DICT and geometry.get("normals") is not None:
        raw = np.array(geometry["normals"], copy=True)
    if raw is None:
        return None
    n = _raw_points(geometry, kind, name)
    n = np.shape(n)[0]
    normals = check_points(raw, name=f"{name}.normals", dims=(3,))
    if normals.shape[0] != n:
        raise ValueError(f"`{name}.normals` must have one row per point (n = {n}); "
                         f"got {normals.shape}")
    return normals


def reference_normals(geometry, *, name="geometry"):
    """Return normals usable to *orient* estimated normals, or None.

    These are :func:`as_normals` when the user stored normals; otherwise the
    face-derived vertex normals of a mesh with faces (``trimesh.Trimesh.vertex_normals``,
    or Open3D's ``compute_vertex_normals`` on a copy of an Open3D mesh); otherwise None.
    Face-derived normals follow the face winding, so they fix the sign of estimated
    normals but should not replace them.

    Parameters
    ----------
    geometry : geometry or array_like
        See :func:`as_points`.
    name : str, default "geometry"
        Argument name used in error messages.

    Returns
    -------
    normals : ndarray, shape (n, 3), float64, or None

    Examples
    --------
    >>> import trimesh
    >>> from o3d_meshless.sampling.adapters import as_normals, reference_normals
    >>> mesh = trimesh.creation.icosphere(subdivisions=1)
    >>> as_normals(mesh) is None
    True
    >>> reference_normals(mesh).shape
    (42, 3)
    """
    normals = as_normals(geometry, name=name)
    if normals is not None:
        return normals
    normals = mesh_normals(geometry, name=name)
    return None if normals is None else np.nan_to_num(normals)


def _mesh(geometry, name):
    """``(points, faces)`` of a triangle mesh with faces, or None for other geometry.

    Faces are ``(m, 3)`` int64, checked to index existing vertices.
    """
    kind = _kind(geometry)
    if kind == _TM_MESH:
        faces = np.asarray(geometry.faces)
    elif kind == _O3D_LEGACY_MESH and geometry.has_triangles():
        faces = np.asarray(geometry.triangles)
    elif kind == _O3D_TENSOR_MESH and "indices" in geometry.triangle:
        faces = _tensor_to_numpy(geometry.triangle["indices"])
    else:
        return None
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        return None
    points = np.asarray(_raw_points(geometry, kind, name), dtype=np.float64)
    n = len(points)
    if faces.min() < 0 or faces.max() >= n:
        raise ValueError(f"`{name}` has faces indexing vertices outside 0..{n - 1}; repair the "
                         "mesh (e.g. trimesh's remove_unreferenced_vertices) first")
    return points, faces


def mesh_faces(geometry, *, name="geometry"):
    """Faces of a triangle mesh, indexing its vertices as :func:`as_points` returns them,
    or None for other geometry (and meshes without faces).

    Returns
    -------
    faces : ndarray of shape (m, 3), int64, or None

    Raises
    ------
    ValueError
        Faces that index missing vertices.

    Examples
    --------
    >>> import trimesh
    >>> from o3d_meshless.sampling.adapters import mesh_faces
    >>> mesh_faces(trimesh.creation.icosphere(subdivisions=1)).shape
    (80, 3)
    >>> mesh_faces(trimesh.PointCloud([[0, 0, 0], [1, 0, 0]])) is None
    True
    """
    mesh = _mesh(geometry, name)
    return None if mesh is None else mesh[1]


def mesh_normals(geometry, *, name="geometry"):
    """Area-weighted vertex normals of a triangle mesh, or None for other geometry.

    Each vertex gets the sum of the (area-weighted) normals of the faces around it,
    normalised; their sign follows the face winding. Vertices that no face uses (or
    whose faces cancel) get a row of NaN: their normal must be estimated.

    Parameters
    ----------
    geometry : geometry or array_like
        See :func:`as_points`; only meshes with faces give normals.
    name : str, default "geometry"
        Argument name used in error messages.

    Returns
    -------
    normals : ndarray of shape (n, 3), float64, or None

    Raises
    ------
    ValueError
        Faces that index missing vertices.

    Examples
    --------
    >>> import trimesh
    >>> from o3d_meshless.sampling.adapters import mesh_normals
    >>> box = trimesh.creation.box()
    >>> n = mesh_normals(box)
    >>> bool(((n * box.vertices).sum(1) > 0).all())     # outward at every corner
    True
    """
    mesh = _mesh(geometry, name)
    if mesh is None:
        return None
    points, faces = mesh
    n = len(points)
    a, b, c = (points[faces[:, i]] for i in range(3))
    face_n = np.cross(b - a, c - a)                      # length = 2 × area
    normals = np.zeros((n, 3))
    for i in range(3):
        np.add.at(normals, faces[:, i], face_n)
    norm = np.linalg.norm(normals, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        normals = np.where(norm > 0, normals / norm, np.nan)
    return normals


def mesh_boundary(geometry, *, name="geometry"):
    """Vertices on the open boundary of a triangle mesh, or None for other geometry.

    A boundary edge belongs to exactly one face; its two vertices are boundary vertices.
    Edges shared by three or more faces (non-manifold) are not boundary edges.

    Returns
    -------
    mask : ndarray of shape (n,), bool, or None

    Raises
    ------
    ValueError
        Faces that index missing vertices.

    Examples
    --------
    >>> import trimesh
    >>> from o3d_meshless.sampling.adapters import mesh_boundary
    >>> int(mesh_boundary(trimesh.creation.icosphere()).sum())          # closed
    0
    >>> square = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [.5, .5, 0]],
    ...                          [[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]], process=False)
    >>> mesh_boundary(square).tolist()
    [True, True, True, True, False]
    """
    mesh = _mesh(geometry, name)
    if mesh is None:
        return None
    points, faces = mesh
    n = len(points)
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    uniq, count = np.unique(edges, axis=0, return_counts=True)
    mask = np.zeros(n, dtype=bool)
    mask[uniq[count == 1].ravel()] = True
    return mask

