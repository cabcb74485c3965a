"""Geometry in, geometry out: the only module that touches Open3D and trimesh.

Everything else in the package works on plain arrays. This module turns the
geometry types users hold into ``(n, d)`` float64 arrays (:func:`as_points`,
:func:`as_normals`, :func:`reference_normals`), puts per-point results back onto a
*new* geometry (:func:`attach`), and optionally adds convenience methods to the
Open3D / trimesh classes (:func:`register`, :func:`unregister`).

Open3D and trimesh are imported lazily, inside the functions that need them. Types
are recognised by their module and class name first, so passing a numpy array never
imports Open3D.

Accepted geometry types
-----------------------
* ``open3d.geometry.PointCloud`` (legacy) and ``open3d.t.geometry.PointCloud`` (tensor)
* ``open3d.geometry.TriangleMesh`` and ``open3d.t.geometry.TriangleMesh`` (their vertices)
* ``trimesh.PointCloud`` and ``trimesh.Trimesh`` (their vertices)
* a ``dict`` with key ``"points"`` and optional ``"normals"`` (what :func:`attach`
  returns for array input and what :func:`o3d_meshless.read_geometry` returns for an
  ``(n, 6)`` ``.npy`` file)
* numpy arrays and array-likes of shape ``(n, d)``
"""
from __future__ import annotations

import logging
import re

import numpy as np

from ._validation import check_points, check_values

__all__ = [
    "as_points",
    "as_normals",
    "reference_normals",
    "mesh_normals",
    "mesh_boundary",
    "attach",
    "register",
    "unregister",
]

log = logging.getLogger(__name__)

_ACCEPTED = ("an Open3D PointCloud or TriangleMesh (legacy `open3d.geometry` or tensor "
             "`open3d.t.geometry`), a trimesh.PointCloud or trimesh.Trimesh, a dict with "
             "key 'points' (and optional 'normals'), or an (n, d) numpy array / array-like")

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

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


def as_points(geometry, *, dims=(3,), name="geometry"):
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


def as_normals(geometry, *, name="geometry"):
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
    >>> from o3d_meshless.adapters import as_normals, reference_normals
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
    >>> from o3d_meshless.adapters import mesh_normals
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
    >>> from o3d_meshless.adapters import mesh_boundary
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


# ---------------------------------------------------------------------------
# arrays -> geometry
# ---------------------------------------------------------------------------


def _check_arrays(arrays, n, kind):
    """Validate the ``arrays`` dict of :func:`attach`; return {name: float64 array}."""
    if arrays is None:
        return {}
    if not isinstance(arrays, dict):
        raise ValueError(f"`arrays` must be a dict mapping names to per-point arrays; "
                         f"got {type(arrays).__name__}")
    reserved = {"positions", "points"}
    out = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not _NAME_RE.match(key):
            raise ValueError(f"`arrays` key {key!r} is not a valid name: use letters, digits "
                             "and underscores, not starting with a digit")
        if key in reserved:
            raise ValueError(f"`arrays` key {key!r} is reserved for the point positions; "
                             "choose another name")
        arr = check_values(value, n, name=f"arrays[{key!r}]")
        if key in ("normals", "colors"):
            if arr.ndim != 2 or arr.shape[1] != 3:
                raise ValueError(f"`arrays[{key!r}]` must have shape (n, 3) with n = {n}; "
                                 f"got {arr.shape}")
            if key == "colors":
                arr = _colors01(value, arr, n)
            else:
                arr = _unit_normals(arr)
        out[key] = arr
    return out


def _unit_normals(arr):
    """Normals scaled to unit length (viewers and Open3D assume it); a zero row has no
    direction and is refused."""
    length = np.linalg.norm(arr, axis=1)
    if not (length > 1e-12).all():
        bad = int(np.argmin(length))
        raise ValueError(f"`arrays['normals']` row {bad} has length {length[bad]:.3g}: "
                         "every normal needs a direction (estimate the missing ones with "
                         "o3d_meshless.estimate_frames)")
    return arr / length[:, None]


def _colors01(raw, arr, n):
    """Colours as float64 in [0, 1]: integers are read as 0..255."""
    if np.issubdtype(np.asarray(raw).dtype, np.integer):
        if arr.min() < 0 or arr.max() > 255:
            raise ValueError("`arrays['colors']` given as integers must lie in 0..255")
        return arr / 255.0
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError("`arrays['colors']` given as floats must lie in [0, 1]; "
                         f"got values in [{arr.min():.4g}, {arr.max():.4g}]")
    return arr


def _colormap(values, key, cmap):
    """Map a scalar per-point array to RGBA floats in [0, 1] with a matplotlib colormap."""
    v = values.reshape(values.shape[0], -1)
    if v.shape[1] != 1:
        raise ValueError(f"`color_by` must name a scalar array of shape (n,) or (n, 1); "
                         f"arrays[{key!r}] has shape {values.shape}")
    v = v[:, 0]
    try:
        import matplotlib
        colormap = matplotlib.colormaps[cmap]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("`color_by` needs matplotlib; install it with "
                          "`pip install matplotlib`") from exc
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"`cmap` must be a matplotlib colormap name; got {cmap!r}") from None
    lo, hi = float(v.min()), float(v.max())
    if lo < 0.0 < hi:
        m = max(-lo, hi)
        lo, hi = -m, m
    if hi > lo:
        t = (v - lo) / (hi - lo)
    else:
        t = np.full_like(v, 0.5)
    return np.asarray(colormap(np.clip(t, 0.0, 1.0)), dtype=np.float64)


def _o3d_tensor(o3d, arr, device):
    arr = np.ascontiguousarray(arr.reshape(arr.shape[0], -1), dtype=np.float64)
    return o3d.core.Tensor(arr, device=device)


def attach(geometry, arrays, *, color_by=None, cmap="viridis", inplace=False):
    """Return a geometry carrying the per-point ``arrays`` (and optional colours).

    Results go where each library keeps per-point data:

    ===============================  =================================================
    input                            output (``inplace=False``)
    ===============================  =================================================
    Open3D legacy ``PointCloud``     new tensor ``PointCloud`` (float64 positions,
                                     ``from_legacy(pcd, o3d.core.float64)``), arrays
                                     in ``pcd.point[name]``
    Open3D tensor ``PointCloud``     ``pcd.clone()`` with ``pcd.point[name]``
    Open3D legacy ``TriangleMesh``   new tensor ``TriangleMesh`` (float64 vertices),
                                     arrays in ``mesh.vertex[name]``
    Open3D tensor ``TriangleMesh``   ``mesh.clone()`` with ``mesh.vertex[name]``
    ``trimesh.Trimesh``              ``mesh.copy()`` with ``vertex_attributes[name]``
    ``trimesh.PointCloud``           ``pc.copy()`` with
                                     ``metadata["o3d_meshless"][name]``
    dict / numpy array               ``{"points": points, **arrays}`` (new dict, copies)
    ===============================  =================================================

    On Open3D geometry every array is stored as a 2-D float64 tensor ``(n, 1)`` or
    ``(n, c)`` (1-D attributes break Open3D's PLY writer). On trimesh and dicts the
    arrays keep their shape ``(n,)`` or ``(n, c)`` as float64.

    Parameters
    ----------
    geometry : geometry or array_like
        See :func:`as_points`.
    arrays : dict of str to array_like
        Per-point arrays of shape ``(n,)`` or ``(n, c)``. Names use letters, digits
        and underscores; ``"points"`` and ``"positions"`` are reserved. ``"colors"``
        (``(n, 3)``, floats in [0, 1] or integers in 0..255) and ``"normals"``
        (``(n, 3)``, scaled to unit length; a zero row is refused) go to the
        geometry's colour / normal slots.
    color_by : str, optional
        Key of a scalar array in ``arrays`` to colour the points by. Limits are
        symmetric (``±max|a|``) when the array has both signs, else ``min..max``.
        Open3D and dicts get float RGB in [0, 1] under ``"colors"``; trimesh gets
        RGBA uint8 vertex colours (``Trimesh.visual.vertex_colors`` /
        ``PointCloud.colors``).
    cmap : str, default "viridis"
        matplotlib colormap name used with ``color_by``.
    inplace : bool, default False
        Modify ``geometry`` itself and return it. A legacy Open3D cloud or mesh can
        only take ``"colors"``/``"normals"`` in place (it cannot hold custom arrays):
        the ``color_by`` array is then used for the colours but not stored, and any
        other array raises ``ValueError``. numpy arrays cannot be modified in place.

    Returns
    -------
    geometry
        The new (or, with ``inplace=True``, the same) geometry.

    Raises
    ------
    ValueError
        Unknown geometry type, array with the wrong number of rows (the message names
        the key and the expected ``n``), bad names, unknown ``color_by`` key or
        colormap, or an impossible in-place request.

    Examples
    --------
    >>> import numpy as np, open3d as o3d
    >>> from o3d_meshless import attach
    >>> pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.random.rand(5, 3)))
    >>> out = attach(pcd, {"height": np.asarray(pcd.points)[:, 2]}, color_by="height")
    >>> out.point["height"].shape, out.point["colors"].shape
    (SizeVector[5, 1], SizeVector[5, 3])
    >>> attach(np.zeros((2, 3)), {"f": [1.0, 2.0]})["f"]
    array([1., 2.])
    """
    kind = _kind(geometry)
    if kind is None:
        raise _unknown(geometry, "geometry")
    n = as_points(geometry, dims=(2, 3) if kind in (_DICT, _ARRAY) else (3,)).shape[0]
    arrays = _check_arrays(arrays, n, kind)
    if color_by is not None:
        if color_by not in arrays:
            raise ValueError(f"`color_by` must be a key of `arrays` "
                             f"({', '.join(map(repr, arrays)) or 'none given'}); got {color_by!r}")
        if "colors" in arrays:
            raise ValueError("give either `color_by` or arrays['colors'], not both")
        rgba = _colormap(arrays[color_by], color_by, cmap)
    else:
        rgba = None
    if not isinstance(inplace, (bool, np.bool_)):
        raise ValueError(f"`inplace` must be True or False; got {inplace!r}")

    if kind in (_O3D_LEGACY_PCD, _O3D_LEGACY_MESH):
        return _attach_o3d_legacy(geometry, kind, arrays, rgba, inplace, color_by)
    if kind in (_O3D_TENSOR_PCD, _O3D_TENSOR_MESH):
        out = geometry if inplace else geometry.clone()
        return _fill_o3d_tensor(out, kind, arrays, rgba)
    if kind == _TM_MESH:
        out = geometry if inplace else geometry.copy()
        for key, arr in arrays.items():
            if key == "colors":
                out.visual.vertex_colors = _rgba_uint8(arr)
            else:
                out.vertex_attributes[key] = arr
        if rgba is not None:
            out.visual.vertex_colors = _rgba_uint8(rgba)
        return out
    if kind == _TM_PCD:
        out = geometry if inplace else geometry.copy()
        store = dict(out.metadata.get("o3d_meshless") or {})
        for key, arr in arrays.items():
            if key == "colors":
                out.colors = _rgba_uint8(arr)
            else:
                store[key] = arr
        out.metadata["o3d_meshless"] = store
        if rgba is not None:
            out.colors = _rgba_uint8(rgba)
        return out
    # dict or array
    if kind == _ARRAY:
        if inplace:
            raise ValueError("`inplace=True` is not possible for a numpy array `geometry`; "
                             "use inplace=False to get a dict {'points': ..., **arrays}")
        out = {"points": np.array(as_points(geometry, dims=(2, 3)), copy=True)}
    elif inplace:
        out = geometry
    else:
        out = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v)
               for k, v in geometry.items()}
    out.update(arrays)
    if rgba is not None:
        out["colors"] = rgba[:, :3].copy()
    return out


def _rgba_uint8(colors):
    """float colours in [0, 1] of shape (n, 3) or (n, 4) -> RGBA uint8 (n, 4)."""
    c = np.clip(np.round(np.asarray(colors, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    if c.shape[1] == 3:
        c = np.column_stack([c, np.full(c.shape[0], 255, dtype=np.uint8)])
    return c


def _attach_o3d_legacy(geometry, kind, arrays, rgba, inplace, color_by):
    o3d = _import_open3d()
    if inplace:
        # the ``color_by`` array only feeds the colours; it is not stored
        custom = sorted(set(arrays) - {"colors", "normals", color_by})
        if custom:
            what = "clouds" if kind == _O3D_LEGACY_PCD else "meshes"
            raise ValueError(f"legacy Open3D {what} cannot hold custom per-point arrays "
                             f"({', '.join(map(repr, custom))}); only 'colors' and 'normals' "
                             "can be set in place. Use inplace=False to get a tensor "
                             f"{'PointCloud' if kind == _O3D_LEGACY_PCD else 'TriangleMesh'}.")
        vec = o3d.utility.Vector3dVector
        colors = rgba[:, :3] if rgba is not None else arrays.get("colors")
        normals = arrays.get("normals")
        if kind == _O3D_LEGACY_PCD:
            if colors is not None:
                geometry.colors = vec(np.ascontiguousarray(colors, dtype=np.float64))
            if normals is not None:
                geometry.normals = vec(np.ascontiguousarray(normals))
        else:
            if colors is not None:
                geometry.vertex_colors = vec(np.ascontiguousarray(colors, dtype=np.float64))
            if normals is not None:
                geometry.vertex_normals = vec(np.ascontiguousarray(normals))
        return geometry
    if kind == _O3D_LEGACY_PCD:
        out = o3d.t.geometry.PointCloud.from_legacy(geometry, o3d.core.float64)
    else:
        out = o3d.t.geometry.TriangleMesh.from_legacy(geometry, o3d.core.float64,
                                                      o3d.core.int64)
    kind = _O3D_TENSOR_PCD if kind == _O3D_LEGACY_PCD else _O3D_TENSOR_MESH
    return _fill_o3d_tensor(out, kind, arrays, rgba)


def _fill_o3d_tensor(out, kind, arrays, rgba):
    o3d = _import_open3d()
    attrs = out.point if kind == _O3D_TENSOR_PCD else out.vertex
    device = out.device
    for key, arr in arrays.items():
        attrs[key] = _o3d_tensor(o3d, arr, device)
    if rgba is not None:
        attrs["colors"] = _o3d_tensor(o3d, rgba[:, :3], device)
    return out


# ---------------------------------------------------------------------------
# opt-in methods on Open3D / trimesh classes
# ---------------------------------------------------------------------------

_METHODS = ("laplace_beltrami", "spectrum", "surface_gradient")
_PATCHED = []  # list of (class, method name) that register() added
_MARK = "_o3d_meshless_method"


def _make_method(fname):
    def method(self, *args, **kwargs):
        import o3d_meshless
        return getattr(o3d_meshless, fname)(self, *args, **kwargs)

    method.__name__ = fname
    method.__qualname__ = fname
    method.__doc__ = (f"Call ``o3d_meshless.{fname}(self, *args, **kwargs)``.\n\n"
                      f"Added by ``o3d_meshless.register()``; see ``o3d_meshless.{fname}``.")
    setattr(method, _MARK, True)
    return method


def _target_classes():
    classes = []
    try:
        import open3d as o3d
        classes += [o3d.geometry.PointCloud, o3d.t.geometry.PointCloud]
    except ImportError:
        log.debug("open3d not importable; register() skips its classes")
    try:
        import trimesh
        classes += [trimesh.PointCloud, trimesh.Trimesh]
    except ImportError:
        log.debug("trimesh not importable; register() skips its classes")
    return classes


def _label(cls, meth):
    return f"{cls.__module__}.{cls.__qualname__}.{meth}"


def register():
    """Add ``laplace_beltrami``, ``spectrum`` and ``surface_gradient`` methods.

    Opt-in: importing ``o3d_meshless`` patches nothing. After ``register()``,
    ``pcd.spectrum(n_modes=10)`` is ``o3d_meshless.spectrum(pcd, n_modes=10)`` for
    ``open3d.geometry.PointCloud``, ``open3d.t.geometry.PointCloud``,
    ``trimesh.PointCloud`` and ``trimesh.Trimesh`` (the classes of whichever of the two
    libraries is installed). A class attribute that already exists and was not added
    by us is left alone (and logged). Calling it again changes nothing.

    Returns
    -------
    patched : list of str
        ``"module.Class.method"`` for every method currently added by ``register``.

    Raises
    ------
    ImportError
        If neither Open3D nor trimesh can be imported.

    Examples
    --------
    >>> import o3d_meshless
    >>> patched = o3d_meshless.register()
    >>> import trimesh
    >>> hasattr(trimesh.Trimesh, "spectrum")
    True
    >>> o3d_meshless.unregister() == patched
    True
    """
    classes = _target_classes()
    if not classes:
        raise ImportError("register() needs Open3D or trimesh; install them with "
                          "`pip install open3d trimesh`")
    for cls in classes:
        for meth in _METHODS:
            if (cls, meth) in _PATCHED:
                continue
            existing = cls.__dict__.get(meth, None) if hasattr(cls, "__dict__") else None
            if existing is None and hasattr(cls, meth):
                existing = getattr(cls, meth)
            if existing is not None and not getattr(existing, _MARK, False):
                log.warning("not patching %s: the class already has that attribute",
                            _label(cls, meth))
                continue
            setattr(cls, meth, _make_method(meth))
            _PATCHED.append((cls, meth))
    return [_label(cls, meth) for cls, meth in _PATCHED]


def unregister():
    """Remove exactly the methods :func:`register` added.

    Returns
    -------
    removed : list of str
        ``"module.Class.method"`` for every method removed (empty if nothing was
        registered).

    Examples
    --------
    >>> import o3d_meshless
    >>> o3d_meshless.unregister()  # nothing registered
    []
    """
    removed = []
    while _PATCHED:
        cls, meth = _PATCHED.pop(0)
        if getattr(cls.__dict__.get(meth), _MARK, False):
            delattr(cls, meth)
        removed.append(_label(cls, meth))
    return removed
