"""Type aliases of the public API (annotations only; nothing here runs)."""
from __future__ import annotations

from os import PathLike
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Geometry", "PathArg", "ArrayLike", "NDArray", "Float64Array"]

#: anything :func:`o3d_meshless.as_points` accepts: Open3D legacy or tensor
#: ``PointCloud`` / ``TriangleMesh``, trimesh ``PointCloud`` / ``Trimesh``, a dict with
#: ``"points"``, an ``(n, d)`` array-like, or a :class:`~o3d_meshless.Sampling`
Geometry = Any
PathArg = Union[str, PathLike[str]]
Float64Array = NDArray[np.float64]
