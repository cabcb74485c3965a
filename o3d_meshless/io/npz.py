"""``.npz`` files that hold arrays, strings, scalars and ``scipy.sparse`` matrices
(operators, spectra, parameters) losslessly, and are checked on loading."""
from __future__ import annotations

from typing import Any

import errno
import math
import os
import re
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .._typing import PathArg

__all__ = ["save_npz", "load_npz"]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CSR = "__csr_"
_CSR_PARTS = ("data", "indices", "indptr", "shape", "kind")


def save_npz(path: PathArg, **arrays: Any) -> Path:
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
    >>> from o3d_meshless.io.read import save_npz, load_npz
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


def load_npz(path: PathArg, *, max_bytes: int | None = None) -> dict[str, Any]:
    """Load a file written by :func:`save_npz`.

    Every member is checked before it is inflated: it must be a ``.npy`` array (no
    pickles), its header must describe exactly the bytes the member holds, and all
    members together may inflate to at most ``max_bytes`` (a zip bomb is refused
    without inflating it).

    Parameters
    ----------
    path : str or os.PathLike
        ``.npz`` file.
    max_bytes : int, optional
        Largest total size of the arrays once inflated. Default: the larger of
        256 MiB and 100 times the size of the file (ordinary data compresses far less).

    Returns
    -------
    arrays : dict
        Name → value. Sparse entries come back as ``scipy.sparse.csr_matrix`` (or
        ``csr_array`` if a sparse array was saved); 0-d entries (scalars, strings)
        as numpy scalars; everything else as the saved ndarray.

    Raises
    ------
    ValueError
        Not a zip file, a member that is not a ``.npy`` array (a pickle), a header that
        disagrees with the member's size, more than ``max_bytes`` once inflated, or a
        corrupt sparse entry.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.io.read import save_npz, load_npz
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
    for key, arr in _read_members(path, max_bytes):
        if _CSR in key:
            name, part = key.split(_CSR, 1)
            sparse.setdefault(name, {})[part] = arr
        else:
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


def _read_members(path, max_bytes):
    """Yield ``(name, array)`` for every member of the zip file ``path``, each checked
    against its declared sizes before anything is inflated."""
    import zipfile

    if max_bytes is not None and (isinstance(max_bytes, bool) or
                                  not isinstance(max_bytes, int) or max_bytes < 0):
        raise ValueError(f"`max_bytes` must be a non-negative int or None; got {max_bytes!r}")
    limit = max(256 << 20, 100 * path.stat().st_size) if max_bytes is None else max_bytes
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{str(path)!r} is not an .npz file ({exc})") from None
    with archive:
        members = archive.infolist()
        total = sum(m.file_size for m in members)
        if total > limit:
            raise ValueError(f"{str(path)!r} would inflate to {total} bytes, more than "
                             f"`max_bytes` = {limit} (a zip bomb, or pass a larger max_bytes "
                             "if the data is genuine)")
        for member in members:
            if not member.filename.endswith(".npy"):
                raise ValueError(f"{str(path)!r}: member {member.filename!r} is not a .npy "
                                 "array; only arrays are read (no pickles)")
            try:
                # zipfile never inflates a member beyond its declared file_size
                with archive.open(member) as fh:
                    arr = _read_npy(fh, member.file_size)
            except (ValueError, EOFError, zipfile.BadZipFile) as exc:
                raise ValueError(f"{str(path)!r}: member {member.filename!r} is corrupt "
                                 f"({exc})") from None
            yield member.filename[:-4], arr


def _read_npy(fh, size):
    """One ``.npy`` member of ``size`` bytes from the open stream ``fh``; its header must
    account for exactly the bytes that follow it."""
    version = np.lib.format.read_magic(fh)
    # format 3.0 differs from 2.0 only by a utf-8 header, which savez writes for
    # non-latin-1 field names only
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, fortran, dtype = read_header(fh)
    if dtype.hasobject:
        raise ValueError("it holds Python objects (a pickle); only numeric arrays are read")
    need = math.prod(shape) * dtype.itemsize
    if need != size - fh.tell():
        raise ValueError(f"its header promises shape {shape} of {dtype} ({need} bytes) and "
                         f"the member holds {size - fh.tell()}")
    buffer = bytearray(need)
    view, done = memoryview(buffer), 0
    while done < need:
        got = fh.readinto(view[done:])
        if not got:
            raise ValueError(f"it ends after {done} of {need} bytes")
        done += got
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")
