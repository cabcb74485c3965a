"""The distributed spectrum of the weak form: LOBPCG on the pencil ``K v = λ B v`` with the
matrix rows kept on the workers.

Shift-invert (what :func:`o3d_meshless.spectrum` does on one machine) needs one global
factorisation, which a cluster does not have. Here only matrix products and part-local
solves run on the workers:

* **start**: the modes of a coarse subsample of the cloud (a strided sample, solved on the
  client with the single-machine weak form), carried to every point by inverse-distance
  weights of the 4 nearest sample points, part by part;
* **refinement**: LOBPCG (:func:`lobpcg_modes`) on ``n_modes`` plus a buffer of vectors
  (without the buffer, a cluster of equal eigenvalues cut by the window's edge converges
  slowly or breaks down). Every ``n``-row block stays on the workers as one array per
  part: the products with ``K`` and ``B`` fetch only the halo rows each part needs from
  its neighbours (:mod:`o3d_meshless.dask._halo`), and the client gets the Gram matrices
  of the basis and the residual norms. SciPy's :func:`~scipy.sparse.linalg.lobpcg` needs
  the blocks in one process, so the iteration is written here around SciPy's dense
  eigensolver;
* **preconditioner**: block Jacobi, each part solving with its own rows and columns of
  ``K + σ B`` (``σ`` the coarse first nonzero eigenvalue: scale-free; CHOLMOD's Cholesky
  when cholespy is installed, else SuperLU); the factor is made once per part on the
  worker that first needs it and kept there for the solve;
* **symmetry**: where two parts disagree on an entry (ties in neighbour distance, e.g.
  a mirror-symmetric mesh, can give a part another equidistant neighbour: see
  :mod:`o3d_meshless.dask`), the assembled rows are not exactly symmetric and LOBPCG
  stalls; a probe ``|A x − Aᵀ x|`` finds it and the products then use ``(A + Aᵀ)/2``
  (cow.off in 4 parts: asymmetry 2e-4, residual stuck at 1e-4 without it);
* **stop**: every wanted mode's residual ``|K x − λ B x|`` below ``rtol`` times
  ``λ_max |B x|`` (``λ_max`` the largest wanted eigenvalue), checked at every iteration
  (the norms are a reduction over the parts).

Memory: each worker keeps its parts' rows of ``K`` and ``B``, one sparse factor per part,
and nine blocks of ``owned rows × (n_modes + buffer)`` floats (``X``, ``W``, ``P`` and
their products). The client keeps ``3m × 3m`` Gram matrices and, with
``vectors="numpy"``, the ``n × n_modes`` result (and the parts' owned ids to place it).
"""
from __future__ import annotations

import logging
import operator
import uuid
import warnings

import numpy as np
from scipy.spatial import cKDTree

from ._halo import HaloProducts

logger = logging.getLogger(__name__)

#: above this relative asymmetry of the assembled rows the products are symmetrised
ASYMMETRY_TOL = 1e-12
#: basis directions whose Gram eigenvalue (after diagonal scaling) is below this fraction
#: of the largest are dropped from the Rayleigh–Ritz step (:func:`ritz`)
RANK_TOL = 1e-12
#: extra vectors beyond n_modes: at least this many, or half of n_modes
MIN_BUFFER = 8
#: nearest coarse points whose modes are averaged into a point's start vector
PROLONG_NEIGHBOURS = 4
#: part-local factors kept per worker process (oldest dropped first)
MAX_FACTORS = 256

_FACTORS: dict = {}


def _owned_ids(op):
    return op["owned_ids"]


def _random_block(op, seed, part, columns):
    rng = np.random.default_rng([seed, part])
    return rng.standard_normal((len(op["owned_ids"]), columns))


def _difference_norms(ax, half):
    """``|A x − (A x + Aᵀ x)/2|²`` and ``|A x|²`` over a part's rows."""
    return float(np.sum((ax - half) ** 2)), float(np.sum(ax ** 2))


def _own_block(op, which):
    """The part's rows of ``K`` or ``B`` restricted to its own columns: square."""
    from scipy import sparse

    owned, cols = op["owned_ids"], op[which + "_ids"]
    pos = np.minimum(np.searchsorted(owned, cols), len(owned) - 1)
    where = np.where(owned[pos] == cols, pos, -1)       # column → own row, or -1
    A = op[which].tocoo()
    keep = where[A.col] >= 0
    return sparse.csc_matrix((A.data[keep], (A.row[keep], where[A.col[keep]])),
                             shape=(len(owned), len(owned)))


def _block_factor(op, sigma):
    from ..operators.sparse_solve import factor_symmetric

    # σ > 0 and K positive semidefinite: the part's block is positive definite, so
    # CHOLMOD's Cholesky when cholespy is installed (a third of SuperLU's memory at 1e6
    # rows, block solves 54 against 214 ms per vector), else SuperLU
    A = _own_block(op, "K") + sigma * _own_block(op, "B")
    return factor_symmetric(((A + A.T) * 0.5).tocsc(), definite=True)


def _precondition(op, token, part, sigma, R_owned):
    key = (token, part)
    f = _FACTORS.get(key)
    if f is None:
        f = _block_factor(op, sigma)
        while len(_FACTORS) >= MAX_FACTORS:
            _FACTORS.pop(next(iter(_FACTORS)))
        _FACTORS[key] = f
    return f.solve(np.ascontiguousarray(R_owned))


def _forget(token):
    for key in [k for k in _FACTORS if k[0] == token]:
        del _FACTORS[key]


def _prolonged(part, coarse_points, coarse_vectors, m):
    """Start vectors on a part's owned points (in the order of its ``owned_ids``) from
    the coarse modes."""
    s, owned = part["sampling"], part["owned"]
    xyz = s.points[owned]
    d, j = cKDTree(coarse_points).query(xyz, min(m, len(coarse_points)))
    d, j = d.reshape(len(xyz), -1), j.reshape(len(xyz), -1)
    d2 = d * d
    exact = d2[:, 0] == 0                     # a sample point itself (or a copy of it)
    w = 1.0 / np.where(d2 > 0, d2, 1.0)
    w[exact] = 0.0
    w[exact, 0] = 1.0
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkm->nm", w, coarse_vectors[j])


class DistributedPencil:
    """The pencil ``(K, B)`` on persisted parts: products with blocks kept on the workers
    (:class:`~o3d_meshless.dask._halo.HaloProducts`) and the block-Jacobi solve.
    ``candidates``: per part, the parts that may own some of its columns."""

    def __init__(self, parts, n, candidates=None):
        self.parts, self.n = parts, n
        self.halo = HaloProducts(parts, candidates)
        self.token = uuid.uuid4().hex
        self._owned = None

    @property
    def owned(self):
        """Per part, the input ids of its rows (fetched here only when an ``(n, c)``
        array is scattered or gathered)."""
        import dask

        if self._owned is None:
            self._owned = list(self.compute([dask.delayed(_owned_ids)(op)
                                             for op in self.parts]))
        return self._owned

    def random_blocks(self, seed, columns=1):
        """Per-part blocks of standard normal values, made on the workers."""
        import dask

        return list(dask.persist(*[dask.delayed(_random_block)(op, seed, p, columns)
                                   for p, op in enumerate(self.parts)]))

    @property
    def symmetrise(self):
        """Matrices (``"K"``, ``"B"``) whose products use ``(A + Aᵀ)/2``: rows from parts
        that disagree (see :meth:`asymmetry`)."""
        return self.halo.symmetrise

    @symmetrise.setter
    def symmetrise(self, names):
        self.halo.symmetrise = set(names)

    @staticmethod
    def compute(tasks):
        import dask

        with warnings.catch_warnings():      # small arrays travel in the graph on purpose
            warnings.filterwarnings("ignore", message=".*[Ll]arge (object|graph).*")
            return dask.compute(*tasks)

    def blocks(self, X):
        """Per-part Delayed blocks of an ``(n, c)`` array held here."""
        import dask

        X = np.asarray(X, dtype=np.float64).reshape(self.n, -1)
        # unique names: two persists of equal data must not share (and release) a key
        with warnings.catch_warnings():      # the array travels in the graph on purpose
            warnings.filterwarnings("ignore", message=".*[Ll]arge (object|graph).*")
            return list(dask.persist(*[dask.delayed(np.ascontiguousarray(X[own]),
                                                    name=f"block-{uuid.uuid4().hex}")
                                       for own in self.owned]))

    def gather(self, blocks):
        """The ``(n, c)`` array of per-part blocks, here."""
        got = self.compute(blocks)
        Y = np.empty((self.n, got[0].shape[1]))
        for own, g in zip(self.owned, got):
            Y[own] = g
        return Y

    def product(self, which, X):
        """``A X`` for ``which`` in {"K", "B"} and an ``(n,)`` or ``(n, c)`` array here."""
        import dask

        X = np.asarray(X)
        pick = 0 if which == "K" else 1
        # the persisted blocks are held until the product is computed: a graph built on
        # them does not keep them alive, and a released block is a lost dependency
        blocks = self.blocks(X)
        Y = self.gather([dask.delayed(operator.getitem)(kb, pick)
                         for kb in self.halo.times(blocks)])
        del blocks
        return Y[:, 0] if X.ndim == 1 else Y

    def mass_gram(self, blocks):
        """``Xᵀ B X`` of per-part blocks, from a fresh product (only the Gram returns)."""
        import dask

        return sum(self.compute([dask.delayed(_gram_of)(X, kb) for X, kb in
                                 zip(blocks, self.halo.times(blocks))]))

    def asymmetry(self, which, seed=0):
        """``|A x − Aᵀ x| / |A x|`` for a random ``x`` (made on the workers): 0 when the
        parts' rows are the single machine's (symmetric) matrix."""
        import dask

        x = self.random_blocks(seed)
        pick = 0 if which == "K" else 1
        kept = self.symmetrise
        self.symmetrise = set()
        ax = [dask.delayed(operator.getitem)(kb, pick) for kb in self.halo.times(x)]
        self.symmetrise = {which}
        half = [dask.delayed(operator.getitem)(kb, pick) for kb in self.halo.times(x)]
        self.symmetrise = kept
        sums = self.compute([dask.delayed(_difference_norms)(a, h) for a, h in zip(ax, half)])
        diff, size = (sum(s[i] for s in sums) for i in (0, 1))
        del x
        return float(2 * np.sqrt(diff) / max(np.sqrt(size), np.finfo(float).tiny))

    def close(self):
        import dask

        try:
            from distributed import get_client
            get_client().run(_forget, self.token)
        except (ImportError, ValueError):
            pass
        _forget(self.token)
        dask.compute(*[dask.delayed(_forget)(self.token) for _ in self.parts])


def coarse_start(surface, sample, n_vectors, mass, coarse_points, parts):
    """Start vectors, per part (persisted Delayed ``(owned rows, n_vectors)`` in the order
    of its ``owned_ids``), and the coarse eigenvalues, from a subsample."""
    import dask

    from ..operators.laplacian import LaplaceBeltrami

    stride = max(1, len(sample) // coarse_points)
    pts = np.ascontiguousarray(sample[::stride])
    if len(pts) <= n_vectors + surface.k:
        raise ValueError(f"`coarse_points` = {coarse_points} leaves {len(pts)} sample points, "
                         f"too few for {n_vectors} start vectors: raise it")
    op = LaplaceBeltrami(form="weak", mass=mass, k=surface.k, orient=None, outliers="keep",
                         denoise=False, height_order=surface.height_order,
                         progress=False).fit(pts)
    vals, vecs = op.spectrum(n_vectors)[:2]
    blocks = dask.persist(*[dask.delayed(_prolonged)(part, pts, vecs, PROLONG_NEIGHBOURS)
                            for part in parts])
    return list(blocks), vals


def _gram_of(X, products):
    return X.T @ products[1]


def _columns(block, n):
    return np.ascontiguousarray(block[:, :n])


def _with_ids(op, block):
    """A part's rows of a result: ``(owned_ids, values)``."""
    return op["owned_ids"], block


def _first_state(X, KX, BX):
    return {"X": X, "KX": KX, "BX": BX}


def _residual_sums(state, theta):
    """Per column: ``|K x − θ B x|²`` and ``|B x|²`` over a part's rows."""
    R = state["KX"] - state["BX"] * theta
    return np.einsum("ij,ij->j", R, R), np.einsum("ij,ij->j", state["BX"], state["BX"])


def _preconditioned(op, token, part, sigma, state, theta, active):
    """The block-Jacobi solve of the active columns' residuals, on a part's rows."""
    R = state["KX"][:, active] - state["BX"][:, active] * theta[active]
    return _precondition(op, token, part, sigma, R)


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
    tail = C[m:]
    out = {}
    for name, blocks in (("X", S), ("KX", KS), ("BX", BS)):
        p = _combined(blocks[1:], tail)
        out["P" if name == "X" else name[0] + "P"] = p
        out[name] = blocks[0] @ C[:m] + p
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
        W = list(dask.persist(*[
            dask.delayed(_preconditioned)(op, pencil.token, p, sigma, st, theta, active)
            for p, (op, st) in enumerate(zip(pencil.parts, state))]))
        KW, BW = zip(*halo.times(W))
        KW, BW = dask.persist(list(KW), list(BW))
        grams = pencil.compute([dask.delayed(_grams)(st, w, kw, bw)
                                for st, w, kw, bw in zip(state, W, KW, BW)])
        gk, gb = sum(g[0] for g in grams), sum(g[1] for g in grams)
        try:
            theta, C = ritz(gk, gb, m)
        except np.linalg.LinAlgError:
            # the directions P made the basis degenerate: restart without them
            state = list(dask.persist(*[dask.delayed(_without_directions)(st)
                                        for st in state]))
            grams = pencil.compute([dask.delayed(_grams)(st, w, kw, bw)
                                    for st, w, kw, bw in zip(state, W, KW, BW)])
            theta, C = ritz(sum(g[0] for g in grams), sum(g[1] for g in grams), m)
        state = list(dask.persist(*[dask.delayed(_updated)(st, w, kw, bw, C)
                                    for st, w, kw, bw in zip(state, W, KW, BW)]))
        done += 1
    X = [dask.delayed(operator.getitem)(st, "X") for st in state]
    return theta[:n_modes], list(dask.persist(*X)), done, res


def _without_directions(state):
    return {key: state[key] for key in ("X", "KX", "BX")}
