"""Sparse symmetric solves of the toolkit, with points excluded as outliers decoupled.

Operators fitted with ``outliers="exclude"`` have empty rows and columns for the excluded
points; :func:`factor_symmetric` gives those a unit diagonal so that ``M + tK`` and
similar systems stay non-singular, and the callers set the results there to NaN.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import splu

__all__ = ["factor_symmetric", "excluded_points"]


def factor_symmetric(A):
    """SuperLU of a symmetric sparse matrix (minimum degree on Aᵀ+A, symmetric mode).

    Empty rows and columns (points excluded as outliers) get a unit diagonal, so they
    decouple: the solution there is the right-hand side, and callers set it to NaN."""
    A = sparse.csc_matrix(A)
    empty = np.diff(A.indptr) == 0
    if empty.any():
        A = (A + sparse.diags(empty.astype(np.float64))).tocsc()
    return splu(A, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})


def excluded_points(op):
    """Input points a fitted operator excluded as outliers (bool mask), or None."""
    mask = op.diagnostics_.get("outlier_mask")
    return mask if mask is not None and mask.any() else None
