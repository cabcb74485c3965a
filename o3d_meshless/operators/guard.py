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

Rank fallback (methods whose spec sets ``rank_fallback``, i.e. Taylor): before a
rank-deficient row at the largest neighbourhood is sent to a lower order, it is
recomputed with Carley's rank-revealing monomial selection (the orthogonal-polynomial
kernel, centre-interpolating: the Taylor fit with the
monomials the neighbourhood cannot support dropped). The fallback stencil is kept when
every requested derivative is representable (finite weights) and the row then passes the
guard; otherwise the row goes on as before. Such rows are marked in ``Stencils.fallback``.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from ..sampling.boundary import largest_gap
from ..stencils import get_method
from ..stencils import orthopoly as _orthopoly
from ..stencils.rows import Stencils

__all__ = ["Stencils", "guarded_stencils", "repair_laplacian_rows", "noise_amplification",
           "highest_complete_stencils",
           "DOMINANCE", "RCOND_MIN", "GROWTH", "MAX_FACTOR", "MAX_AMPLIFICATION"]

logger = logging.getLogger(__name__)

DOMINANCE = 0.25
RCOND_MIN = 1e-6
GROWTH = 1.5
MAX_FACTOR = 3
#: gradient rows whose weights amplify noise more than this (see noise_amplification)
#: are recomputed: measured medians are 2 (order 1), 2–3 (order 2) and 5–7 (order 3)
MAX_AMPLIFICATION = 10.0
#: Laplacian rows with L_ii · (mean squared neighbour distance) above this are exploded
#: fits (see _exploded)
MAX_DIAGONAL = 1e3


#: rows per block of the guard's row tests
CHUNK_ROWS = 1 << 15


def _not_dominant(lw):
    """Rows of Δ weights ``lw`` (m, k) whose ``L_ii`` is not positive and dominant."""
    centre = lw.sum(axis=1)                          # L_ii for L ≈ −Δ
    absolute = np.empty(len(lw))
    buf = np.empty((min(len(lw), CHUNK_ROWS), lw.shape[1]))
    for a in range(0, len(lw), CHUNK_ROWS):          # no (m, k) temporary: at 1e6 rows
        rows = lw[a:a + CHUNK_ROWS]                  # its page faults cost more than the sums
        part = np.abs(rows, out=buf[:len(rows)])
        part.sum(axis=1, out=absolute[a:a + len(rows)])
    return ~(centre > 0) | (centre < DOMINANCE * absolute)


def _row_fails(w, diag, status, dominance_target):
    bad = (status != 0) | (diag[:, 0] < RCOND_MIN)
    if dominance_target is not None:
        bad |= _not_dominant(w[:, :, dominance_target])
    else:
        bad |= ~np.isfinite(w.sum(axis=(1, 2)))
    return bad


def guarded_stencils(nb, bases, *, method, order, targets, weight_power=0.0,
                     dominance_target=None, min_order=1, guard=True, bounds=False,
                     n_threads=1, kernel_options=None, fallback=True, max_amplification=None):
    """Stencils for every point of ``nb`` with the row guard applied.

    Parameters
    ----------
    nb : Neighborhoods
    bases : ndarray of shape (n, d, D) or None
        Local axes (tangent rows of the frames), or ``None`` for ambient coordinates.
    method : str or MethodSpec
        A registered stencil method.
    order, targets, weight_power, bounds :
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
        Methods whose spec has ``rank_fallback``: try the rank-revealing fallback (module
        docstring).
    max_amplification : float or None
        Also fail rows whose first-derivative weights amplify noise more than this:
        ``r · Σ_j |w_j| > max_amplification`` for some first derivative, with ``r`` the
        RMS neighbour distance (a symmetric order-1 stencil has 1–2). Such rows are
        enlarged, then lowered in order like rank failures.
    """
    spec = get_method(method)
    kernel, n_unknowns = spec.kernel, spec.n_unknowns
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
    use_fallback = fallback and guard and spec.rank_fallback
    from_fallback = np.zeros(n, dtype=bool)

    todo = np.arange(n, dtype=np.intp)
    k, cur_order = k0, order
    nbrs = nb.indices
    while True:
        w, diag, status = kernel(nb.points, nbrs, todo, bases, order=cur_order,
                                 targets=targets, weight_power=weight_power, bounds=bounds,
                                 n_threads=n_threads, **kernel_options)
        bad = _row_fails(w, diag, status, dominance_target) if guard else np.zeros(len(todo), bool)
        amp_bad = np.zeros(len(todo), dtype=bool)
        # the first pass uses the base neighbourhoods: their spread came with the k-NN query
        known = nb.mean_sq if nbrs is nb.indices and len(todo) == n else None
        if guard and max_amplification is not None:
            amp_bad = noise_amplification(nb.points, nbrs, todo, w, targets,
                                          known=known) > max_amplification
            bad |= amp_bad
        if guard and dominance_target is not None:     # an exploded fit passes dominance
            amp_bad |= _exploded(nb.points, nbrs, todo, w[:, :, dominance_target], known=known)
            bad |= amp_bad
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
        lowerable = rank_bad | amp_bad
        can_lower = (not can_grow) and cur_order - 1 >= min_order and lowerable.any()
        final = ~bad | (not can_grow and not can_lower)
        if can_lower:
            final = ~bad | ~lowerable           # only rank and amplification failures
                                                # go to a lower order
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
    # 32-bit neighbour indices where they fit: this array is the size of L again and
    # is alive while L is assembled (peak memory)
    indices = np.empty(indptr[-1], dtype=np.int32 if len(nb.points) < 2**31 else np.intp)
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


def _exploded(points, neighbors, centers, lw, known=None):
    """Laplacian rows whose centre weight, times the mean squared neighbour distance,
    exceeds ``MAX_DIAGONAL``: an exploded fit (measured at most 60 on the real inputs,
    median 3.4; rank fallbacks had reached 1e19 and passed the dominance test)."""
    msd = _mean_square_distance(points, neighbors, centers, known=known)
    return ~(np.abs(lw.sum(axis=1)) * msd <= MAX_DIAGONAL)


def _mean_square_distance(points, neighbors, centers, chunk=1 << 16, known=None):
    """Mean squared distance from each centre to its neighbours, ``(m,)``, in chunks (an
    (m, k, 3) offset array for a million rows would take hundreds of MB); ``known`` is
    the same, already at hand (the k-NN query's distances)."""
    if known is not None:
        return known
    out = np.empty(len(centers))
    for a in range(0, len(centers), chunk):
        off = points[neighbors[a:a + chunk]] - points[centers[a:a + chunk]][:, None, :]
        out[a:a + chunk] = np.einsum("mkc,mkc->m", off, off) / neighbors.shape[1]
    return out


def noise_amplification(points, neighbors, centers, w, targets, known=None):
    """``r · max_α Σ_j |w_j^α|`` over the first-derivative targets ``α`` of each row.

    Noise of size σ on the values gives gradient errors up to σ times this over ``r`` (the
    RMS neighbour distance): eight symmetric neighbours give 1.2, an order-3 fit on
    a one-sided or noisy neighbourhood can have hundreds. Measured medians with k = 16:
    about 2 (order 1 and 2) and 5–7 (order 3).
    """
    first = [i for i, t in enumerate(targets) if isinstance(t, tuple) and sum(t) == 1]
    if not first:
        return np.zeros(len(centers))
    r = np.sqrt(_mean_square_distance(points, neighbors, centers, known=known))
    return r * np.abs(w[:, :, first]).sum(axis=1).max(axis=1)


def _rank_fallback(points, nbrs, todo, bases, rank_bad, w, diag, status, bad, *, order,
                   targets, weight_power, dominance_target, n_threads):
    """Recompute rank-deficient rows with the orthopoly selection; update in place.

    Returns the mask (over ``todo``) of rows whose fallback stencil was accepted.
    """
    idx = np.flatnonzero(rank_bad)
    ow, odiag, ostatus = _orthopoly.orthopoly_weights(
        points, np.ascontiguousarray(nbrs[idx]), todo[idx], bases, order=order,
        targets=targets, weight_power=weight_power, n_threads=n_threads, centre="interpolate")
    ok = np.isfinite(ow).all(axis=(1, 2)) & ~_row_fails(ow, odiag, ostatus, dominance_target)
    if dominance_target is not None:     # the same acceptance test as every other row
        ok &= ~_exploded(points, nbrs[idx], todo[idx], ow[:, :, dominance_target])
    acc = idx[ok]
    w[acc] = ow[ok]
    diag[acc] = odiag[ok]
    diag[acc, 1:3] = np.nan
    status[acc] = 0
    bad[acc] = False
    out = np.zeros(len(todo), dtype=bool)
    out[acc] = True
    return out


def repair_laplacian_rows(st, points, bases, *, target, k, boundary=None, conormals=None,
                          find_boundary=True):
    """Make every Laplacian row safe: Neumann rows on the boundary, M-matrix rows elsewhere.

    Called after :func:`guarded_stencils` on Laplacian stencils; edits ``st`` in place.

    1. Boundary rows (``boundary``) get the Neumann-constrained fit
       (:mod:`o3d_meshless.stencils.neumann`) over their ``k`` nearest neighbours.
    2. Every row that still fails (rank or diagonal dominance: the guard's failures and
       failing Neumann rows) gets nonnegative weights
       (:mod:`o3d_meshless.stencils.positive`, the Neumann variant on the boundary), so no
       row keeps ``L_ii <= 0``.
    3. A replaced interior row that is still not consistent is one-sided (a boundary
       point the gap test missed, or a thin part of a coarse closed sampling seen from a
       wrong normal): it is retried with the Neumann moments, the conormal bisecting its
       empty sector, and kept so when that is consistent. (Leaving such rows
       inconsistent was measured worse: on the cows used as clouds, modes 1–30 move
       45 % from FEM instead of 13 %.) They stay out of ``st.boundary``.
    4. ``st.positive`` marks the replaced rows; ``st.failed`` keeps only those whose
       nonnegative stencil is not consistent either (not exact on linear functions, or
       off by over half on quadratics: a neighbourhood on one side of an interior point,
       or one that sees no curvature along some direction). Such a row is safe for the
       spectrum but wrong pointwise.

    Parameters
    ----------
    st : Stencils
        Rows whose neighbour lists start with the ``k`` nearest (as the guard makes them).
    points : ndarray of shape (n, 3)
    bases : ndarray of shape (n, 2, 3)
        Tangent axes.
    target : int
        Column of ``st.weights`` holding the Δ weights.
    k : int
        Neighbours used by the repaired rows.
    boundary : ndarray of shape (n,), bool, or None
    conormals : ndarray of shape (n, 2) or None
        Outward conormals of boundary points (tangent coordinates).
    find_boundary : bool
        Step 3 (``False`` when the boundary is known exactly, e.g. from a mesh's edges).
    """
    from ..stencils.neumann import neumann_laplacian_weights

    n = len(st.indptr) - 1
    boundary = np.zeros(n, dtype=bool) if boundary is None else np.array(boundary, bool)

    def first(rows):
        """Positions in ``st`` of the ``k`` nearest neighbours of ``rows``."""
        return st.indptr[rows, None] + np.arange(k)

    def neighbours(rows):                    # the kernels take intp (st.indices may be int32)
        return st.indices[first(rows)].astype(np.intp, copy=False)

    def install(rows, w):
        lengths = np.diff(st.indptr)[rows]
        starts = np.repeat(st.indptr[rows] - np.cumsum(lengths) + lengths, lengths)
        st.weights[starts + np.arange(lengths.sum()), target] = 0.0     # the whole rows
        st.weights[first(rows).ravel(), target] = w.ravel()

    todo = st.failed & ~boundary
    rows_b = np.flatnonzero(boundary)
    if len(rows_b):
        w, rcond = neumann_laplacian_weights(points, rows_b, neighbours(rows_b), bases,
                                             conormals[rows_b])
        bad = _not_dominant(w) | (rcond < RCOND_MIN) | ~np.isfinite(w).all(axis=1)
        install(rows_b[~bad], w[~bad])
        todo[rows_b[bad]] = True
    rows = np.flatnonzero(todo)
    failed = np.zeros(n, dtype=bool)
    if len(rows):
        cn = np.zeros((n, 2)) if conormals is None else np.where(boundary[:, None], conormals, 0)
        w, bad = _positive_rows(points, rows, neighbours(rows), bases, cn[rows])
        # an inconsistent interior row is one-sided: a boundary point the gap test missed
        # (or a corner); retry it as one, its conormal bisecting the empty sector
        retry = bad & ~boundary[rows] & find_boundary
        if retry.any():
            _, bisector = largest_gap(points, rows[retry], neighbours(rows[retry]),
                                       bases)
            w2, bad2 = _positive_rows(points, rows[retry], neighbours(rows[retry]),
                                      bases, bisector)
            fixed = ~bad2
            idx = np.flatnonzero(retry)[fixed]
            w[idx], bad[idx] = w2[fixed], False
        install(rows, w)
        failed[rows] = bad
        logger.info("%d Laplacian rows replaced by nonnegative stencils (%d of them not "
                    "consistent)", len(rows), int(bad.sum()))
    st.positive = todo
    st.boundary = boundary
    st.failed = failed
    return st


def _positive_rows(points, rows, neighbors, bases, conormals):
    """Nonnegative Δ weights of ``rows`` and the mask of those that are not consistent."""
    from ..stencils.positive import LINEAR_RTOL, QUADRATIC_RTOL, positive_laplacian_weights

    w, residual = positive_laplacian_weights(points, rows, neighbors, bases,
                                             conormals=conormals)
    return w, (residual[:, 0] > LINEAR_RTOL) | (residual[:, 1] > QUADRATIC_RTOL)


def highest_complete_stencils(nb, bases, *, targets, weight_power=-1.0, centre="interpolate",
                              rtol=None, max_order=4, n_threads=1):
    """Per-point highest complete order on the base neighbourhoods (Carley's advice).

    Every row is fitted at ``max_order``; a row whose basis is complete only to
    ``c < max_order`` is refitted with the candidates of degree ≤ ``c`` (so no incomplete
    higher-degree monomial leaks into the fit). Targets of degree > ``c`` get NaN weights;
    rows with ``c < 1`` are all NaN and flagged ``failed``. Diagnostics columns 1–2 keep
    the complete order and rejected bitmask of the ``max_order`` selection. Returns a
    :class:`~o3d_meshless.stencils.rows.Stencils` (``order_used`` = ``c``; diagnostics
    columns: rcond, complete order, rejected bitmask, rank). A selection policy over the
    ``"orthopoly"`` method (Carley's advice), so it lives with the guard.
    """
    rtol = _orthopoly.RTOL if rtol is None else rtol
    n, k = nb.indices.shape
    rows = np.arange(n, dtype=np.intp)
    w, diag, _ = _orthopoly.orthopoly_weights(nb.points, nb.indices, rows, bases,
                                              order=max_order, targets=targets,
                                              weight_power=weight_power, n_threads=n_threads,
                                              centre=centre, rtol=rtol)
    comp = diag[:, 1].astype(int)
    mask = diag[:, 2].copy()
    order_used = np.clip(comp, 0, max_order)
    for c in range(1, max_order):
        sel = np.flatnonzero(comp == c)
        if len(sel):
            w[sel], diag[sel], _ = _orthopoly.orthopoly_weights(
                nb.points, np.ascontiguousarray(nb.indices[sel]), sel, bases, order=c,
                targets=targets, weight_power=weight_power, n_threads=n_threads,
                centre=centre, rtol=rtol)
    diag[:, 1] = comp                # keep the max-order selection: what was rejected
    diag[:, 2] = mask
    failed = comp < 1
    indptr = np.arange(n + 1, dtype=np.intp) * k
    return Stencils(indptr, nb.indices.reshape(-1), w.reshape(-1, len(targets)),
                    np.full(n, k), order_used, diag, failed, order_used != max_order,
                    [{"k": k, "order": "highest-complete", "rows": n,
                      "failed": int(failed.sum())}], np.zeros(n, dtype=bool))
