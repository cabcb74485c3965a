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

from typing import Any

import logging
from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse
from scipy.sparse import linalg as sla

from ._progress import Stages
from ._validation import check_int
from ._warnings import warn
from ._typing import ArrayLike

__all__ = ["eigenpairs", "spectrum_report", "SpectrumReport", "SpectrumResult"]

logger = logging.getLogger(__name__)

#: below this many points the dense eigensolver is used
DENSE_LIMIT = 600
#: from this many points, more than this many entries per row of L draw a warning that
#: the shift-invert factorisation will be slow
SLOW_SOLVE_POINTS = 20000
SLOW_SOLVE_NNZ_PER_ROW = 80

#: an eigenvalue counts as negative below ``-NEGATIVE_RTOL * max(1, max |Re λ|)``
NEGATIVE_RTOL = 1e-8
#: imaginary parts above ``IMAG_RTOL * max(1, max |Re λ|)`` are reported as large
IMAG_RTOL = 1e-3


@dataclass(frozen=True)
class SpectrumReport:
    """Quality report of a computed eigenvalue window.

    ``str(report)`` gives three short lines meant to be printed under an eigenvalue
    table (the ``o3d-meshless spectrum`` command does so).

    Attributes
    ----------
    n_modes : int
        Number of eigenpairs in the window.
    n_negative : int
        Eigenvalues with real part below ``-tol``, ``tol = 1e-8 * max(1, max |Re λ|)``
        over the window (so the zero eigenvalue of a closed surface, computed as
        ``±1e-12``, is not counted). ``L`` approximates ``−Δ_S``, whose eigenvalues are
        ``≥ 0``: a negative one is a spurious mode, not a mode of the surface; it comes
        from stencils that failed (see ``diagnostics_['failed_mask']``).
    min_real : float
        Smallest real part in the window.
    max_abs_real : float
        Largest ``|Re λ|`` in the window (the scale of the tolerances).
    max_imag : float
        Largest ``|Im λ|`` in the window (``L`` is not symmetric, so eigenvalues may
        come in complex pairs; the real parts are returned).
    orthogonality_defect : float
        ``max |VᵀMV − I|`` over the returned real, M-normalised eigenvectors. The strong
        form is not symmetric, so this is not 0: ~1e-2 between well-separated
        eigenvalues on a good cloud, but up to ~1 inside a cluster of nearly equal
        eigenvalues (e.g. the ``2l+1`` copies of ``l(l+1)`` on a sphere), whose
        eigenvectors may be nearly parallel. A complex pair contributes the real and
        imaginary parts of its eigenvector, M-orthogonal to each other. Informational;
        not part of :attr:`trustworthy`.
    n_zero : int
        Eigenvalues with ``|Re λ| <= tol``: one per connected piece of the points (a scan
        with stray islands has several); their eigenvectors are constant on each piece.
    symmetric : bool
        The window comes from the symmetric weak form (``form="weak"``): real
        eigenvalues, and an orthogonality defect at round-off level (≤ 1e-8).

    See Also
    --------
    spectrum_report, SpectrumResult
    """

    n_modes: int
    n_negative: int
    min_real: float
    max_abs_real: float
    max_imag: float
    orthogonality_defect: float
    n_zero: int = 0
    symmetric: bool = False

    @property
    def negative_tol(self):
        """float: ``1e-8 * max(1, max |Re λ|)``; eigenvalues below ``-negative_tol`` are
        counted as negative (``vals < -report.negative_tol`` marks the spurious modes)."""
        return NEGATIVE_RTOL * max(1.0, self.max_abs_real)

    @property
    def trustworthy(self):
        """bool: no negative eigenvalue and ``max_imag <= 1e-3 * max(1, max |Re λ|)``."""
        return (self.n_negative == 0
                and self.max_imag <= IMAG_RTOL * max(1.0, self.max_abs_real))

    def __str__(self):
        if self.n_negative:
            neg = (f"negative eigenvalues: {self.n_negative} of {self.n_modes} (most negative "
                   f"{self.min_real:.3g}) -- SPURIOUS, not modes of the surface")
        else:
            neg = f"negative eigenvalues: 0 of {self.n_modes}"
        imag = f"largest |imag|: {self.max_imag:.3g}"
        if self.max_imag > IMAG_RTOL * max(1.0, self.max_abs_real):
            imag += " (large: complex pairs; only the real parts are shown)"
        ortho = f"M-orthogonality defect max|V^T M V - I|: {self.orthogonality_defect:.1e}"
        if not self.symmetric:
            ortho += " (L is not symmetric; ~1e-2 typical, up to ~1 in eigenvalue clusters)"
        lines = [neg, imag, ortho]
        if self.n_zero > 1:
            lines.insert(1, f"zero eigenvalues: {self.n_zero} (one per connected piece: the "
                            f"points form {self.n_zero} separate pieces)")
        return "\n".join(lines)


def spectrum_report(vals: ArrayLike, vecs: ArrayLike, M: Any, *,
                    symmetric: bool = False) -> SpectrumReport:
    """Quality report of an eigenvalue window (see :class:`SpectrumReport`).

    Parameters
    ----------
    vals : array_like of shape (m,)
        Eigenvalues, complex (as computed) or real.
    vecs : ndarray of shape (n, m)
        Real eigenvectors as returned (M-normalised).
    M : sparse matrix of shape (n, n) or array_like of shape (n,)
        The mass matrix the eigenvectors are orthonormal in (an array: diagonal areas).
    symmetric : bool, default=False
        The eigenpairs are those of a symmetric pencil (recorded in the report).

    Returns
    -------
    report : SpectrumReport

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from o3d_meshless.spectra import spectrum_report
    >>> r = spectrum_report(np.array([-5.0, 0.0, 2.0]), np.eye(3), sp.eye(3))
    >>> r.n_negative, r.min_real, r.orthogonality_defect, r.trustworthy
    (1, -5.0, 0.0, False)
    """
    vals = np.asarray(vals)
    vecs = np.asarray(vecs)
    real = np.asarray(vals.real, dtype=np.float64)
    n_modes = int(real.size)
    if n_modes == 0:
        return SpectrumReport(0, 0, float("nan"), 0.0, 0.0, 0.0, symmetric=bool(symmetric))
    scale = max(1.0, float(np.abs(real).max()))
    n_negative = int(np.count_nonzero(real < -NEGATIVE_RTOL * scale))
    max_imag = float(np.abs(vals.imag).max()) if np.iscomplexobj(vals) else 0.0
    V = np.real(vecs).astype(np.float64, copy=False)
    gram = V.T @ _times_mass(M, V)
    defect = float(np.abs(gram - np.eye(V.shape[1])).max()) if V.size else 0.0
    n_zero = int(np.count_nonzero(np.abs(real) <= NEGATIVE_RTOL * scale))
    return SpectrumReport(n_modes=n_modes, n_negative=n_negative, min_real=float(real.min()),
                          max_abs_real=float(np.abs(real).max()), max_imag=max_imag,
                          orthogonality_defect=defect, n_zero=n_zero,
                          symmetric=bool(symmetric))


class SpectrumResult(tuple):
    """Eigenpairs with their quality report: a ``(values, vectors)`` pair.

    A tuple of exactly two items, so ``vals, vecs = om.spectrum(...)`` works; the
    same arrays are also ``.values`` and ``.vectors``, and ``.report`` is the
    :class:`SpectrumReport` of the window.

    Parameters
    ----------
    values : ndarray of shape (n_modes,)
        Real parts of the eigenvalues, ascending.
    vectors : ndarray of shape (n, n_modes)
        Real eigenvectors, ``vᵀ M v = 1``.
    report : SpectrumReport

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).normal(size=(2000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> result = om.spectrum(p, n_modes=4)
    >>> vals, vecs = result                       # unpacks like a (vals, vecs) tuple
    >>> vals is result.values, vecs.shape
    (True, (2000, 4))
    >>> result.report.n_negative, result.report.trustworthy
    (0, True)
    >>> print(result.report)                      # doctest: +ELLIPSIS
    negative eigenvalues: 0 of 4
    largest |imag|: ...
    M-orthogonality defect max|V^T M V - I|: ...
    """

    def __new__(cls, values, vectors, report):
        self = super().__new__(cls, (values, vectors))
        self._report = report
        return self

    def __getnewargs__(self):                      # pickling / copying
        return (self[0], self[1], self._report)

    @property
    def values(self):
        """ndarray of shape (n_modes,): eigenvalues (real parts), ascending."""
        return self[0]

    @property
    def vectors(self):
        """ndarray of shape (n, n_modes): eigenvectors, ``vᵀ M v = 1``."""
        return self[1]

    @property
    def report(self):
        """SpectrumReport: negative count, largest imaginary part, orthogonality defect."""
        return self._report

    def __repr__(self):
        return (f"SpectrumResult(values={self[0]!r}, vectors=<array of shape "
                f"{np.shape(self[1])}>, report={self._report!r})")


def _blas_single_thread():
    # Two BLAS threads made a shift-invert solve ~7× slower on a 2-core machine.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                  # pragma: no cover
        from contextlib import nullcontext
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _times_mass(M, V):
    """``M @ V`` for a sparse mass matrix or an array of diagonal areas."""
    if sparse.issparse(M):
        return M @ V
    m = np.asarray(M, dtype=np.float64).ravel()
    return m[:, None] * V if np.ndim(V) == 2 else m * V


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
    vecs = np.array(vecs, dtype=np.float64)
    norms = np.sqrt(np.einsum("ij,ij->j", vecs, _times_mass(M, vecs)))
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
    with _blas_single_thread(), stages("shift-invert eigensolve"):
        # fixed start vector: repeated calls give the same eigenvectors
        v0 = np.random.default_rng(0).standard_normal(n)
        vals, vecs = sla.eigs(L.tocsc(), k=n_modes + extra, sigma=sigma, which="LM", v0=v0)
    return vals, vecs


def _symmetric_eigenpairs(K, M, n_modes, sigma, stages):
    """``K v = λ M v`` for symmetric ``K`` and symmetric positive definite ``M`` (real λ, M-orthonormal
    ``v``): dense ``eigh`` for small problems, else shift-invert Lanczos (ARPACK).

    The shifted matrix ``K − σM`` is factorised once by SuperLU in symmetric mode with a
    minimum-degree ordering of ``Kᵀ + K``: on 1e5 sphere points that LU has 2.4× fewer
    entries than the default column ordering, factorises 2.4× faster and makes the
    50-mode solve 1.6× faster (``benchmarks/bench_spectrum.py``).
    """
    n = K.shape[0]
    if n <= DENSE_LIMIT or n_modes >= n - 2:
        return linalg.eigh(K.toarray(), M.toarray())
    with _blas_single_thread():
        with stages("factorising"):
            lu = sla.splu((K - sigma * M).tocsc(), permc_spec="MMD_AT_PLUS_A",
                          options={"SymmetricMode": True})
        solves = [0]

        def solve(x):                       # each Lanczos step is one solve: count them
            solves[0] += 1
            stages.note(f"{solves[0]} solves")
            return lu.solve(x)

        shifted_inverse = sla.LinearOperator((n, n), matvec=solve, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(n)
        with stages("Lanczos"):
            vals, vecs = sla.eigsh(K, k=n_modes, M=M, sigma=sigma, which="LM", v0=v0,
                                   OPinv=shifted_inverse)
    return vals, vecs
