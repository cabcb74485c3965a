"""Input checks shared by every public entry point.

Each check names the argument, says what it must be and what was received, so a
user can fix the call from the message alone.
"""
from __future__ import annotations

import os
import numbers

import numpy as np

__all__ = [
    "real_array",
    "check_points",
    "check_values",
    "check_int",
    "check_option",
    "check_bool",
    "n_threads_from_workers",
    "check_stencil_arrays",
]


def real_array(values, *, name, what="a real numeric array"):
    """``np.asarray(values)`` after checking its dtype is integer or floating point
    (not complex, object, boolean or string); ``what`` words the message."""
    arr = np.asarray(values)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"`{name}` must be {what}; got dtype {arr.dtype}")
    return arr


def check_points(points, *, name="points", dims=(2, 3), min_points=1):
    """Return ``points`` as a C-contiguous float64 array of shape (n, d).

    Integer and float32 inputs are promoted to float64 (documented behaviour);
    complex, object, boolean, NaN/inf and wrongly shaped inputs raise ``ValueError``.
    """
    arr = real_array(points, name=name)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    want = " or ".join(f"(n, {d})" for d in dims)
    if arr.ndim != 2 or arr.shape[1] not in dims:
        raise ValueError(f"`{name}` must have shape {want}; got {arr.shape}")
    if arr.shape[0] < min_points:
        raise ValueError(f"`{name}` must hold at least {min_points} points; got {arr.shape[0]}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr).all(axis=1)))
        raise ValueError(f"`{name}` must be finite; {bad} point(s) contain NaN or inf "
                         "(drop them first, e.g. points[np.isfinite(points).all(1)])")
    return arr


def check_values(values, n, *, name="values", allow_2d=True, allow_nan=False):
    """Return per-point ``values`` as float64 of shape (n,) or (n, c); with
    ``allow_nan``, NaN (no value: a point excluded as an outlier) may appear, inf not."""
    arr = real_array(values, name=name)
    ok_ndim = (1, 2) if allow_2d else (1,)
    if arr.ndim not in ok_ndim or arr.shape[0] != n:
        want = "(n,) or (n, c)" if allow_2d else "(n,)"
        raise ValueError(f"`{name}` must have shape {want} with n = {n} (one row per point); "
                         f"got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all() and not (allow_nan and not np.isinf(arr).any()):
        raise ValueError(f"`{name}` must be finite{' or NaN' if allow_nan else ''}; got "
                         f"{'inf' if allow_nan else 'NaN or inf'}")
    return arr


def check_int(value, *, name, low=None, high=None, owner=None):
    """Return ``value`` as int after checking ``low <= value <= high``."""
    where = f" of {owner}" if owner else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"`{name}`{where} must be an int; got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        rng = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"`{name}`{where} must be an int in the range {rng}; got {value}")
    return value


def check_bool(value, *, name, owner=None):
    """Check that ``value`` is a bool (not merely truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        where = f" of {owner}" if owner else ""
        raise ValueError(f"`{name}`{where} must be True or False; got {value!r}")
    return bool(value)


def check_option(value, options, *, name, owner=None):
    """Check that ``value`` is one of ``options``."""
    if value not in options:
        where = f" of {owner}" if owner else ""
        opts = ", ".join(repr(o) for o in options)
        raise ValueError(f"`{name}`{where} must be one of {opts}; got {value!r}")
    return value


def n_threads_from_workers(workers):
    """Interpret the ``workers`` keyword (SciPy's meaning) once, for every stage.

    ``None`` or ``1`` → one thread; ``-1`` → all cores; ``-m`` → all cores but ``m - 1``;
    any other positive int → that many threads, at most the usable cores (more threads
    than cores only add overhead, and a huge count exhausts memory in the OpenMP
    runtime). ``0`` is an error.
    """
    if workers is None:
        return 1
    if isinstance(workers, (bool, np.bool_)) or not isinstance(workers, numbers.Integral):
        raise ValueError(f"`workers` must be an int (-1 for all cores) or None; got {workers!r}")
    workers = int(workers)
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if workers == 0:
        raise ValueError("`workers` must be a positive int or negative (-1 = all cores); got 0")
    if workers < 0:
        return max(1, ncpu + 1 + workers)
    return min(workers, ncpu)


def check_stencil_arrays(points, neighbors, centers, bases, dim, n_threads=1):
    """Guard the compiled stencil kernels: every index they follow must be in range.

    The kernel wrappers are public (``o3d_meshless.stencils.<method>``), so a bad index
    must give a ``ValueError`` here, not an out-of-bounds read inside ``nogil`` code.
    Dtypes and contiguity are enforced by the kernels' typed memoryviews (TypeError or
    ValueError, never a crash); this checks what they cannot: shapes and index ranges.
    """
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral) \
            or not 1 <= n_threads <= 4096:
        raise ValueError(f"`n_threads` must be an int from 1 to 4096 (use `workers` on the "
                         f"public API); got {n_threads!r}")
    n, D = points.shape
    if D not in (2, 3):
        raise ValueError(f"`points` must have shape (n, 2) or (n, 3); got {points.shape}")
    if neighbors.ndim != 2 or neighbors.shape[1] < 1 or centers.shape != neighbors.shape[:1]:
        raise ValueError(f"`neighbors` must have shape (m, k) with k >= 1 and `centers` shape "
                         f"(m,); got {neighbors.shape} and {centers.shape}")
    for name, idx in (("neighbors", neighbors), ("centers", centers)):
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"`{name}` must index `points` (0 <= i < {n}); got values in "
                             f"[{idx.min()}, {idx.max()}]")
    if bases is None:
        if dim != D:
            raise ValueError(f"without `bases` the local dimension equals the points' ({D}); "
                             f"got {dim}")
    elif bases.ndim != 3 or bases.shape[0] != n or bases.shape[1] < dim or bases.shape[2] != D:
        raise ValueError(f"`bases` must have shape (n_points, >= {dim}, {D}) = ({n}, {dim}, {D}); "
                         f"got {bases.shape}")


#: status a stencil kernel gives every row when a thread could not allocate its scratch
OUT_OF_MEMORY = -200


def raise_if_out_of_memory(status, kernel):
    """MemoryError when the ``kernel``'s per-thread scratch could not be allocated."""
    if status.size and (status == OUT_OF_MEMORY).any():
        raise MemoryError(f"the {kernel} kernel could not allocate its per-thread scratch")
