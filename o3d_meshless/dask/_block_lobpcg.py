"""LOBPCG for the pencil ``K v = λ B v`` with every ``n``-row block kept on the workers.

:func:`lobpcg_modes` runs the iteration of Knyazev (2001) on per-part blocks: the vectors
``X``, the preconditioned residuals ``W``, the directions ``P`` and their products with
``K`` and ``B`` stay on the workers as one array per part (a dict per part, the "state").
The client receives the Gram matrices of the basis ``[X, W, P]`` (summed over the parts,
``3m × 3m``) and the residual norms, and sends back the Ritz coefficients (:func:`ritz`).
SciPy's :func:`~scipy.sparse.linalg.lobpcg` needs its blocks in one process, hence this
module; the pencil (products, preconditioner) is
:class:`~o3d_meshless.dask._spectrum.DistributedPencil`.
"""
from __future__ import annotations

import logging
import operator

import numpy as np

logger = logging.getLogger(__name__)

#: basis directions whose Gram eigenvalue (after diagonal scaling) is below this fraction
#: of the largest are dropped from the Rayleigh–Ritz step (:func:`ritz`)
RANK_TOL = 1e-12


def _first_state(X, KX, BX):
    return {"X": X, "KX": KX, "BX": BX}


def _residual_sums(state, theta):
    """Per column: ``|K x − θ B x|²`` and ``|B x|²`` over a part's rows."""
    R = state["KX"] - state["BX"] * theta
    return np.einsum("ij,ij->j", R, R), np.einsum("ij,ij->j", state["BX"], state["BX"])


def _basis(state, W, KW, BW):
    """The Rayleigh–Ritz basis ``[X, W, P]`` and its products on a part's rows, as lists
    of blocks (never stacked: a stacked copy would be three more blocks per row)."""
    S, KS, BS = [state["X"], W], [state["KX"], KW], [state["BX"], BW]
    if "P" in state:
        S, KS, BS = S + [state["P"]], KS + [state["KP"]], BS + [state["BP"]]
    return S, KS, BS


def _gram(S, AS):
    """``Sᵀ (A S)`` from lists of blocks."""
    return np.block([[a.T @ b for b in AS] for a in S])


def _grams(state, W=None, KW=None, BW=None):
    """A part's share of ``Sᵀ K S`` and ``Sᵀ B S``."""
    if W is None:
        S, KS, BS = [state["X"]], [state["KX"]], [state["BX"]]
    else:
        S, KS, BS = _basis(state, W, KW, BW)
    return _gram(S, KS), _gram(S, BS)


def _combined(blocks, C):
    """``[B_1, B_2, …] @ C`` without stacking the blocks."""
    out, row = None, 0
    for b in blocks:
        part = b @ C[row:row + b.shape[1]]
        out = part if out is None else out + part
        row += b.shape[1]
    return out


def _updated(state, W, KW, BW, C):
    """The new ``X`` (``S C``) and ``P`` (its part outside the old ``X``), with their
    products, on a part's rows."""
    m = state["X"].shape[1]
    if W is None:
        return {"X": state["X"] @ C, "KX": state["KX"] @ C, "BX": state["BX"] @ C}
    S, KS, BS = _basis(state, W, KW, BW)
    out = {}
    for x, p, blocks in (("X", "P", S), ("KX", "KP", KS), ("BX", "BP", BS)):
        out[p] = _combined(blocks[1:], C[m:])
        out[x] = blocks[0] @ C[:m] + out[p]
    return out


def ritz(gram_k, gram_b, m):
    """The ``m`` smallest Ritz pairs of the pencil's Gram matrices ``(G_K, G_B)``.

    ``G_B`` is reduced by its eigen-decomposition after a diagonal scaling, dropping
    directions below ``RANK_TOL`` of its largest eigenvalue: near-dependent basis
    vectors (converged columns, a stale ``P``) are left out instead of breaking a
    Cholesky factor. Returns ``(θ (m,), C (s, m))`` with ``Cᵀ G_B C = I``.
    """
    d = np.sqrt(np.abs(np.diag(gram_b)))
    d = np.where(d > 0, d, 1.0)
    gk = gram_k / d[:, None] / d[None, :]
    gb = gram_b / d[:, None] / d[None, :]
    w, V = np.linalg.eigh(0.5 * (gb + gb.T))
    keep = w > RANK_TOL * w[-1]
    if keep.sum() < m:
        raise np.linalg.LinAlgError("the LOBPCG basis lost rank")
    Z = V[:, keep] / np.sqrt(w[keep])
    A = Z.T @ gk @ Z
    theta, Y = np.linalg.eigh(0.5 * (A + A.T))
    return theta[:m], (Z @ Y[:, :m]) / d[:, None]


def lobpcg_modes(pencil, blocks, n_modes, sigma, *, rtol, max_iter, stages=None):
    """Refine per-part start blocks into the ``n_modes`` smallest eigenpairs of ``(K, B)``.

    LOBPCG (Knyazev 2001) in which every ``n``-row block — the vectors ``X``, the
    preconditioned residuals ``W``, the directions ``P`` and their products with ``K``
    and ``B`` — stays on the workers as one array per part. The client receives only
    the Gram matrices of the basis ``[X, W, P]`` (summed over the parts, ``3m × 3m``) and
    the residual norms, and sends back the Ritz coefficients. A column whose residual is
    below ``rtol / 2`` is no longer refined (soft locking: it stays in the basis).

    ``blocks``: per part, Delayed ``(owned rows, m)`` start vectors in the order of its
    ``owned_ids``. Returns ``(values, blocks, iterations, residuals)``: the wanted
    eigenvalues, per-part Delayed blocks of the ``m`` vectors (the first ``n_modes``
    wanted), and the wanted modes' relative residuals ``|K x − λ B x| / (λ_top |B x|)``.
    """
    import dask

    halo = pencil.halo
    tasks = halo.times(blocks)
    state = list(dask.persist(*[dask.delayed(_first_state)(X, kb[0], kb[1])
                                for X, kb in zip(blocks, tasks)]))
    grams = pencil.compute([dask.delayed(_grams)(st) for st in state])
    theta, C = ritz(sum(g[0] for g in grams), sum(g[1] for g in grams),
                     grams[0][0].shape[0])
    state = list(dask.persist(*[dask.delayed(_updated)(st, None, None, None, C)
                                for st in state]))
    m = len(theta)
    done, res = 0, np.full(n_modes, np.inf)
    while True:
        sums = pencil.compute([dask.delayed(_residual_sums)(st, theta) for st in state])
        r2 = sum(s[0] for s in sums)
        b2 = sum(s[1] for s in sums)
        scale = max(abs(theta[n_modes - 1]), np.finfo(float).tiny)
        rel = np.sqrt(r2) / (scale * np.maximum(np.sqrt(b2), np.finfo(float).tiny))
        res = rel[:n_modes]
        logger.info("distributed spectrum: %d iterations, largest residual %.2e", done,
                    res.max())
        if stages is not None:
            stages.note(f"{done} iterations, residual {res.max():.1e}")
        if res.max() <= rtol or done >= max_iter:
            break
        active = np.flatnonzero(rel > 0.5 * rtol)
        W = list(dask.persist(*pencil.preconditioned(state, sigma, theta, active)))
        KW, BW = zip(*halo.times(W))
        KW, BW = dask.persist(list(KW), list(BW))
        grams = pencil.compute([dask.delayed(_grams)(st, w, kw, bw)
                                for st, w, kw, bw in zip(state, W, KW, BW)])
        gk, gb = sum(g[0] for g in grams), sum(g[1] for g in grams)
        try:
            theta, C = ritz(gk, gb, m)
        except np.linalg.LinAlgError:
            # the directions P made the basis degenerate: restart without them. The
            # basis is [X, W, P], so the Gram of [X, W] is its leading block
            state = list(dask.persist(*[dask.delayed(_without_directions)(st)
                                        for st in state]))
            s = m + len(active)
            theta, C = ritz(gk[:s, :s], gb[:s, :s], m)
        state = list(dask.persist(*[dask.delayed(_updated)(st, w, kw, bw, C)
                                    for st, w, kw, bw in zip(state, W, KW, BW)]))
        done += 1
    X = [dask.delayed(operator.getitem)(st, "X") for st in state]
    return theta[:n_modes], list(dask.persist(*X)), done, res


def _without_directions(state):
    return {key: state[key] for key in ("X", "KX", "BX")}
