"""Geometry out: per-point results put back onto a *new* geometry (or in place).

Colours come from :func:`o3d_meshless.plot.colorize`, so a field attached with
``color_by`` looks as it does in the package's pictures.
"""
from __future__ import annotations

import re

import numpy as np

from .._validation import check_values
from ..sampling.adapters import (_ARRAY, _DICT, _O3D_LEGACY_MESH, _O3D_LEGACY_PCD, _O3D_TENSOR_MESH,
                       _O3D_TENSOR_PCD, _TM_MESH, _TM_PCD, _import_open3d, _kind, _unknown, as_points)
from .._typing import ArrayLike, Geometry

__all__ = ["attach"]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
        # NaN: no value there (points excluded as outliers)
        arr = check_values(value, n, name=f"arrays[{key!r}]", allow_nan=key != "colors")
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
    """RGB floats in [0, 1] for a scalar per-point array, coloured as the pictures are
    (:func:`o3d_meshless.plot.colorize`)."""
    from ..plot import colorize

    v = values.reshape(values.shape[0], -1)
    if v.shape[1] != 1:
        raise ValueError(f"`color_by` must name a scalar array of shape (n,) or (n, 1); "
                         f"arrays[{key!r}] has shape {values.shape}")
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("`color_by` needs matplotlib; install it with "
                          "`pip install matplotlib`") from exc
    if cmap is not None:
        try:
            matplotlib.colormaps[cmap]
        except (KeyError, ValueError, TypeError):
            raise ValueError(f"`cmap` must be a matplotlib colormap name; got {cmap!r}") \
                from None
    return colorize(v[:, 0], cmap=cmap)


def _o3d_tensor(o3d, arr, device, dtype=np.float64):
    arr = np.ascontiguousarray(arr.reshape(arr.shape[0], -1), dtype=dtype)
    return o3d.core.Tensor(arr, device=device)


def attach(geometry: Geometry, arrays: dict[str, ArrayLike], *, color_by: str | None = None,
           cmap: str | None = None, inplace: bool = False) -> Geometry:
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
    cmap : str, optional
        matplotlib colormap name used with ``color_by``; default as in the pictures
        (:func:`o3d_meshless.plot.colorize`): ``"RdBu_r"`` for a field with both signs,
        ``"viridis"`` otherwise.
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
            elif arr.ndim == 2 and arr.shape[1] > 1:
                # PLY holds scalar properties: trimesh writes an (n, c) attribute as a
                # list that neither trimesh nor Open3D reads back, so it is split
                for j in range(arr.shape[1]):
                    out.vertex_attributes[f"{key}_{j}"] = arr[:, j]
            else:
                out.vertex_attributes[key] = arr.reshape(-1)
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
    # a float32 cloud gets float32 attributes: its positions carry no more digits
    single = "positions" in attrs and attrs["positions"].dtype == o3d.core.float32
    for key, arr in arrays.items():
        if key == "colors":
            attrs[key] = _o3d_colors(o3d, arr, device)
        else:
            attrs[key] = _o3d_tensor(o3d, arr, device, np.float32 if single else np.float64)
    if rgba is not None:
        attrs["colors"] = _o3d_colors(o3d, rgba, device)
    return out


def _o3d_colors(o3d, rgb, device):
    # uint8: o3d.t.io writes them as uchar, which both Open3D readers (legacy and
    # tensor) read back unchanged; float colours are written as doubles that the
    # legacy reader divides by 255 (everything turns black)
    return o3d.core.Tensor(np.ascontiguousarray(_rgba_uint8(rgb)[:, :3]), device=device)
