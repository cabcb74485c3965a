"""Row-blocked inputs (Dask array, memory-mapped ``.npy``, zarr, NumPy) and outputs.

A :class:`Source` is a list of row blocks, each a Dask ``Delayed`` that yields a float64
NumPy array: a worker reads only its block (a ``.npy`` file is opened with
``mmap_mode="r"`` inside the task, so nothing of the file goes through the scheduler).
"""
from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass

import numpy as np

from ._partition import block_edges, merge

#: rows per block when the input has no chunks of its own
BLOCK_ROWS = 1_000_000


@dataclass
class Source:
    """Row blocks of an ``(n,)`` or ``(n, c)`` array.

    Attributes
    ----------
    n : int
    tail : tuple
        Shape of one row: ``()`` or ``(c,)``.
    bounds : list of (int, int)
        ``[lo, hi)`` rows of each block.
    blocks : list of dask.delayed.Delayed
        Each evaluates to a float64 array of shape ``(hi - lo,) + tail``.
    path : str or None
        The ``.npy`` file behind the blocks, when there is one: a task can then read
        the rows it needs itself (:func:`read_npy_rows`) instead of receiving blocks
        through the task graph.
    """

    n: int
    tail: tuple
    bounds: list
    blocks: list
    path: str | None = None


def _read_npy(path, lo, hi):
    arr = np.load(path, mmap_mode="r")
    return np.ascontiguousarray(arr[lo:hi], dtype=np.float64)


def read_npy_rows(path, ids):
    """Rows ``ids`` (global, sorted) of the ``.npy`` file ``path``, float64."""
    arr = np.load(path, mmap_mode="r")
    return np.ascontiguousarray(arr[np.asarray(ids)], dtype=np.float64)


def _as_float(block):
    return np.ascontiguousarray(block, dtype=np.float64)


def _even_bounds(n, rows):
    return [(lo, min(lo + rows, n)) for lo in range(0, n, rows)] or [(0, 0)]


def _check_dtype(dtype, name):
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        raise ValueError(f"`{name}` must be a real numeric array; got dtype {dtype}")


def as_source(x, *, name, ncols=None, n=None, bounds=None, block_rows=BLOCK_ROWS):
    """A :class:`Source` for ``x``.

    Parameters
    ----------
    x : dask.array.Array, numpy.ndarray (incl. ``np.memmap``), zarr array, or str/path
        A path ending in ``.npy`` is memory-mapped; any other existing path is opened
        as a zarr array.
    name : str
        Argument name for error messages.
    ncols : int or None
        Required row length (``None``: 1-D or 2-D accepted).
    n : int or None
        Required number of rows.
    bounds : list of (int, int) or None
        Block rows to use (default: ``x``'s own chunks, else ``block_rows``).

    Examples
    --------
    A NumPy array in blocks of two rows (no cluster needed: the blocks are Dask
    ``Delayed`` objects, computed here by the local scheduler):

    >>> import numpy as np, dask
    >>> from o3d_meshless.dask import as_source
    >>> src = as_source(np.arange(10).reshape(5, 2), name="x", ncols=2, block_rows=2)
    >>> src.n, src.tail, src.bounds
    (5, (2,), [(0, 2), (2, 4), (4, 5)])
    >>> [b.shape for b in dask.compute(*src.blocks)]
    [(2, 2), (2, 2), (1, 2)]
    """
    import dask
    import dask.array as da

    path = None
    if isinstance(x, (str, os.PathLike)):
        path = os.fspath(x)
        if not os.path.exists(path):
            raise ValueError(f"`{name}` is a path that does not exist: {path!r} (give an "
                             "existing .npy file or zarr store)")
        if not path.endswith(".npy"):
            import zarr
            try:
                x = zarr.open_array(path, mode="r")
            except Exception as exc:      # noqa: BLE001 - any reader error means the same
                raise ValueError(f"`{name}` path {path!r} is neither a .npy file nor a zarr "
                                 f"array ({type(exc).__name__}: {exc})") from None
            path = None
    elif isinstance(x, np.memmap) and getattr(x, "filename", None) and \
            str(x.filename).endswith(".npy"):
        again = np.load(x.filename, mmap_mode="r")
        if again.shape == x.shape and again.dtype == x.dtype:
            path = str(x.filename)        # reopen in the worker, never pickle the data
    if path is not None:
        arr = np.load(path, mmap_mode="r")
        shape, dtype = arr.shape, arr.dtype
    elif isinstance(x, da.Array):
        arr = x
        shape, dtype = x.shape, x.dtype
    elif hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.ndarray):
        arr = da.from_zarr(x) if type(x).__module__.startswith("zarr") else da.asarray(x)
        shape, dtype = arr.shape, arr.dtype
    else:
        try:
            arr = np.asarray(x)
        except Exception:                 # noqa: BLE001
            raise ValueError(f"`{name}` must be a Dask array, a NumPy array or memmap, a zarr "
                             f"array or a path; got {type(x).__name__}") from None
        shape, dtype = arr.shape, arr.dtype
    _check_dtype(dtype, name)
    if ncols is not None and (len(shape) != 2 or shape[1] != ncols):
        raise ValueError(f"`{name}` must have shape (n, {ncols}); got {tuple(shape)}")
    if ncols is None and len(shape) not in (1, 2):
        raise ValueError(f"`{name}` must have shape (n,) or (n, c); got {tuple(shape)}")
    if any(s is None or (isinstance(s, float) and np.isnan(s)) for s in shape):
        raise ValueError(f"`{name}` has unknown chunk sizes; call compute_chunk_sizes() first")
    if n is not None and shape[0] != n:
        raise ValueError(f"`{name}` must have one row per point, n = {n}; got {shape[0]} rows")
    n_rows = int(shape[0])
    tail = tuple(int(s) for s in shape[1:])
    if bounds is None:
        if isinstance(arr, da.Array):
            edges = np.concatenate([[0], np.cumsum(arr.chunks[0])]).astype(int)
            bounds = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
        else:
            bounds = _even_bounds(n_rows, int(block_rows))
    if path is not None:
        blocks = [dask.delayed(_read_npy)(path, lo, hi) for lo, hi in bounds]
    else:
        if not isinstance(arr, da.Array):
            arr = da.from_array(arr, chunks=(tuple(b - a for a, b in bounds),) + tail)
        arr = arr.rechunk((tuple(b - a for a, b in bounds),) + tail)
        blocks = [dask.delayed(_as_float)(b) for b in arr.to_delayed().ravel()]
    return Source(n_rows, tail, list(bounds), blocks, path)


def to_npy(arr, path, *, compute=True):
    """Write a Dask array into one ``.npy`` file, block by block.

    Each task opens the file with ``mmap_mode="r+"`` and writes its rows, so no process
    holds more than one block (the workers must share the file system). A result of
    :class:`~o3d_meshless.dask.DaskSurface` taken as it is returned (not sliced or
    combined) is held by the parts: each part then saves its rows into a staging
    folder beside ``path`` (``.<name>.parts-<id>``, removed at the end) and each block
    is written from those files, so a worker's memory does not grow with the cloud.

    The blocks go into a hidden file beside ``path`` (``.<name>.partial-<id>``), which
    replaces ``path`` only when every block is written: an earlier file at ``path``
    stays whole until then. If the computation fails, the partial file and the staging
    folder are removed (with ``compute=False`` that is the caller's to do).

    Parameters
    ----------
    arr : dask.array.Array of shape (n, ...)
    path : str or path
    compute : bool, default=True
        ``False`` returns the Delayed that writes.

    Returns
    -------
    str or dask.delayed.Delayed
        The path (or the Delayed writing it).

    Examples
    --------
    >>> import os, tempfile, numpy as np, dask.array as da
    >>> from o3d_meshless.dask import to_npy
    >>> p = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> _ = to_npy(da.arange(10.0, chunks=4), p)
    >>> np.load(p).tolist()[:4]
    [0.0, 1.0, 2.0, 3.0]
    """
    import dask

    path = os.fspath(path)
    partial = _beside(path, f"partial-{uuid.uuid4().hex[:12]}")
    out = np.lib.format.open_memmap(partial, mode="w+", dtype=arr.dtype, shape=arr.shape)
    del out
    stage = None
    rows = getattr(arr, ROW_PIECES, None)
    if rows is not None and rows.name == arr.name:
        stage = _beside(path, f"parts-{uuid.uuid4().hex[:12]}")
        written = [_staged_writes(rows, partial, stage)]
    else:
        edges = np.concatenate([[0], np.cumsum(arr.chunks[0])]).astype(int)
        if arr.ndim > 1 and any(len(c) > 1 for c in arr.chunks[1:]):
            arr = arr.rechunk({i: -1 for i in range(1, arr.ndim)})
        parts = list(arr.to_delayed().reshape(len(arr.chunks[0]), -1)[:, 0]) \
            if arr.ndim > 1 else list(arr.to_delayed())
        written = [dask.delayed(_write_npy)(b, partial, int(lo))
                   for b, lo in zip(parts, edges[:-1])]
    done = dask.delayed(_publish)(partial, path, *written)
    if not compute:
        return done
    try:
        return done.compute()
    except BaseException:
        _discard(partial, stage)
        raise


def _beside(path, tag):
    """A hidden name beside ``path`` (same folder: a rename there is atomic)."""
    return os.path.join(os.path.dirname(os.path.abspath(path)),
                        f".{os.path.basename(path)}.{tag}")


def _publish(partial, path, *_):
    """The written file or store takes the output's name. A file replaces an earlier
    one in one step; a store (a folder) moves an earlier one aside first and removes it
    after (two renames: a reader sees the old store or the new one)."""
    if not os.path.isdir(partial):
        os.replace(partial, path)
    elif os.path.isdir(path):
        old = _beside(path, f"old-{uuid.uuid4().hex[:12]}")
        os.replace(path, old)
        os.replace(partial, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if os.path.lexists(path):
            os.remove(path)
        os.replace(partial, path)
    return path


def _discard(*paths):
    """Remove what a failed write left: files or folders, those that exist."""
    for p in paths:
        if p is not None and os.path.isdir(p):
            shutil.rmtree(p, ignore_errors=True)
        elif p is not None and os.path.lexists(p):
            os.remove(p)


@dataclass
class RowPieces:
    """A result held by parts: each ``results[p]`` is a Delayed ``(ids, values)`` of
    sorted global row ids. :func:`to_npy` writes such a result through files beside
    its output instead of gathering every part's rows for each output block."""

    results: list
    bounds: list
    #: the Dask array's name (its graph's key) when it was tagged: an in-place
    #: assignment (``x[i] = v``) keeps the attribute but gives the array a new name
    name: str


#: attribute of a Dask array that is a :class:`RowPieces` result in the input order
ROW_PIECES = "_o3d_row_pieces"


def _staged_writes(rows, path, stage):
    """The Delayed writing ``rows`` into the ``.npy`` at ``path``: each part saves its
    rows into the folder ``stage`` (one ``ids``/``values`` pair of files), then each
    output block reads its slice of every part's files and is written once. A worker
    holds one part's rows or one output block at a time, so its memory does not grow
    with the cloud; the staging folder is removed at the end."""
    import dask

    edges = [dask.delayed(_stage_part)(r, stage, p, rows.bounds)
             for p, r in enumerate(rows.results)]
    writes = [dask.delayed(_write_staged)(path, stage, b, lo, hi, *edges)
              for b, (lo, hi) in enumerate(rows.bounds)]
    return dask.delayed(_finish_staged)(path, stage, *writes)


def _stage_part(result, stage, part, bounds):
    ids, values = result
    os.makedirs(stage, exist_ok=True)
    np.save(os.path.join(stage, f"ids{part}.npy"), np.asarray(ids, dtype=np.int64))
    np.save(os.path.join(stage, f"values{part}.npy"), np.asarray(values))
    return block_edges(ids, bounds)


def _write_staged(path, stage, b, lo, hi, *edges):
    out = np.load(path, mmap_mode="r+")
    pieces = []
    for part, e in enumerate(edges):
        a, c = int(e[b]), int(e[b + 1])
        if c > a:
            pieces.append((np.load(os.path.join(stage, f"ids{part}.npy"), mmap_mode="r")[a:c],
                           np.load(os.path.join(stage, f"values{part}.npy"),
                                   mmap_mode="r")[a:c]))
    out[lo:hi] = merge(lo, hi, out.shape[1:], out.dtype, *pieces)
    out.flush()
    del out
    return hi - lo


def _finish_staged(path, stage, *_):
    _discard(stage)
    return path


def _write_npy(block, path, lo):
    out = np.load(path, mmap_mode="r+")
    out[lo:lo + len(block)] = block
    out.flush()
    del out
    return len(block)


def to_zarr(arr, path, *, compute=True):
    """Write a Dask array to a zarr store (one zarr chunk per Dask block).

    The store is written beside ``path`` (``.<name>.partial-<id>``) and takes its name
    when complete; an earlier store at ``path`` is replaced only then. If the
    computation fails, the partial store is removed (with ``compute=False`` that is the
    caller's to do).

    Parameters
    ----------
    arr : dask.array.Array
    path : str or path
    compute : bool, default=True

    Returns
    -------
    str or dask.delayed.Delayed

    Examples
    --------
    >>> import os, tempfile, zarr, dask.array as da
    >>> from o3d_meshless.dask import to_zarr
    >>> p = os.path.join(tempfile.mkdtemp(), "x.zarr")
    >>> _ = to_zarr(da.ones((6, 3), chunks=(4, 3)), p)
    >>> zarr.open_array(p, mode="r").shape
    (6, 3)
    """
    import dask

    path = os.fspath(path)
    partial = _beside(path, f"partial-{uuid.uuid4().hex[:12]}")
    arr = arr.rechunk({i: -1 for i in range(1, arr.ndim)}) if arr.ndim > 1 else arr
    if not compute:
        stored = arr.to_zarr(partial, overwrite=True, compute=False)
        return dask.delayed(_publish)(partial, path, stored)
    try:
        arr.to_zarr(partial, overwrite=True, compute=True)
        return _publish(partial, path)
    except BaseException:
        _discard(partial)
        raise
