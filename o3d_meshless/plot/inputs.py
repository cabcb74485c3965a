"""Checking and normalising the inputs of the pictures: fields, vectors, positions."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__: list[str] = []


def _as_fields(fields, titles, n):
    """Normalise ``fields`` to a list of (title, float64 (n,) array)."""
    if isinstance(fields, Mapping):
        names = [str(k) for k in fields]
        arrays = list(fields.values())
    elif isinstance(fields, np.ndarray) and fields.ndim == 1:
        arrays = [fields]
    elif isinstance(fields, np.ndarray) and fields.ndim == 2 and fields.shape[0] == n:
        arrays = [fields[:, j] for j in range(fields.shape[1])]
    elif isinstance(fields, (list, tuple)):
        scalars = len(fields) > 0 and all(np.ndim(f) == 0 for f in fields)
        arrays = [np.asarray(fields)] if scalars else list(fields)
    else:
        shape = getattr(fields, "shape", None)
        raise ValueError("`fields` must be a dict name -> (n,) array, a list of (n,) arrays "
                         f"or an (n, m) array with n = {n}; got {type(fields).__name__}"
                         + (f" of shape {shape}" if shape is not None else ""))
    if not isinstance(fields, Mapping):
        names = [f"field {j}" for j in range(len(arrays))]
    if not arrays:
        raise ValueError("`fields` must hold at least one field; got none")
    if titles is not None:
        titles = [str(t) for t in titles]
        if len(titles) != len(arrays):
            raise ValueError(f"`titles` must have one entry per field ({len(arrays)}); "
                             f"got {len(titles)}")
        names = titles
    out = []
    for name, arr in zip(names, arrays):
        a = np.asarray(arr)
        if np.iscomplexobj(a):
            a = a.real
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1 or a.shape[0] != n:
            raise ValueError(f"field {name!r} must have shape (n,) with n = {n} (one value "
                             f"per point); got {a.shape}")
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
                or a.dtype == bool):
            raise ValueError(f"field {name!r} must be numeric; got dtype {a.dtype}")
        a = a.astype(np.float64)
        if not np.isfinite(a).any():
            raise ValueError(f"field {name!r} has no finite value (all NaN or inf)")
        out.append((name, a))
    return out


def _as_vectors(vectors, names, n):
    """``vectors`` -> list (one entry per panel) of (n, 3) arrays or None."""
    if vectors is None:
        return [None] * len(names)

    def check(v, label):
        a = np.asarray(v)
        if np.iscomplexobj(a):
            a = a.real
        if a.ndim != 2 or a.shape != (n, 3):
            raise ValueError(f"{label} must have shape (n, 3) with n = {n}; got {a.shape}")
        a = a.astype(np.float64)
        # rows without a value (excluded outliers, unreachable points) get no arrow
        return np.where(np.isfinite(a).all(axis=1, keepdims=True), a, 0.0)

    if isinstance(vectors, Mapping):
        unknown = [str(k) for k in vectors if str(k) not in names]
        if unknown:
            raise ValueError(f"`vectors` keys must be panel titles {names}; got {unknown}")
        given = {str(k): check(v, f"`vectors[{k!r}]`") for k, v in vectors.items()}
        return [given.get(name) for name in names]
    a = check(vectors, "`vectors`")
    return [a] * len(names)


def _as_positions(positions, names, n):
    """``positions`` -> dict panel title -> (n, 3) array."""
    if positions is None:
        return {}
    if not isinstance(positions, Mapping):
        raise ValueError("`positions` must be a dict panel title -> (n, 3) array; got "
                         f"{type(positions).__name__}")
    unknown = [str(k) for k in positions if str(k) not in names]
    if unknown:
        raise ValueError(f"`positions` keys must be panel titles {names}; got {unknown}")
    out = {str(k): np.asarray(v, dtype=np.float64) for k, v in positions.items()}
    bad = {k: v.shape for k, v in out.items() if v.shape != (n, 3)}
    if bad:
        raise ValueError(f"`positions` must hold (n, 3) arrays with n = {n}; got {bad}")
    return out


def _fill_missing_normals(normals, points):
    """Rows without a normal (NaN: points excluded as outliers) take their nearest
    neighbour's, for shading only."""
    a = np.asarray(normals, dtype=np.float64)
    bad = ~np.isfinite(a).all(axis=1) if a.ndim == 2 else None
    if bad is None or not bad.any() or bad.all() or len(a) != len(points):
        return normals
    from scipy.spatial import cKDTree

    good = np.flatnonzero(~bad)
    _, j = cKDTree(points[good]).query(points[bad])
    a = a.copy()
    a[bad] = a[good[j]]
    return a
