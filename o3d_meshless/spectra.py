"""Laplace–Beltrami spectra: smallest eigenpairs of ``L φ = λ φ`` (strong form).

``L`` from collocation is not symmetric, so eigenpairs come from ARPACK in
shift-invert mode (``scipy.sparse.linalg.eigs``) around a small negative shift, and are
ordered by real part. Eigenvalues are returned as real parts; the largest imaginary
part among them is reported. Eigenvectors are real, normalised so ``vᵀ M v = 1``, with
the sign fixed by a positive projection on a fixed pseudo-random vector.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
from scipy import linalg, sparse
from scipy.sparse import linalg as sla

from ._validation import check_int

__all__ = ["spectrum", "eigenpairs"]

logger = logging.getLogger(__name__)

#: below this many points the dense eigensolver is used
DENSE_LIMIT = 600


def _blas_single_thread():
    # Two BLAS threads made a shift-invert solve ~7× slower on a 2-core machine.
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                  # pragma: no cover
        from contextlib import nullcontext
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _real_vectors(vecs, M):
    """Rotate each complex eigenvector to be as real as possible, take the real part,
    M-normalise and fix the sign."""
    if np.iscomplexobj(vecs):
        phase = np.angle(np.einsum("ij,ij->j", vecs, vecs)) / 2
        vecs = (vecs * np.exp(-1j * phase)).real
    vecs = np.array(vecs, dtype=np.float64)
    m = M.diagonal()
    norms = np.sqrt(np.einsum("ij,i,ij->j", vecs, m, vecs))
    vecs /= np.where(norms > 0, norms, 1.0)
    # sign: positive projection on a fixed pseudo-random vector (a largest-entry rule is
    # ambiguous on symmetric samples, where the maximum occurs twice with both signs)
    probe = np.random.default_rng(12345).standard_normal(vecs.shape[0])
    s = np.sign(probe @ vecs)
    vecs *= np.where(s == 0, 1.0, s)
    return vecs


def eigenpairs(L, M, n_modes=20, *, sigma=None):
    """Smallest ``n_modes`` eigenpairs (by real part) of a strong-form operator.

    Parameters
    ----------
    L : sparse matrix of shape (n, n)
    M : sparse diagonal matrix of shape (n, n)
        Used for normalisation (``vᵀ M v = 1``) and for the default shift.
    n_modes : int, default=20
    sigma : float, optional
        Shift; default ``-1 / trace(M)``, a scale-free value below the zero eigenvalue.

    Returns
    -------
    vals : ndarray of shape (n_modes,)
        Real parts, ascending.
    vecs : ndarray of shape (n, n_modes)
    max_imag : float
        Largest ``|Im λ|`` among the returned eigenvalues.
    """
    n = L.shape[0]
    n_modes = check_int(n_modes, name="n_modes", low=1, high=n)
    if sigma is None:
        sigma = -1.0 / float(M.diagonal().sum())
    if n <= DENSE_LIMIT or n_modes >= n - 2:
        vals, vecs = linalg.eig(L.toarray())
    else:
        extra = min(max(4, n_modes // 4), n - 2 - n_modes)
        with _blas_single_thread():
            # fixed start vector: repeated calls give the same eigenvectors
            v0 = np.random.default_rng(0).standard_normal(n)
            vals, vecs = sla.eigs(L.tocsc(), k=n_modes + extra, sigma=sigma, which="LM", v0=v0)
    order = np.argsort(vals.real, kind="stable")[:n_modes]
    vals, vecs = vals[order], vecs[:, order]
    max_imag = float(np.abs(vals.imag).max())
    if max_imag > 1e-3 * max(1.0, float(np.abs(vals.real).max())):
        warnings.warn(f"eigenvalues have imaginary parts up to {max_imag:.3g}; the real parts "
                      "are returned", RuntimeWarning, stacklevel=2)
    return np.ascontiguousarray(vals.real), _real_vectors(vecs, M), max_imag


def spectrum(geometry, n_modes=20, *, sigma=None, **options):
    """Smallest Laplace–Beltrami eigenpairs of a point cloud.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or a fitted
        :class:`~o3d_meshless.LaplaceBeltrami`
    n_modes : int, default=20
    sigma : float, optional
        Shift-invert shift (default ``-1/area``).
    **options
        Keyword options of :class:`~o3d_meshless.LaplaceBeltrami`.

    Returns
    -------
    vals : ndarray of shape (n_modes,)
        Ascending; ``0`` first on a closed surface (one zero per connected piece).
    vecs : ndarray of shape (n, n_modes)
        ``vecs[:, i].T @ M @ vecs[:, i] == 1``.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).normal(size=(4000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> vals, vecs = om.spectrum(p, n_modes=9)
    >>> np.round(vals).astype(int).tolist()
    [0, 2, 2, 2, 6, 6, 6, 6, 6]
    """
    from .operators import LaplaceBeltrami

    op = geometry if isinstance(geometry, LaplaceBeltrami) else LaplaceBeltrami(**options).fit(geometry)
    return op.spectrum(n_modes, sigma=sigma)
