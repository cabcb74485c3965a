"""The connection Laplacian as an estimator, its spectrum, and the one-line function.

See :mod:`o3d_meshless.vector_fields.connection` for the discretisation.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._params import Params
from .._validation import check_int, check_option, n_threads_from_workers
from ..operators.spectra import eigenpairs
from ..operators.spectrum_quality import SpectrumResult
from .._typing import ArrayLike, Geometry
from .connection import real_form, to_vectors
from .surface import MASS_OPTIONS, fit_surface

__all__ = ["ConnectionLaplacian", "connection_laplacian", "DEGREES"]

#: symmetries of the fields: vectors, lines (2-direction), crosses (4-direction) …
DEGREES = (1, 2, 3, 4, 6)


class ConnectionLaplacian(Params):
    """Connection Laplacian ``L∇ ≈ M ∇*∇`` of tangent vector fields on a point cloud.

    Vectors are complex numbers in each point's frame, ``z = X·t_u + i X·t_v`` (rows
    ``(t_u, t_v, n)`` of ``frames_``, right-handed, normals consistently oriented).
    ``L_`` is Hermitian positive semi-definite, built on the weights of the symmetric weak
    form (``LaplaceBeltrami(form="weak").K_``) with the discrete Levi-Civita rotation
    between neighbouring frames (:mod:`o3d_meshless.vector_fields.connection`); the pencil
    ``L_ z = λ B_ z`` approximates the Bochner Laplacian's spectrum (unit sphere:
    ``l(l+1) − 1``, ``l >= 1``, complex multiplicity ``2l + 1``). Open boundaries: the
    natural condition of the weak form (no flux through the boundary).

    Parameters
    ----------
    degree : int, default=1
        1: vectors; 2: lines (2-direction fields); 4: crosses. The connection's angles
        are multiplied by ``degree``.
    mass : {"averaged", "lumped"}, default="averaged"
        ``B_``: the scalar form's averaged mass (mean of lumped and consistent mass, its
        off-diagonal entries carried by the connection) or the diagonal lumped areas.
        Unit sphere, ``l <= 4``: the averaged mass leaves almost no bias (l = 2: mean
        error +5.8e-5 at 4 000 points, −6.8e-6 at 16 000), so what remains is the
        i.i.d. sampling's splitting of each multiplet (the same with either mass), which
        shrinks more slowly and unevenly (l = 2: order 0.9–1.4 over two seeds); the
        lumped mass's bias (−1.8e-3, −4.8e-4) shrinks at order 2 and dominates.
    k, normals, height_order, workers :
        As in :class:`~o3d_meshless.LaplaceBeltrami`.
    orient : {"mst", "outward", None}, default="mst"
        Normal orientation (a vector field needs one; ``None`` on a given ``Sampling``
        orients a copy of its frames over a spanning tree).

    Attributes
    ----------
    L_ : scipy.sparse.csr_matrix of shape (n, n), complex128
        Hermitian PSD, ``L_ @ z`` for complex per-point coordinates ``z``.
    B_ : scipy.sparse.csr_matrix of shape (n, n), complex128
        Hermitian positive definite mass (rows of the lumped mass: the areas).
    M_ : scipy.sparse.csr_matrix of shape (n, n)
        Lumped areas (real, diagonal).
    frames_ : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)`` per input point.
    points_ : ndarray of shape (n, 3)
    sampling_ : Sampling

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> op = om.ConnectionLaplacian().fit(random_sphere(2000, seed=0))
    >>> bool(abs(op.L_ - op.L_.conj().T).max() < 1e-12)      # Hermitian
    True
    >>> vals, fields = op.spectrum(6)                           # l = 1: 3 complex modes
    >>> np.round(vals, 2)                                       # each twice (real pairs)
    array([1., 1., 1., 1., 1., 1.])
    >>> fields.shape                                            # tangent fields
    (2000, 3, 6)
    """

    def __init__(self, *, degree: int = 1, mass: str = "averaged", k: int = 16,
                 normals: str | ArrayLike = "auto", height_order: int = 2,
                 orient: str | None = "mst", workers: int = -1) -> None:
        self.degree = degree
        self.mass = mass
        self.k = k
        self.normals = normals
        self.height_order = height_order
        self.orient = orient
        self.workers = workers

    def fit(self, geometry: Geometry) -> ConnectionLaplacian:
        """Build ``L_`` and ``B_``; ``geometry`` may be a ``Sampling``. Returns ``self``."""
        owner = type(self).__name__
        check_option(check_int(self.degree, name="degree", owner=owner), DEGREES,
                     name="degree", owner=owner)
        check_option(self.mass, MASS_OPTIONS, name="mass", owner=owner)
        n_threads_from_workers(self.workers)
        surf = fit_surface(geometry, k=self.k, normals=self.normals,
                           height_order=self.height_order, orient=self.orient,
                           workers=self.workers, mass=self.mass, degree=self.degree)
        self.surface_ = surf
        self.sampling_ = surf.sampling
        self.points_ = surf.points
        self.frames_ = surf.frames
        self.L_, self.B_, self.M_ = surf.L, surf.B, surf.M
        return self

    def spectrum(self, n_modes: int = 20, *, sigma: float | None = None) -> SpectrumResult:
        """Smallest eigenpairs of ``L_ z = λ B_ z`` as real tangent fields.

        Solved on the real symmetric form of the pencil (shift-invert Lanczos with
        the BLAS at one thread, as :func:`o3d_meshless.spectrum`): every complex
        eigenvalue appears twice, with the fields ``X`` and ``JX``.

        Parameters
        ----------
        n_modes : int, default=20
            Real modes (an even number keeps the pairs whole).
        sigma : float or None
            Shift; default minus one over the area.

        Returns
        -------
        SpectrumResult
            ``values`` (n_modes,), ascending; ``vectors`` of shape (n, 3, n_modes): the
            fields, M-orthonormal (``Σ_i m_i X_i·Y_i`` = δ for the lumped mass, exactly
            for the real form of ``B_``); ``report`` the usual quality report.
        """
        if not hasattr(self, "L_"):
            raise ValueError("this ConnectionLaplacian is not fitted yet; call "
                             "fit(geometry) first")
        n = self.L_.shape[0]
        n_modes = check_int(n_modes, name="n_modes", low=1, high=2 * n)
        vals, vecs, report = eigenpairs(real_form(self.L_), real_form(self.B_), n_modes,
                                        sigma=sigma, symmetric=True)
        z = vecs[:n] + 1j * vecs[n:]
        fields = np.stack([to_vectors(z[:, m], self.frames_) for m in range(z.shape[1])],
                          axis=-1)
        return SpectrumResult(vals, fields, report)


def connection_laplacian(geometry: Geometry, **options: Any) -> tuple[Any, Any]:
    """Connection Laplacian and its mass, ``(L, B)``, complex Hermitian of shape (n, n).

    One-shot form of :class:`ConnectionLaplacian` (its parameters as keywords): ``L``
    acts on complex coordinates ``z = X·t_u + i X·t_v`` in the frames
    ``ConnectionLaplacian().fit(geometry).frames_``.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or Sampling
    **options
        ``degree``, ``mass``, ``k``, ``normals``, ``height_order``, ``orient``,
        ``workers``.

    Returns
    -------
    L, B : scipy.sparse.csr_matrix of shape (n, n), complex128

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> L, B = om.connection_laplacian(random_sphere(1500, seed=0))
    >>> z = np.random.default_rng(0).normal(size=1500) * (1 + 1j)
    >>> bool((z.conj() @ L @ z).real >= 0)                  # positive semi-definite
    True
    """
    op = ConnectionLaplacian(**options).fit(geometry)
    return op.L_, op.B_
