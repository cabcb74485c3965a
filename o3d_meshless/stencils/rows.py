"""Variable-length stencil rows: what the guard builds and assembly turns into matrices.

The result type of the stencil layer, in a module of its own so that the guard (policy),
the methods and assembly can all import it without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Stencils"]


@dataclass
class Stencils:
    """Variable-length stencils of every point (CSR-like, centre excluded).

    Attributes
    ----------
    indptr : ndarray of shape (n + 1,)
    indices : ndarray of shape (nnz,), intp or int32 — neighbour indices
    weights : ndarray of shape (nnz, n_targets)
    k_used, order_used : ndarray of shape (n,)
    diagnostics : ndarray of shape (n, 4) — see ``stencils.DIAGNOSTIC_NAMES``
    failed : ndarray of shape (n,), bool — rows that fail the guard at every attempt; for
        Laplacian rows after :func:`repair_laplacian_rows`, only those whose nonnegative
        replacement is not consistent either
    enlarged : ndarray of shape (n,), bool — rows the guard recomputed
    fallback : ndarray of shape (n,), bool or None — rows whose stencil comes from the
        rank-revealing (orthopoly) fallback; their diagnostics columns 1–2 are NaN
    positive : ndarray of shape (n,), bool or None — Laplacian rows replaced by
        nonnegative stencils (:func:`repair_laplacian_rows`)
    boundary : ndarray of shape (n,), bool or None — rows built for the Neumann
        condition at an open boundary
    """

    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    k_used: np.ndarray
    order_used: np.ndarray
    diagnostics: np.ndarray
    failed: np.ndarray
    enlarged: np.ndarray
    attempts: list = field(default_factory=list)
    fallback: np.ndarray = None
    positive: np.ndarray = None
    boundary: np.ndarray = None
