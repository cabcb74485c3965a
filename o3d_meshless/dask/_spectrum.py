"""The distributed spectrum of the weak form: LOBPCG on the pencil ``K v = λ B v`` with the
matrix rows kept on the workers.

Shift-invert (what :func:`o3d_meshless.spectrum` does on one machine) needs one global
factorisation, which a cluster does not have. Here only matrix products and part-local
solves run on the workers:

* **start**: the modes of a coarse subsample of the cloud (a strided sample, solved on the
  client with the single-machine weak form), carried to every point by inverse-distance
  weights of the 4 nearest sample points, part by part;
* **refinement**: SciPy's :func:`~scipy.sparse.linalg.lobpcg` on ``n_modes`` plus a buffer
  of vectors (without the buffer, a cluster of equal eigenvalues cut by the window's edge
  converges slowly or breaks down), its products ``K X`` and ``B X`` done part by part;
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
  ``λ_max |B x|`` (``λ_max`` the largest wanted eigenvalue), checked after
  :data:`CHUNK` iterations, then after twice as many each time.

Measured with ``lobpcg`` alone in one process, 20 modes: on 60 000 points of the unit
sphere in 16 parts, 40 iterations reach eigenvalues 8e-9 relative to shift-invert and 80
reach 1e-14 (one part, an exact preconditioner: 10); on 30 000 points in 8 parts the
first check, at 60 iterations, finds every residual below 1e-7. Without the buffer
LOBPCG broke down (eigenvalues 1.7e3 off).

Memory on the client: LOBPCG keeps about 9 blocks of ``n × (n_modes + buffer)`` floats
(the vectors, residuals and search directions and their products); the workers keep
their rows of ``K`` and ``B`` and one sparse factor per part.
"""
from __future__ import annotations

import logging
import uuid
import warnings

import numpy as np
from scipy.spatial import cKDTree

logger = logging.getLogger(__name__)

#: LOBPCG iterations before the first convergence check; each check restarts LOBPCG
#: (its search directions are lost), so the next run is twice as long. Checking every 20
#: iterations stalled at a residual of 2e-4 on the 30 000-point sphere in 8 parts (400
#: iterations); the first check at 60 found it converged (1e-7)
CHUNK = 60
#: above this relative asymmetry of the assembled rows the products are symmetrised
ASYMMETRY_TOL = 1e-12
#: LOBPCG runs that end early in a row (a rank-deficient basis) before giving up
STALLS = 2
#: extra vectors beyond n_modes: at least this many, or half of n_modes
MIN_BUFFER = 8
#: nearest coarse points whose modes are averaged into a point's start vector
PROLONG_NEIGHBOURS = 4
#: part-local factors kept per worker process (oldest dropped first)
MAX_FACTORS = 256

_FACTORS: dict = {}


def _owned_ids(op):
    return op["owned_ids"], op["K_ids"], op["B_ids"]


def _times(op, which, X_used):
    return op[which] @ X_used


def _transposed_times(op, which, X_owned):
    return op[which].T @ X_owned


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
    """Start vectors on a part's owned points from the coarse modes."""
    s, ids, owned = part["sampling"], part["ids"], part["owned"]
    xyz = s.points[owned]
    d, j = cKDTree(coarse_points).query(xyz, min(m, len(coarse_points)))
    d, j = d.reshape(len(xyz), -1), j.reshape(len(xyz), -1)
    d2 = d * d
    exact = d2[:, 0] == 0                     # a sample point itself (or a copy of it)
    w = 1.0 / np.where(d2 > 0, d2, 1.0)
    w[exact] = 0.0
    w[exact, 0] = 1.0
    w /= w.sum(axis=1, keepdims=True)
    return ids[owned], np.einsum("nk,nkm->nm", w, coarse_vectors[j])


def _columnwise(apply, X):
    """``apply`` on an (n, c) block, for an (n,) vector or an (n, c) block."""
    X = np.asarray(X)
    if X.ndim == 1:
        return apply(X[:, None])[:, 0]
    return apply(X)


class DistributedPencil:
    """Products with ``K`` and ``B`` and the block-Jacobi solve, on persisted parts."""

    def __init__(self, parts, n):
        import dask

        self.parts, self.n = parts, n
        ids = dask.compute(*[dask.delayed(_owned_ids)(op) for op in parts])
        self.owned = [i[0] for i in ids]
        self.used = {"K": [i[1] for i in ids], "B": [i[2] for i in ids]}
        self.token = uuid.uuid4().hex
        self.products = 0
        self.symmetrise = set()

    @staticmethod
    def _compute(tasks):
        import dask

        with warnings.catch_warnings():      # the vectors travel in the graph on purpose
            warnings.filterwarnings("ignore", message=".*[Ll]arge object.*")
            return dask.compute(*tasks)

    def _by_rows(self, tasks, X2):
        """Each part's result is its owned rows of the (n, c) product."""
        Y = np.empty_like(X2)
        for own, g in zip(self.owned, self._compute(tasks)):
            Y[own] = g
        return Y

    def _rows_times(self, which, X2):
        import dask

        return self._by_rows([dask.delayed(_times)(op, which, X2[u])
                              for op, u in zip(self.parts, self.used[which])], X2)

    def _columns_times(self, which, X2):
        import dask

        got = self._compute([dask.delayed(_transposed_times)(op, which, X2[own])
                             for op, own in zip(self.parts, self.owned)])
        Y = np.zeros_like(X2)
        for u, g in zip(self.used[which], got):
            Y[u] += g                         # a part's columns are distinct
        return Y

    def asymmetry(self, which, seed=0):
        """``|A x − Aᵀ x| / |A x|`` for a random ``x``: 0 when the parts' rows are the
        single machine's (symmetric) matrix."""
        x = np.random.default_rng(seed).standard_normal((self.n, 1))
        ax = self._rows_times(which, x)
        return float(np.linalg.norm(ax - self._columns_times(which, x))
                     / max(np.linalg.norm(ax), np.finfo(float).tiny))

    def product(self, which, X):
        """``A X`` for ``which`` in {"K", "B"}; ``(A + Aᵀ) X / 2`` once :attr:`symmetrise`
        is set (rows from parts that disagree, see :meth:`asymmetry`)."""
        def apply(X2):
            Y = self._rows_times(which, X2)
            if which in self.symmetrise:
                Y = 0.5 * (Y + self._columns_times(which, X2))
            return Y

        self.products += 1
        return _columnwise(apply, X)

    def precondition(self, sigma, R):
        """The block-Jacobi solve: each part's own block of ``K + σB`` on its rows."""
        import dask

        return _columnwise(lambda R2: self._by_rows(
            [dask.delayed(_precondition)(op, self.token, p, sigma, R2[own])
             for p, (op, own) in enumerate(zip(self.parts, self.owned))], R2), R)

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
    """Start vectors ``(n, n_vectors)`` and the coarse eigenvalues, from a subsample."""
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
    got = dask.compute(*[dask.delayed(_prolonged)(part, pts, vecs, PROLONG_NEIGHBOURS)
                         for part in parts])
    X = np.empty((surface.n, vecs.shape[1]))
    for ids, rows in got:
        X[ids] = rows
    return X, vals


def _absolute_tolerance(pencil, X, n_modes, top, rtol):
    """LOBPCG's own (absolute) residual tolerance for the relative one, ``rtol``.

    ``|K x − λ B x| <= rtol · λ_top · |B x|`` with ``|B x|`` of the B-normalised start
    vectors (it barely changes as they converge). Vectors that reach it are locked: with
    no tolerance at all, their tiny residuals made LOBPCG's basis singular and it failed
    (cow.off, Spot: stuck at a residual of 1e-4).
    """
    BX = pencil.product("B", X[:, :n_modes])
    norm = np.sqrt(np.maximum(np.einsum("ij,ij->j", X[:, :n_modes], BX), np.finfo(float).tiny))
    size = np.linalg.norm(BX, axis=0) / norm
    return 0.5 * rtol * abs(top) * float(size.min())


def lobpcg_modes(pencil, X, n_modes, sigma, *, rtol, max_iter, coarse_top, stages=None):
    """Refine start vectors ``X`` into the ``n_modes`` smallest eigenpairs of ``(K, B)``.

    ``coarse_top``: an estimate of the ``n_modes``-th eigenvalue (the coarse one). Returns
    ``(values, vectors, iterations, residuals)``; ``residuals`` are the relative
    residuals of the wanted modes at the last check.
    """
    from scipy.sparse.linalg import LinearOperator, lobpcg

    n, m = X.shape
    K = LinearOperator((n, n), matvec=lambda v: pencil.product("K", v),
                       matmat=lambda V: pencil.product("K", V), dtype=np.float64)
    B = LinearOperator((n, n), matvec=lambda v: pencil.product("B", v),
                       matmat=lambda V: pencil.product("B", V), dtype=np.float64)
    T = LinearOperator((n, n), matvec=lambda v: pencil.precondition(sigma, v),
                       matmat=lambda V: pencil.precondition(sigma, V), dtype=np.float64)
    done, res = 0, np.full(n_modes, np.inf)
    tol = _absolute_tolerance(pencil, X, n_modes, coarse_top, rtol)
    step, stalled = CHUNK, 0
    while done < max_iter:
        step = min(step, max_iter - done)
        with warnings.catch_warnings():       # "not reaching the requested tolerance":
            warnings.simplefilter("ignore")   # the check below decides
            vals, X, history = lobpcg(K, X, B=B, M=T, largest=False, tol=tol, maxiter=step,
                                      retResidualNormsHistory=True)
        ran = max(len(history) - 1, 1)
        done += ran
        order = np.argsort(vals)
        vals, X = vals[order], X[:, order]
        want = X[:, :n_modes]
        KX, BX = pencil.product("K", want), pencil.product("B", want)
        scale = max(abs(vals[n_modes - 1]), np.finfo(float).tiny)
        res = (np.linalg.norm(KX - BX * vals[:n_modes], axis=0)
               / (scale * np.maximum(np.linalg.norm(BX, axis=0), np.finfo(float).tiny)))
        logger.info("distributed spectrum: %d iterations, largest residual %.2e", done,
                    res.max())
        if stages is not None:
            stages.note(f"{done} iterations, residual {res.max():.1e}")
        if res.max() <= rtol:
            break
        # LOBPCG ends early when its basis loses rank; twice in a row without progress
        # means it cannot go further from here
        stalled = stalled + 1 if ran < step else 0
        if stalled >= STALLS:
            break
        step *= 2
    return vals[:n_modes], X[:, :n_modes], done, res
