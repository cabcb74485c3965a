"""Laplace–Beltrami spectra: smallest eigenpairs of ``L φ = λ φ`` (strong form).

``L`` from collocation is not symmetric, so eigenpairs come from ARPACK in
shift-invert mode (``scipy.sparse.linalg.eigs``) around a small negative shift, and are
ordered by real part. Eigenvalues are returned as real parts. Eigenvectors are real,
normalised so ``vᵀ M v = 1``, with the sign fixed by a positive projection on a fixed
pseudo-random vector.

Every computed window comes with a :class:`SpectrumReport`: how many eigenvalues are
negative (spurious modes from failed stencils), the largest imaginary part, and the
M-orthogonality defect ``max|VᵀMV − I|``. :func:`spectrum` returns a
:class:`SpectrumResult`, a ``(values, vectors)`` pair that also carries ``.report``.
"""
from __future__ import annotations


import logging

import numpy as np
from scipy import linalg, sparse
from scipy.sparse import linalg as sla

from .._progress import Stages
from .spectrum_quality import (IMAG_RTOL, NEGATIVE_RTOL, SpectrumReport,  # noqa: F401
                              SpectrumResult, _times_mass, mass_norms, spectrum_report)
from .._validation import check_int
from .solve_memory import available_bytes, memory_advice, plan_solve, solve_bytes
from .sparse_solve import DISSECTION_MIN, cholesky, has_cholesky, symmetric_lu
from .spectrum_slicing import lanczos_near, locked_eigenpairs, sliced_eigenpairs
from .._warnings import warn

__all__ = ["eigenpairs", "spectrum_report", "SpectrumReport", "SpectrumResult"]

logger = logging.getLogger(__name__)

#: below this many points the dense eigensolver is used
DENSE_LIMIT = 600
#: from this many points, more than this many entries per row of L draw a warning that
#: the shift-invert factorisation will be slow
SLOW_SOLVE_POINTS = 20000
SLOW_SOLVE_NNZ_PER_ROW = 80

def _blas_single_thread():
    # Two BLAS threads made a shift-invert solve ~7× slower on a 2-core machine.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                  # pragma: no cover
        from contextlib import nullcontext
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _real_vectors(vecs, M, vals=None):
    """Rotate each complex eigenvector to be as real as possible, take the real part,
    M-normalise and fix the sign.

    With ``vals``, a complex-conjugate pair ``(λ, λ̄)`` at positions ``j, j+1`` gets the
    real and the imaginary part of the first (rotated) eigenvector: an M-orthogonal basis
    of the pair's real invariant plane. (The real parts of ``v`` and ``v̄`` are the same
    vector, which would appear twice.)
    """
    if np.iscomplexobj(vecs):
        # after this rotation wᵀMw is real ≥ 0, so Re w ⟂_M Im w and |Re w| ≥ |Im w|
        phase = np.angle(np.einsum("ij,ij->j", vecs, _times_mass(M, vecs))) / 2
        rot = vecs * np.exp(-1j * phase)
        vecs = rot.real.copy()
        if vals is not None:
            j = 0
            while j < len(vals) - 1:
                a, b = vals[j], vals[j + 1]
                if a.imag != 0 and abs(b - np.conj(a)) <= 1e-8 * max(1.0, abs(a)):
                    vecs[:, j + 1] = rot[:, j].imag
                    j += 2
                else:
                    j += 1
    vecs = np.asarray(vecs, dtype=np.float64)      # (the solver's own array: scaled in place)
    norms = mass_norms(M, vecs)
    vecs /= np.where(norms > 0, norms, 1.0)
    # sign: positive projection on a fixed pseudo-random vector (a largest-entry rule is
    # ambiguous on symmetric samples, where the maximum occurs twice with both signs)
    probe = np.random.default_rng(12345).standard_normal(vecs.shape[0])
    s = np.sign(probe @ vecs)
    vecs *= np.where(s == 0, 1.0, s)
    return vecs


def eigenpairs(L, M, n_modes=20, *, sigma=None, symmetric=False, progress=None):
    """Smallest ``n_modes`` eigenpairs (by real part) of a strong-form operator ``L``, or
    of the symmetric pencil ``K v = λ M v`` (``symmetric=True``, ``L`` is then ``K``).

    Parameters
    ----------
    L : sparse matrix of shape (n, n)
        Strong form ``L ≈ −Δ_S``, or with ``symmetric=True`` the stiffness ``K``.
    M : sparse matrix of shape (n, n)
        Used for normalisation (``vᵀ M v = 1``) and for the default shift; with
        ``symmetric=True`` it is the pencil's mass matrix (symmetric positive definite,
        diagonal or not).
    n_modes : int, default=20
    sigma : float, optional
        Shift; default ``-1 / M.sum()`` (minus one over the area), a scale-free value
        below the zero eigenvalue.
    progress : bool or None, default=None
        Progress bar (factorising, then the count of shift-invert solves); None = only
        when stderr is a terminal and the solve takes over a second.

    Returns
    -------
    vals : ndarray of shape (n_modes,)
        Real parts, ascending.
    vecs : ndarray of shape (n, n_modes)
    report : SpectrumReport
        Computed from the complex eigenvalues: negative count, largest ``|Im λ|``,
        ``max|VᵀMV − I|``.

    Warns
    -----
    RuntimeWarning
        Once if imaginary parts are large, and once (loudly) if any eigenvalue is
        negative: those are spurious modes, not modes of the surface.
    """
    support = _support(M)
    if support is not None:
        # excluded points (empty rows and columns, no mass): solve on the rest, NaN there
        vals, vecs, report = eigenpairs(_rows_cols(L, support), _rows_cols(M, support),
                                        n_modes, sigma=sigma, symmetric=symmetric,
                                        progress=progress)
        full = np.full((L.shape[0], vecs.shape[1]), np.nan)
        full[support] = vecs
        return vals, full, report
    n = L.shape[0]
    n_modes = check_int(n_modes, name="n_modes", low=1, high=n)
    if sigma is None:
        sigma = -1.0 / float(M.sum())
    elif isinstance(sigma, (bool, np.bool_)) or not isinstance(sigma, (int, float, np.number)) \
            or np.iscomplexobj(sigma) or not np.isfinite(sigma):
        raise ValueError(f"`sigma` must be a finite real number (the shift-invert shift, "
                         f"below the smallest eigenvalue) or None; got {sigma!r}")
    stages = Stages(2, desc="spectrum", progress=progress)
    try:
        vals, vecs = _eigenpairs(L, M, n_modes, sigma, symmetric, stages)
    finally:
        stages.close()
    order = np.argsort(vals.real, kind="stable")[:n_modes]
    if not np.array_equal(order, np.arange(len(vals))):      # (no copy when in order)
        vals, vecs = vals[order], vecs[:, order]
    vecs = _real_vectors(vecs, M, vals)     # for the pencil: sign and M-normalisation only
    report = spectrum_report(vals, vecs, M, symmetric=symmetric)
    if report.max_imag > IMAG_RTOL * max(1.0, report.max_abs_real):
        warn(f"eigenvalues have imaginary parts up to {report.max_imag:.3g}; the real "
             "parts are returned", RuntimeWarning)
    if report.n_negative:
        warn(
            f"SPURIOUS MODES: {report.n_negative} of {report.n_modes} computed eigenvalues are "
            f"negative (most negative {report.min_real:.6g}). L approximates -Laplacian, whose "
            "eigenvalues are >= 0: these are not modes of the surface but artefacts of "
            "stencils that failed (see diagnostics_['failed_mask']). Try normals from the "
            "mesh (give the geometry with normals; normals='auto' uses them), a larger `k`, "
            "or method='clsgsp'; check the quality report (spectrum_report_ / result.report).",
            RuntimeWarning)
    return np.ascontiguousarray(vals.real), vecs, report


def _support(M):
    """Indices of the points with mass, or None when every point has some (points
    excluded as outliers have none, and empty rows and columns)."""
    if not sparse.issparse(M):
        return None
    has_mass = np.asarray(abs(M).sum(axis=1)).ravel() > 0
    return None if has_mass.all() else np.flatnonzero(has_mass)


def _rows_cols(A, index):
    """``A[index][:, index]`` as CSR."""
    return sparse.csr_matrix(A)[index][:, index]


def _eigenpairs(L, M, n_modes, sigma, symmetric, stages):
    """Unsorted eigenpairs of the strong operator or the symmetric pencil."""
    n = L.shape[0]
    if symmetric:
        return _symmetric_eigenpairs(L, M, n_modes, sigma, stages)
    if n <= DENSE_LIMIT or n_modes >= n - 2:
        with stages("dense eigensolve"):
            return linalg.eig(L.toarray())
    extra = min(max(4, n_modes // 4), n - 2 - n_modes)
    per_row = L.nnz / n
    if n >= SLOW_SOLVE_POINTS and per_row > SLOW_SOLVE_NNZ_PER_ROW:
        # sparse LU fill grows fast with the stencil size: k = 200 at 30k points took
        # 236 s and 1.6 GB (k = 16: a few seconds)
        warn(f"L has {per_row:.0f} entries per row at {n} points: the "
             "shift-invert factorisation may take minutes and gigabytes; a "
             f"smaller `k` (now about {per_row - 1:.0f}) is much faster",
             RuntimeWarning)
    try:
        with _blas_single_thread(), stages("shift-invert eigensolve"):
            # fixed start vector: repeated calls give the same eigenvectors
            v0 = np.random.default_rng(0).standard_normal(n)
            vals, vecs = sla.eigs(L.tocsc(), k=n_modes + extra, sigma=sigma, which="LM",
                                  v0=v0)
    except MemoryError as error:       # (the collocation LU fills more than the weak one)
        raise MemoryError(memory_advice(n, n_modes, solve_bytes(n, n_modes),
                                        available_bytes())
                          + "; or use the weak form (form='weak')") from error
    return vals, vecs


def _symmetric_eigenpairs(K, M, n_modes, sigma, stages):
    """``K v = λ M v`` for symmetric ``K`` and symmetric positive definite ``M`` (real λ, M-orthonormal
    ``v``): dense ``eigh`` for small problems, else shift-invert Lanczos (ARPACK).

    The shifted matrix ``K − σM`` is factorised once by SuperLU in symmetric mode with a
    minimum-degree ordering of ``Kᵀ + K``: on 1e5 sphere points that LU has 2.4× fewer
    entries than the default column ordering, factorises 2.4× faster and makes the
    50-mode solve 1.6× faster (``benchmarks/bench_spectrum.py``). From ``DISSECTION_MIN``
    rows on, METIS's nested dissection orders it instead when the optional ``pymetis``
    is installed (:mod:`o3d_meshless.operators.sparse_solve`). With the shift below the
    spectrum ``K − σM`` is positive definite, and CHOLMOD's Cholesky factorises it
    instead when the optional ``cholespy`` is installed
    (:func:`~o3d_meshless.operators.sparse_solve.cholesky`). When one Lanczos run would
    not fit in the memory available, the modes are computed in slices around
    successive shifts (:mod:`o3d_meshless.operators.spectrum_slicing`, chosen by
    :func:`~o3d_meshless.operators.solve_memory.plan_solve`): a smaller basis, slower.
    """
    n = K.shape[0]
    if n <= DENSE_LIMIT or n_modes >= n - 2:
        return linalg.eigh(K.toarray(), M.toarray())
    dissection = n >= DISSECTION_MIN
    # below the spectrum K − σM is positive definite: CHOLMOD's Cholesky when installed
    # (one triangle where SuperLU keeps two: 15 % less peak at 1e6, the same time)
    definite = sigma < 0 and has_cholesky()
    slice_modes, need = plan_solve(n, n_modes, cholesky=definite)   # before allocating
    lu = None
    try:
        with _blas_single_thread():
            # one run: CHOLMOD's factor, else SuperLU's; slices: CHOLMOD's factor for all
            # of them (locked), else none here (each shifted slice factorises its own)
            if definite or slice_modes is None:
                with stages("factorising"):
                    shifted = K - sigma * M
                    if definite:
                        lu = cholesky(shifted, dissection=dissection)
                    if lu is None and slice_modes is None:   # (no cholespy, not definite)
                        lu = symmetric_lu(shifted, dissection=dissection)
                    del shifted
            if slice_modes is None:
                # fixed start vector: repeated calls give the same eigenvectors
                v0 = np.random.default_rng(0).standard_normal(n)
                with stages("Lanczos"):
                    vals, vecs = lanczos_near(K, M, n_modes, sigma, lu, v0,
                                              note=stages.note)
            else:
                with stages(f"Lanczos in slices of {slice_modes}"):
                    if lu is not None:
                        vals, vecs, _ = locked_eigenpairs(K, M, n_modes, sigma, lu,
                                                          slice_modes=slice_modes,
                                                          note=stages.note)
                    else:
                        vals, vecs, _ = sliced_eigenpairs(
                            K, M, n_modes, sigma,
                            lambda A: symmetric_lu(A, dissection=dissection),
                            slice_modes=slice_modes, note=stages.note)
    except MemoryError as error:       # SuperLU's own is empty ("Can't expand MemType")
        raise MemoryError(memory_advice(n, n_modes, need, available_bytes(),
                                        cholesky=definite)) from error
    return vals, vecs
