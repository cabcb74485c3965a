"""``.npz`` files that hold arrays, strings, scalars and ``scipy.sparse`` matrices
(operators, spectra, parameters) losslessly, and are checked on loading."""
from __future__ import annotations

from typing import Any

import errno
import os
import re
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from ._typing import PathArg

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
    >>> from o3d_meshless.io import save_npz, load_npz
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


def load_npz(path: PathArg) -> dict[str, Any]:
    """Load a file written by :func:`save_npz`.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npz`` file.

    Returns
    -------
    arrays : dict
        Name → value. Sparse entries come back as ``scipy.sparse.csr_matrix`` (or
        ``csr_array`` if a sparse array was saved); 0-d entries (scalars, strings)
        as numpy scalars; everything else as the saved ndarray.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.io import save_npz, load_npz
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
    with np.load(path, allow_pickle=False) as data:
        for key in data.files:
            if _CSR in key:
                name, part = key.split(_CSR, 1)
                sparse.setdefault(name, {})[part] = data[key]
            else:
                arr = data[key]
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
