"""Sparse symmetric solves of the toolkit, with points excluded as outliers decoupled.

Operators fitted with ``outliers="exclude"`` have empty rows and columns for the excluded
points; :func:`factor_symmetric` gives those a unit diagonal so that ``M + tK`` and
similar systems stay non-singular, and the callers set the results there to NaN. Callers
that know their matrix is positive definite (``M + tK``, ``K`` with one point pinned per
piece) get CHOLMOD's Cholesky when cholespy is installed.

:func:`symmetric_lu` with ``dissection=True`` orders the matrix by METIS's nested
dissection first, when the optional ``pymetis`` is installed (``pip install
o3d_meshless[fast]``): on a surface's neighbour graph it leaves less fill than SuperLU's
minimum degree. Measured on the weak form of i.i.d. sphere points, ``K + M/area``, BLAS
on one thread: entries of L + U per row 61 / 68 / 77 against 69 / 81 / 96 at 1e5 / 3e5
/ 1e6 (the LU's memory, 16-20 % less from 3e5 on). Times are noisier: ordering +
factor 4.2 s against 6.6 s at 3e5, 22.6-33.9 s against 32.4-37.7 s at 1e6, solves
within ±10 %; the 50-mode spectrum at 1e6 took 98 s against 116 s (and 132 against 150
s with another process running). Below ``DISSECTION_MIN`` rows the ordering costs about
what it saves, so the spectrum uses it from there on.

:func:`cholesky` factorises a symmetric positive definite matrix as ``LLᵀ`` through
CHOLMOD, from the optional ``cholespy`` (a wheel; ``pip install o3d_meshless[fast]``).
It stores one triangle where SuperLU stores two: on the weak form of 1e6 sphere points,
``K + M/area``, both ordered by nested dissection, the factor's peak is 0.76 GB against
2.31 GB (1e5: 79 against 220 MB). It saves memory, not time: within the 50-mode
spectrum at 1e6 its factor took 22.0 s against SuperLU's 7.6 s and its 220 solves 23 s
against 40 s (``benchmarks/bench_eigensolvers.py``; the guide's weak-form page has the
whole solve). The spectrum's shifted matrix ``K − σM``, with ``σ`` below the spectrum, is
positive definite, so the spectrum uses it when installed.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

__all__ = ["factor_symmetric", "excluded_points", "symmetric_lu", "dissection_order",
           "PermutedLU", "CholeskyFactor", "cholesky", "has_cholesky", "DISSECTION_MIN"]

#: spectra of at least this many rows order their shifted matrix by nested dissection
#: (when pymetis is installed; see the module docstring)
DISSECTION_MIN = 200_000


def factor_symmetric(A, *, definite=False):
    """Factorisation of a symmetric sparse matrix with ``solve(b)``: SuperLU (minimum
    degree on Aᵀ+A, symmetric mode), or with ``definite=True`` (the caller knows ``A`` is
    positive definite, as ``M + tK``) CHOLMOD's Cholesky when cholespy is installed.

    Empty rows and columns (points excluded as outliers) get a unit diagonal, so they
    decouple: the solution there is the right-hand side, and callers set it to NaN."""
    A = sparse.csc_matrix(A)
    empty = np.diff(A.indptr) == 0
    if empty.any():
        A = (A + sparse.diags(empty.astype(np.float64))).tocsc()
    if definite and not np.iscomplexobj(A.data):
        factor = cholesky(A, dissection=A.shape[0] >= DISSECTION_MIN)
        if factor is not None:
            return factor
    return symmetric_lu(A)


def dissection_order(A):
    """METIS nested-dissection ordering of the symmetric pattern of ``A``, or None when
    the optional ``pymetis`` is not installed (or gives no permutation).

    Returns
    -------
    ndarray of shape (n,), intp, or None
        ``A[perm][:, perm]`` is the reordered matrix.
    """
    try:
        import pymetis
    except ImportError:
        return None
    n = A.shape[0]
    G = sparse.csr_matrix(A, copy=True)
    G.data = np.ones_like(G.data, dtype=np.int8)
    G = (G + G.T).tocsr()
    G.setdiag(0)
    G.eliminate_zeros()
    try:
        graph = pymetis.CSRAdjacency(adj_starts=G.indptr, adjacent=G.indices)
        perm = np.asarray(pymetis.nested_dissection(graph)[0], dtype=np.intp)
    except Exception:           # an ordering is an optimisation: never a failure
        return None
    if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
        return None
    return perm


def _inverse_permutation(perm):
    """``inverse`` with ``inverse[perm] = arange(n)``: ``x[perm][inverse] == x``."""
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(len(perm))
    return inverse


class PermutedLU:
    """A SuperLU of ``A[perm][:, perm]`` that solves with ``A`` (``solve`` as SuperLU's)."""

    def __init__(self, lu, perm):
        self.lu, self.perm = lu, perm
        self.inverse = _inverse_permutation(perm)
        self.shape = lu.shape

    def solve(self, b):
        return self.lu.solve(np.asarray(b)[self.perm])[self.inverse]


def symmetric_lu(A, *, dissection=False):
    """SuperLU of a structurally symmetric matrix in symmetric mode: minimum degree on
    ``Aᵀ + A``, or with ``dissection=True`` METIS's nested dissection when available.

    Parameters
    ----------
    A : scipy.sparse matrix of shape (n, n)
    dissection : bool, default=False

    Returns
    -------
    scipy.sparse.linalg.SuperLU or PermutedLU
        Either has ``solve(b)`` for ``b`` of shape (n,) or (n, m).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from o3d_meshless.operators.sparse_solve import symmetric_lu
    >>> A = sparse.diags([-1.0, 2.5, -1.0], [-1, 0, 1], shape=(50, 50)).tocsc()
    >>> b = np.arange(50.0)
    >>> x = symmetric_lu(A, dissection=True).solve(b)
    >>> bool(np.allclose(A @ x, b))
    True
    """
    A = sparse.csc_matrix(A)
    perm = dissection_order(A) if dissection else None
    if perm is None:
        return splu(A, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
    return PermutedLU(splu(A[perm][:, perm].tocsc(), permc_spec="NATURAL",
                           options={"SymmetricMode": True}), perm)


class CholeskyFactor:
    """``A = LLᵀ`` (CHOLMOD through cholespy) of ``A[perm][:, perm]``, solving with ``A``.

    ``solve(b)`` takes ``b`` of shape (n,) or (n, m), as SuperLU's.
    """

    def __init__(self, solver, perm, n):
        self.solver, self.perm, self.shape = solver, perm, (n, n)
        if perm is not None:
            self.inverse = _inverse_permutation(perm)

    def solve(self, b):
        b = np.asarray(b, dtype=np.float64)
        if self.perm is not None:
            b = b[self.perm]
        b = np.ascontiguousarray(b)            # cholespy takes C-ordered float64 only
        x = np.empty_like(b)
        self.solver.solve(b, x)
        return x if self.perm is None else x[self.inverse]


def has_cholesky():
    """Whether the optional ``cholespy`` (CHOLMOD's Cholesky) is installed."""
    try:
        import cholespy
    except ImportError:
        return False
    return cholespy is not None


def cholesky(A, *, dissection=False):
    """Sparse Cholesky ``A = LLᵀ`` of a symmetric positive definite matrix, or None.

    Through the optional ``cholespy`` (CHOLMOD); with ``dissection=True`` the matrix is
    first ordered by METIS's nested dissection (:func:`dissection_order`, when pymetis
    is installed), which leaves less fill than CHOLMOD's own ordering from about 1e5
    rows (1e6 sphere points: 0.76 against 1.10 GB).

    Parameters
    ----------
    A : scipy.sparse matrix of shape (n, n)
        Symmetric (CHOLMOD reads one triangle) and positive definite.
    dissection : bool, default=False

    Returns
    -------
    CholeskyFactor or None
        None when cholespy is not installed, the matrix has more rows than its 32-bit
        indices hold, or it is not positive definite (then CHOLMOD also prints a warning):
        callers fall back to :func:`symmetric_lu`.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from o3d_meshless.operators.sparse_solve import cholesky, has_cholesky
    >>> A = sparse.diags([-1.0, 2.5, -1.0], [-1, 0, 1], shape=(50, 50)).tocsc()
    >>> factor = cholesky(A)
    >>> factor is None or bool(np.allclose(A @ factor.solve(np.ones(50)), 1.0))
    True
    """
    try:
        from cholespy import CholeskySolverD, MatrixType
    except ImportError:
        return None
    A = sparse.csc_matrix(A)
    n = A.shape[0]
    if A.nnz >= np.iinfo(np.int32).max:
        return None
    perm = dissection_order(A) if dissection else None
    if perm is not None:
        A = A[perm][:, perm].tocsc()
    if not A.has_canonical_format:
        # cholespy reads sorted, unique indices only: others give a wrong factor silently
        A = A.copy()
        A.sum_duplicates()
    try:
        solver = CholeskySolverD(n, A.indptr.astype(np.int32), A.indices.astype(np.int32),
                                 np.ascontiguousarray(A.data, dtype=np.float64),
                                 MatrixType.CSC)
    except (ValueError, RuntimeError):          # not positive definite
        return None
    return CholeskyFactor(solver, perm, n)


def excluded_points(op):
    """Input points a fitted operator excluded as outliers (bool mask), or None."""
    mask = op.diagnostics_.get("outlier_mask")
    return mask if mask is not None and mask.any() else None
