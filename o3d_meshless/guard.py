"""Row guard: recompute stencils that fail on irregular samples with larger neighbourhoods.

Collocation Laplacians on irregular (e.g. i.i.d. random) points get spurious
eigenvalues with negative real part from one-sided neighbourhoods. Each row of
``L ≈ −Δ`` must therefore have a positive, dominant centre weight

    L_ii > 0  and  L_ii >= DOMINANCE * sum_{j != i} |L_ij|,

and every design matrix must pass a rank test (σ_min/σ_max ≥ RCOND_MIN in coordinates
scaled to unit radius). A failing row is recomputed with ``GROWTH`` × more neighbours,
up to ``MAX_FACTOR`` × the base ``k``; a row failing the rank test at the largest
neighbourhood is then recomputed at a lower order. Rows that still fail keep their last
stencil and are counted and reported — never hidden, never set to zero.

Rank fallback (method ``"taylor"``): before a rank-deficient row at the largest
neighbourhood is sent to a lower order, it is recomputed with seed 002's rank-revealing
monomial selection (``"orthopoly"``, centre-interpolating: the Taylor fit with the
monomials the neighbourhood cannot support dropped). The fallback stencil is kept when
every requested derivative is representable (finite weights) and the row then passes the
guard; otherwise the row goes on as before. Such rows are marked in ``Stencils.fallback``.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from .stencils import METHODS

__all__ = ["Stencils", "guarded_stencils", "DOMINANCE", "RCOND_MIN", "GROWTH", "MAX_FACTOR"]

logger = logging.getLogger(__name__)

DOMINANCE = 0.25
RCOND_MIN = 1e-6
GROWTH = 1.5
MAX_FACTOR = 3


@dataclass
class Stencils:
    """Variable-length stencils of every point (CSR-like, centre excluded).

    Attributes
    ----------
    indptr : ndarray of shape (n + 1,)
    indices : ndarray of shape (nnz,), intp — neighbour indices
    weights : ndarray of shape (nnz, n_targets)
    k_used, order_used : ndarray of shape (n,)
    diagnostics : ndarray of shape (n, 4) — see ``stencils.DIAGNOSTIC_NAMES``
    failed : ndarray of shape (n,), bool — rows that fail the guard at every attempt
    enlarged : ndarray of shape (n,), bool — rows the guard recomputed
    fallback : ndarray of shape (n,), bool or None — rows whose stencil comes from the
        rank-revealing (orthopoly) fallback; their diagnostics columns 1–2 are NaN
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


def _row_fails(w, diag, status, dominance_target):
    bad = (status != 0) | (diag[:, 0] < RCOND_MIN)
    if dominance_target is not None:
        lw = w[:, :, dominance_target]
        centre = lw.sum(axis=1)                      # L_ii for L ≈ −Δ
        bad |= ~(centre > 0) | (centre < DOMINANCE * np.abs(lw).sum(axis=1))
    else:
        bad |= ~np.isfinite(w.sum(axis=(1, 2)))
    return bad


def guarded_stencils(nb, bases, *, method, order, targets, weight_power=0.0,
                     dominance_target=None, min_order=1, guard=True, bounds=False,
                     n_threads=1, kernel_options=None, fallback=True):
    """Stencils for every point of ``nb`` with the row guard applied.

    Parameters
    ----------
    nb : Neighborhoods
    bases : ndarray of shape (n, d, D) or None
        Local axes (tangent rows of the frames), or ``None`` for ambient coordinates.
    method, order, targets, weight_power, bounds :
        Passed to the stencil kernel.
    dominance_target : int or None
        Index in ``targets`` of the Laplacian, whose rows must be diagonally dominant.
    min_order : int
        Lowest order the rank fallback may use (2 for a Laplacian).
    guard : bool
        ``False`` computes every row once with the base ``k`` and order.
    kernel_options : dict or None
        Extra keyword options of the kernel wrapper (e.g. ``{"centre": ...}`` for
        ``"orthopoly"``).
    fallback : bool
        Method ``"taylor"`` only: try the rank-revealing fallback (module docstring).
    """
    kernel, n_unknowns, _ = METHODS[method]
    n, k0 = nb.indices.shape
    dim = nb.points.shape[1] if bases is None else bases.shape[1]
    k_cap = min(MAX_FACTOR * k0, n - 1)
    chunks = []                     # (rows, neighbours, weights) accepted at each attempt
    k_used = np.full(n, k0)
    order_used = np.full(n, order)
    diagnostics = np.empty((n, 4))
    failed = np.zeros(n, dtype=bool)
    attempts = []
    kernel_options = kernel_options or {}
    use_fallback = fallback and guard and method == "taylor"
    from_fallback = np.zeros(n, dtype=bool)

    todo = np.arange(n, dtype=np.intp)
    k, cur_order = k0, order
    nbrs = nb.indices
    while True:
        w, diag, status = kernel(nb.points, nbrs, todo, bases, order=cur_order,
                                 targets=targets, weight_power=weight_power, bounds=bounds,
                                 n_threads=n_threads, **kernel_options)
        bad = _row_fails(w, diag, status, dominance_target) if guard else np.zeros(len(todo), bool)
        attempts.append({"k": k, "order": cur_order, "rows": len(todo), "failed": int(bad.sum())})
        # what to try next for the failing rows
        next_k = min(int(math.ceil(k * GROWTH)), k_cap)
        rank_bad = bad & ((diag[:, 0] < RCOND_MIN) | (status != 0))
        can_grow = next_k > k
        fb = np.zeros(len(todo), dtype=bool)
        if use_fallback and not can_grow and rank_bad.any():
            fb = _rank_fallback(nb.points, nbrs, todo, bases, rank_bad, w, diag, status, bad,
                                order=cur_order, targets=targets, weight_power=weight_power,
                                dominance_target=dominance_target, n_threads=n_threads)
            rank_bad &= ~fb
            attempts[-1]["fallback"] = int(fb.sum())
        can_lower = (not can_grow) and cur_order - 1 >= min_order and rank_bad.any()
        final = ~bad | (not can_grow and not can_lower)
        if can_lower:
            final = ~bad | ~rank_bad            # only rank failures go to a lower order
        # keep whole arrays plus the mask of accepted rows: copying the bulk of a
        # million-row attempt costs more than the kernel that computed it
        chunks.append((todo, nbrs, w, final))
        rows = todo[final]
        diagnostics[rows] = diag[final]
        k_used[rows] = k
        order_used[rows] = cur_order
        failed[rows] = bad[final]
        from_fallback[rows] = fb[final]
        todo = todo[~final]
        if len(todo) == 0:
            break
        if can_grow:
            k = next_k
        else:
            cur_order -= 1
        if n_unknowns(cur_order, dim) > k:
            k = n_unknowns(cur_order, dim)
        nbrs = nb.query(todo, k, n_threads=n_threads)

    enlarged = (k_used != k0) | (order_used != order)
    indptr = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(k_used, out=indptr[1:])
    if len(chunks) == 1:                         # every row accepted at the base k
        _, nbr_rows, w_rows, _ = chunks[0]
        return Stencils(indptr, nbr_rows.reshape(-1), w_rows.reshape(-1, len(targets)), k_used,
                        order_used, diagnostics, failed, enlarged, attempts, from_fallback)
    indices = np.empty(indptr[-1], dtype=np.intp)
    weights = np.empty((indptr[-1], len(targets)))
    # The first attempt covers every row and most rows keep it: copy the runs of rows
    # between recomputed ones as contiguous slices (boolean or fancy indexing of ~k·n
    # entries costs more than the kernel that computed them).
    _, nbr0, w0, final0 = chunks[0]
    redo = np.flatnonzero(~final0)
    starts = np.concatenate(([0], redo + 1))
    ends = np.concatenate((redo, [n]))
    nbr0 = nbr0.reshape(-1)
    w0 = w0.reshape(-1, len(targets))
    for a, b in zip(starts.tolist(), ends.tolist()):
        if b > a:
            indices[indptr[a]:indptr[b]] = nbr0[a * k0:b * k0]
            weights[indptr[a]:indptr[b]] = w0[a * k0:b * k0]
    for todo, nbr_rows, w_rows, final in chunks[1:]:
        rows = todo[final]
        if len(rows) == 0:
            continue
        kk = nbr_rows.shape[1]
        pos = (indptr[rows][:, None] + np.arange(kk)).ravel()
        indices[pos] = nbr_rows[final].ravel()
        weights[pos] = w_rows[final].reshape(-1, len(targets))
    if enlarged.any():
        logger.info("guard recomputed %d of %d rows (%s)", int(enlarged.sum()), n, attempts)
    return Stencils(indptr, indices, weights, k_used, order_used, diagnostics, failed,
                    enlarged, attempts, from_fallback)


def _rank_fallback(points, nbrs, todo, bases, rank_bad, w, diag, status, bad, *, order,
                   targets, weight_power, dominance_target, n_threads):
    """Recompute rank-deficient rows with the orthopoly selection; update in place.

    Returns the mask (over ``todo``) of rows whose fallback stencil was accepted.
    """
    from .stencils.orthopoly import orthopoly_weights

    idx = np.flatnonzero(rank_bad)
    ow, odiag, ostatus = orthopoly_weights(points, np.ascontiguousarray(nbrs[idx]), todo[idx],
                                           bases, order=order, targets=targets,
                                           weight_power=weight_power, n_threads=n_threads,
                                           centre="interpolate")
    ok = np.isfinite(ow).all(axis=(1, 2)) & ~_row_fails(ow, odiag, ostatus, dominance_target)
    acc = idx[ok]
    w[acc] = ow[ok]
    diag[acc] = odiag[ok]
    diag[acc, 1:3] = np.nan
    status[acc] = 0
    bad[acc] = False
    out = np.zeros(len(todo), dtype=bool)
    out[acc] = True
    return out
