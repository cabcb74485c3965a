"""Memory of the shift-invert eigen-solve: predicted before it starts, explained when short.

The symmetric solve (:func:`o3d_meshless.operators.spectra.eigenpairs` with ``symmetric=True``,
the default weak form) holds the sparse LU factors of ``K − σM`` and the Lanczos basis.
Both are predicted from the number of points and modes before anything is allocated
(one run each on i.i.d. sphere samples, 2 cores):

* the LU factors with the minimum-degree ordering hold ``LU_SLOPE · log2(n) −
  LU_OFFSET`` entries per point (45.8 at 1e4 points, 55.8 at 3e4, 68.6 at 1e5, 81.3 at
  3e5), about 12 bytes each;
* every mode costs ``BYTES_PER_MODE`` per point (peak of ``om.spectrum`` at 1e5 points:
  375 MB over the interpreter for 50 modes, 816 MB for 200).

When the prediction exceeds the memory available to the process (the smaller of the
system's available memory and the address-space limit, ``ulimit -v``, left over), a
:class:`MemoryError` says how much is needed and what to do, instead of SuperLU's
``Can't expand MemType`` and an empty MemoryError midway.
"""
from __future__ import annotations

import resource

import numpy as np

__all__ = ["available_bytes", "solve_bytes", "check_solve_memory", "memory_advice"]

#: LU entries per point of ``K − σM`` (weak form, minimum-degree ordering on Kᵀ + K):
#: ``LU_SLOPE · log2(n) − LU_OFFSET``, fitted to 1e4..3e5 sphere points
LU_SLOPE = 7.0
LU_OFFSET = 47.0
#: bytes per LU entry (value and row index; supernodes share the column indices)
LU_ENTRY_BYTES = 12
#: bytes per point and requested mode: the Lanczos basis (2 n_modes + 1 vectors), the
#: eigenvectors and their normalised copy
BYTES_PER_MODE = 32
#: bytes per point that the solve holds besides (the shifted matrix, its CSC copy,
#: the start and work vectors)
SOLVE_BASE_BYTES = 400


def available_bytes():
    """Bytes this process may still allocate, or None when unknown.

    The smaller of the system's available memory (``MemAvailable`` of /proc/meminfo) and
    what the address-space limit (``ulimit -v``) leaves above the process's current
    size. Elsewhere than Linux: None (no check).
    """
    limits = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                size = next(int(line.split()[1]) * 1024 for line in f
                            if line.startswith("VmSize:"))
            limits.append(max(soft - size, 0))
        except (OSError, ValueError, StopIteration):
            pass
    return min(limits) if limits else None


def solve_bytes(n, n_modes):
    """Predicted bytes of the symmetric shift-invert solve for ``n`` points.

    Parameters
    ----------
    n : int
        Points (rows of ``K``).
    n_modes : int

    Returns
    -------
    int

    Examples
    --------
    >>> from o3d_meshless.operators.solve_memory import solve_bytes
    >>> round(solve_bytes(1_000_000, 50) / 2**30, 1)      # GiB for a million points
    2.9
    """
    per_row = max(LU_SLOPE * np.log2(max(n, 2)) - LU_OFFSET, 10.0)
    return int(n * (per_row * LU_ENTRY_BYTES + BYTES_PER_MODE * n_modes + SOLVE_BASE_BYTES))


def memory_advice(n, n_modes, need, free=None):
    """The message of the MemoryError: what the solve needs and what to do."""
    have = "" if free is None else f", and about {free / 2**30:.1f} GiB are free"
    fewer = max(1, n_modes // 2)
    return (f"the spectrum of {n} points with {n_modes} modes needs about "
            f"{need / 2**30:.1f} GiB for its eigen-solve{have}. Ask for fewer modes "
            f"(n_modes={fewer} needs about {solve_bytes(n, fewer) / 2**30:.1f} GiB), "
            "subsample the points (e.g. Open3D's voxel_down_sample or every 2nd point: "
            "about half), or run on a machine with more memory")


def check_solve_memory(n, n_modes):
    """Raise MemoryError (with :func:`memory_advice`) when the solve will not fit.

    Returns the predicted bytes.
    """
    need = solve_bytes(n, n_modes)
    free = available_bytes()
    if free is not None and need > free:
        raise MemoryError(memory_advice(n, n_modes, need, free))
    return need
