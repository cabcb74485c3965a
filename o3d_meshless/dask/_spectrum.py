"""The distributed spectrum of the weak form: LOBPCG on the pencil ``K v = λ B v`` with the
matrix rows kept on the workers.

Shift-invert (what :func:`o3d_meshless.spectrum` does on one machine) needs one global
factorisation, which a cluster does not have. Here only matrix products and part-local
solves run on the workers:

* **start**: the modes of a coarse subsample of the cloud (a strided sample, solved on the
  client with the single-machine weak form), carried to every point by inverse-distance
  weights of the 4 nearest sample points, part by part;
* **refinement**: LOBPCG (:mod:`o3d_meshless.dask._block_lobpcg`) on ``n_modes`` plus a buffer of vectors
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

from ._block_lobpcg import lobpcg_modes
from ._halo import HaloProducts

logger = logging.getLogger(__name__)

#: above this relative asymmetry of the assembled rows the products are symmetrised
ASYMMETRY_TOL = 1e-12
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
        array is gathered)."""
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

    def gather(self, blocks):
        """The ``(n, c)`` array of per-part blocks, here."""
        got = self.compute(blocks)
        Y = np.empty((self.n, got[0].shape[1]))
        for own, g in zip(self.owned, got):
            Y[own] = g
        return Y

    def preconditioned(self, states, sigma, theta, active):
        """Delayed block-Jacobi solves of the ``active`` columns' residuals
        ``K x − θ B x``, one per part (from the LOBPCG states)."""
        import dask

        return [dask.delayed(_preconditioned)(op, self.token, p, sigma, st, theta, active)
                for p, (op, st) in enumerate(zip(self.parts, states))]

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


def _preconditioned(op, token, part, sigma, state, theta, active):
    """The block-Jacobi solve of the active columns' residuals, on a part's rows."""
    R = state["KX"][:, active] - state["BX"][:, active] * theta[active]
    return _precondition(op, token, part, sigma, R)


def distributed_spectrum(surface, n_modes, m, *, mass, rtol, max_iter, coarse_points,
                         vectors, progress):
    """:meth:`DaskSurface.spectrum <o3d_meshless.dask.DaskSurface.spectrum>` after its
    checks: the pencil's rows persisted, the coarse start, LOBPCG on ``m`` vectors, the
    report; returns ``(SpectrumResult, info)``."""
    from warnings import warn

    import dask

    from .._progress import Stages
    from ..operators.spectrum_quality import SpectrumResult, spectrum_report
    from ._tasks import WEAK_LAYERS

    stages = Stages(3, desc="DaskSurface.spectrum", progress=progress)
    key = f"stiffness-{mass}"
    layers = WEAK_LAYERS[mass]
    pencil = None
    try:
        with stages("rows of K and the mass"):
            surface.persist(key)
            pencil = DistributedPencil(surface._parts(key), surface.n,
                                       surface._neighbouring_parts(layers))
            asym = {w: pencil.asymmetry(w) for w in ("K", "B")}
            pencil.symmetrise = {w for w, a in asym.items() if a > ASYMMETRY_TOL}
        with stages("coarse modes"):
            start, coarse = coarse_start(surface, surface._sample, m, mass, coarse_points,
                                         surface._parts(f"sampling-{layers}"))
        positive = coarse[coarse > 1e-8 * max(abs(coarse).max(), 1e-300)]
        sigma = float(positive[0]) if len(positive) else 1.0 / float(surface.n)
        with stages("LOBPCG"):
            vals, blocks, iters, res = lobpcg_modes(pencil, start, n_modes, sigma, rtol=rtol,
                                                    max_iter=max_iter, stages=stages)
            blocks = list(dask.persist(*[dask.delayed(_columns)(b, n_modes)
                                         for b in blocks]))
        report = spectrum_report(vals, None, None, symmetric=True,
                                 gram=pencil.mass_gram(blocks))
        if vectors == "numpy":
            vecs = pencil.gather(blocks)
        else:
            # the kept blocks live as long as the surface (or its next spectrum)
            surface._spectrum_vectors = blocks
            vecs = surface._to_original(
                [dask.delayed(_with_ids)(op, b) for op, b in zip(pencil.parts, blocks)],
                (n_modes,), np.float64)
    finally:
        stages.close()
        if pencil is not None:
            pencil.close()
    info = {"iterations": iters, "residual": float(res.max()), "sigma": sigma,
            "asymmetry": asym, "seconds": dict(stages.timings)}
    if res.max() > rtol:
        warn(f"DaskSurface.spectrum stopped after {iters} iterations (max_iter = "
             f"{max_iter}) with a relative residual of {res.max():.2g} (> rtol = "
             f"{rtol:g}): raise max_iter or rtol, or use stiffness_matrices() and a "
             "single-machine solve if they fit", RuntimeWarning, stacklevel=3)
    return SpectrumResult(vals, vecs, report), info
