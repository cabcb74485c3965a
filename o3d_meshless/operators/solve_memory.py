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

When one run does not fit but slices of the spectrum would
(:mod:`o3d_meshless.operators.spectrum_slicing`: 24 bytes per point and mode of one
slice, 8 per mode kept), :func:`plan_solve` chooses slices as large as fit.

When the prediction exceeds the memory available to the process (the smaller of the
system's available memory and the address-space limit, ``ulimit -v``, left over), a
:class:`MemoryError` says how much is needed and what to do, instead of SuperLU's
``Can't expand MemType`` and an empty MemoryError midway.
"""
from __future__ import annotations

import resource

import numpy as np


__all__ = ["available_bytes", "factor_bytes", "solve_bytes", "plan_solve", "memory_advice",
           "lanczos_vectors", "LANCZOS_FACTOR"]

#: LU entries per point of ``K − σM`` (weak form, minimum-degree ordering on Kᵀ + K):
#: ``LU_SLOPE · log2(n) − LU_OFFSET``, fitted to 1e4..3e5 sphere points
LU_SLOPE = 7.0
LU_OFFSET = 47.0
#: bytes per LU entry (value and row index; supernodes share the column indices)
LU_ENTRY_BYTES = 12
#: bytes per point of CHOLMOD's Cholesky of ``K − σM`` (cholespy, nested dissection),
#: ``CHOLESKY_SLOPE · log2(n)``: one triangle. Measured at 1e5 / 3e5 / 1e6 sphere points as
#: 800 / 847 / 763 bytes per point over the matrix, its copies and the ordering included;
#: the slope covers the factor with the copies (638 at 1e6) under the solve's other
#: ``SOLVE_BASE_BYTES``. Locked slices of 60 at 1e6, 200 modes: 4.0 GB over the build
#: against 4.07 GB predicted
CHOLESKY_SLOPE = 32.0
#: bytes per point and requested mode, an upper bound: the Lanczos basis
#: (:func:`lanczos_vectors`, 1.5 n_modes + 1 vectors), the eigenvectors and a sorted copy
#: (measured with SciPy's basis of 2 n_modes + 1, as the peaks above)
BYTES_PER_MODE = 32
#: bytes per point and mode of one slice when computed in slices: its Lanczos basis
#: (1.5 m + 1 vectors) and its eigenvectors
SLICE_BYTES_PER_MODE = 24
#: slices of fewer modes than this are not tried (each slice factorises anew)
SLICE_MIN = 20
#: bytes per point that the solve holds besides (the shifted matrix, its CSC copy,
#: the start and work vectors)
SOLVE_BASE_BYTES = 400


#: Lanczos basis of the symmetric shift-invert solve per requested mode. SciPy's default
#: is 2; at 1.5 the basis takes a quarter less memory and the solve takes as long, to
#: within the order effect of the measurement (whichever runs first on the shared LU is
#: 10-20 % slower): ``python benchmarks/bench_lanczos_basis.py --n 1e5 --modes 200``
#: (ellipsoid) gave 34.1 s (2) / 34.4 s (1.5) in that order and 37.4 / 35.7 s in the
#: other, 503 / 506 solves; 50 modes 6.2 / 5.1 s and 5.6 / 6.1 s; the same eigenvalues
#: to 1e-14. At 1.25 (3e5 sphere, 200 modes, run third) 151 s against 142 s.
LANCZOS_FACTOR = 1.5


def lanczos_vectors(n, n_modes):
    """Lanczos basis size for ``n_modes`` eigenpairs of an ``n``-row pencil:
    ``LANCZOS_FACTOR × n_modes + 1``, at least ``n_modes + 20``, at most ``n − 1``.

    Examples
    --------
    >>> from o3d_meshless.operators.solve_memory import lanczos_vectors
    >>> lanczos_vectors(10**6, 200), lanczos_vectors(10**6, 20)
    (301, 40)
    """
    return int(min(n - 1, max(int(LANCZOS_FACTOR * n_modes) + 1, n_modes + 20)))


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


def factor_bytes(n, cholesky=False):
    """Predicted bytes per point of the factor of ``K − σM``: SuperLU's (minimum degree)
    or, with ``cholesky=True``, CHOLMOD's (:func:`~o3d_meshless.operators.sparse_solve.cholesky`)."""
    if cholesky:
        return CHOLESKY_SLOPE * np.log2(max(n, 2))
    return max(LU_SLOPE * np.log2(max(n, 2)) - LU_OFFSET, 10.0) * LU_ENTRY_BYTES


def solve_bytes(n, n_modes, slice_modes=None, cholesky=False):
    """Predicted bytes of the symmetric shift-invert solve for ``n`` points.

    Parameters
    ----------
    n : int
        Points (rows of ``K``).
    n_modes : int
    slice_modes : int, optional
        Computed in slices of this many modes
        (:mod:`o3d_meshless.operators.spectrum_slicing`): one slice's Lanczos basis and
        eigenvectors, 24 bytes per point and mode of the slice, plus the eigenvectors
        kept, 8 bytes per point and mode. None: one Lanczos run.
    cholesky : bool, default=False
        The factor is CHOLMOD's Cholesky instead of SuperLU's LU; with ``slice_modes``,
        one Cholesky factor serves every slice (locked slices,
        :func:`~o3d_meshless.operators.spectrum_slicing.locked_eigenpairs`).

    Returns
    -------
    int

    Examples
    --------
    >>> from o3d_meshless.operators.solve_memory import solve_bytes
    >>> round(solve_bytes(1_000_000, 50) / 2**30, 1)      # GiB for a million points
    2.9
    >>> round(solve_bytes(1_000_000, 200) / 2**30, 1)   # 200 modes: one Lanczos run
    7.4
    >>> round(solve_bytes(1_000_000, 200, slice_modes=60) / 2**30, 1)   # in slices
    4.2
    """
    if slice_modes is None:
        modes = BYTES_PER_MODE * n_modes
    else:
        modes = SLICE_BYTES_PER_MODE * min(slice_modes, n_modes) + 8 * n_modes
    return int(n * (factor_bytes(n, cholesky) + modes + SOLVE_BASE_BYTES))


def plan_solve(n, n_modes, cholesky=False):
    """How the symmetric solve will fit: ``(slice_modes, need)``.

    One Lanczos run (``slice_modes`` None) when its prediction fits the memory
    available; else slices as large as fit (at least ``SLICE_MIN`` modes, slower but with
    a smaller basis); else :class:`MemoryError` with :func:`memory_advice`. With
    ``cholesky`` the factor is CHOLMOD's, one for every slice.
    """
    need = solve_bytes(n, n_modes, cholesky=cholesky)
    free = available_bytes()
    if free is None or need <= free:
        return None, need
    fixed = solve_bytes(n, 0, slice_modes=0, cholesky=cholesky)   # the factor, the rest
    room = (free - fixed - 8 * n * n_modes) // (SLICE_BYTES_PER_MODE * n)
    slice_modes = int(min(room, n_modes - 1))
    if n_modes > SLICE_MIN and slice_modes >= SLICE_MIN:
        return slice_modes, solve_bytes(n, n_modes, slice_modes, cholesky=cholesky)
    raise MemoryError(memory_advice(n, n_modes, need, free, cholesky=cholesky))


def memory_advice(n, n_modes, need, free=None, cholesky=False):
    """The message of the MemoryError: what the solve needs and what to do."""
    have = "" if free is None else f", and about {free / 2**30:.1f} GiB are free"
    fewer = max(1, n_modes // 2)
    return (f"the spectrum of {n} points with {n_modes} modes needs about "
            f"{need / 2**30:.1f} GiB for its eigen-solve{have}. Ask for fewer modes "
            f"(n_modes={fewer} needs about "
            f"{solve_bytes(n, fewer, cholesky=cholesky) / 2**30:.1f} GiB), "
            "subsample the points (e.g. Open3D's voxel_down_sample or every 2nd point: "
            "about half), or run on a machine with more memory")
