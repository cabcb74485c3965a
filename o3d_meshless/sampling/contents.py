"""What a geometry carries besides its points and normals: per-point columns (extra
PLY/PCD properties, trimesh vertex attributes, attached results), colours and faces."""
from __future__ import annotations

import numpy as np

from .adapters import (_DICT, _O3D_LEGACY_MESH, _O3D_LEGACY_PCD, _O3D_TENSOR_MESH,
                       _O3D_TENSOR_PCD, _TM_MESH, _TM_PCD, _kind, _mesh, _tensor_to_numpy)

__all__ = ["point_columns", "point_colors", "mesh_faces"]


_NOT_COLUMNS = {"positions", "points", "normals", "colors"}


def point_columns(geometry):
    """Per-point columns a geometry carries besides positions, normals and colours.

    Open3D tensor attributes (extra PLY/PCD properties), trimesh vertex attributes and
    what :func:`o3d_meshless.attach` stored in a ``trimesh.PointCloud``'s metadata,
    or a dict's other keys; ``{}`` for plain arrays and legacy Open3D geometry.

    Returns
    -------
    columns : dict of str to ndarray
        Arrays of shape ``(n,)`` or ``(n, c)`` (an ``(n, 1)`` column is flattened).

    Examples
    --------
    >>> from o3d_meshless.sampling.contents import point_columns
    >>> point_columns({"points": [[0.0, 0, 0]], "f": [2.0]})
    {'f': array([2.])}
    """
    kind = _kind(geometry)
    if kind in (_O3D_TENSOR_PCD, _O3D_TENSOR_MESH):
        tmap = geometry.point if kind == _O3D_TENSOR_PCD else geometry.vertex
        raw = {k: _tensor_to_numpy(tmap[k]) for k in tmap if k not in _NOT_COLUMNS}
    elif kind == _DICT:
        raw = {str(k): np.asarray(v) for k, v in geometry.items() if k not in _NOT_COLUMNS}
    elif kind in (_TM_MESH, _TM_PCD):
        raw = dict(getattr(geometry, "vertex_attributes", None) or {})
        meta = getattr(geometry, "metadata", None)
        if isinstance(meta, dict) and isinstance(meta.get("o3d_meshless"), dict):
            raw.update(meta["o3d_meshless"])
        raw = {k: np.asarray(v) for k, v in raw.items() if k not in _NOT_COLUMNS}
    else:
        return {}
    return {k: (v[:, 0] if v.ndim == 2 and v.shape[1] == 1 else v) for k, v in raw.items()}


def point_colors(geometry):
    """The geometry's per-point colours as ``(n, 3)`` uint8, or None."""
    kind = _kind(geometry)
    rgb = None
    if kind == _O3D_LEGACY_PCD and geometry.has_colors():
        rgb = np.asarray(geometry.colors)
    elif kind == _O3D_LEGACY_MESH and geometry.has_vertex_colors():
        rgb = np.asarray(geometry.vertex_colors)
    elif kind in (_O3D_TENSOR_PCD, _O3D_TENSOR_MESH):
        tmap = geometry.point if kind == _O3D_TENSOR_PCD else geometry.vertex
        if "colors" in tmap:
            rgb = _tensor_to_numpy(tmap["colors"])
    elif kind == _TM_MESH and getattr(geometry.visual, "kind", None) == "vertex":
        rgb = np.asarray(geometry.visual.vertex_colors)[:, :3]
    elif kind == _TM_PCD and len(getattr(geometry, "colors", ())):
        rgb = np.asarray(geometry.colors)[:, :3]
    elif kind == _DICT and geometry.get("colors") is not None:
        rgb = np.asarray(geometry["colors"])
    if rgb is None or len(rgb) == 0:
        return None
    if np.issubdtype(rgb.dtype, np.integer):
        return np.clip(rgb, 0, 255).astype(np.uint8)
    return np.clip(np.round(np.asarray(rgb, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)


def mesh_faces(geometry):
    """``(m, 3)`` int64 faces of a triangle mesh, or None (checked like :func:`mesh_normals`)."""
    mesh = _mesh(geometry, "geometry")
    return None if mesh is None else mesh[1]
