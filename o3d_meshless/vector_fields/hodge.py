"""Hodge decomposition of tangent fields, the surface curl, and harmonic fields.

``X = ∇α + J∇β + h`` (``J = n ×``, the rotation by +90° in the tangent plane), with
``α`` and ``β`` solving Poisson problems and ``h`` harmonic (divergence- and curl-free).

**Weak divergence and curl.** On every edge ``(i, j)`` of the symmetric weak form (the
weights ``w_ij`` of :func:`o3d_meshless.operators.weak.voronoi_stiffness`), the field's
integral along the edge by the midpoint rule, ``ω_ij = (X_i + X_j)/2 · (x_j − x_i)``
(exact for linear fields along the chord, ``f_j − f_i`` for ``X = ∇f`` up to third
order). Summing ``w_ij ω_ij`` around each cell gives the flux through the cell's
edges: ``D X ≈ −M div X`` with ``D ∇f = K f`` to the order of ``K`` itself, so
``K α = D X`` and ``K β = −D(JX)`` are consistent Poisson problems, ``curl X = (∇ × X)·n
= −div(JX)``. (The transposed Taylor gradient ``Gᵀ M X`` is not a consistent pointwise
divergence on i.i.d. points: ``GᵀMG f`` differs from ``K f`` by 300 % on smooth ``f``
and has spurious low modes; on a 4 000-point sphere the exact part came out 36 % off
with it, 0.7 % with ``D``.) ``∇α`` and ``∇β`` are then the Taylor gradients
(:class:`~o3d_meshless.SurfaceGradient`).

**Harmonic part.** ``h = X − ∇α − J∇β``. The harmonic fields of a closed surface are the
kernel of the Hodge Laplacian, by the Weitzenböck identity ``Δ_H = ∇*∇ + K_G``:
:func:`harmonic_fields` gives its smallest eigenpairs from the connection Laplacian
and the Gaussian curvature of the same connection (the turning of a vector carried
around each point's loop of neighbours over the loop's area,
:func:`~o3d_meshless.vector_fields.connection.loop_curvature`; at open-boundary points,
where no loop closes, :func:`o3d_meshless.curvature`'s). The two discretisations then
cancel where the exact ones do: the torus's harmonic eigenvalues at 5 000 points were
2.5e-2 of the next with the height-fit curvature and 7.5e-4 with the connection's.
The sphere has none (its smallest eigenvalue is 2), a torus two (``X`` and ``JX``).

**Orthogonality.** The parts are orthogonal in the inner product
``⟨X, Y⟩_M = Σ_i m_i X_i·Y_i`` (``m_i`` the lumped areas), to rounding, by construction
(:func:`orthogonal_fit`). This meshless form has no exact ``curl ∘ grad = 0``: the
Poisson solutions' ``∇α`` and ``J∇β`` overlap by the discretisation error (1.7e-4 of
the norms' product on a 20 000-point sphere), and ``X − ∇α − J∇β`` keeps a component
along each (normalised inner products 0.22 and 0.09 for a random smooth field; the
Taylor ``G`` under-reports a quadratic's gradient by 0.16 % at 5 000 points, so ``∇α``
comes out short). So ``β`` gets ``ε γ`` added, ``γ = −Gᵀ M J∇α`` the potential whose
``J∇γ`` overlaps ``∇α`` most, with ``ε`` cancelling the overlap (it moves ``J∇β`` by
1e-3 of its norm), and ``α``, ``β`` are then scaled by the least-squares coefficients of
``X`` on ``∇α`` and ``J∇β`` (1.003 on a 5 000-point sphere): ``exact = ∇α`` and
``coexact = J∇β`` hold exactly and ``h`` is orthogonal to both: to those two fields, not
to every discrete gradient. The least-squares projection onto all Taylor gradients
(``Gᵀ M G α = Gᵀ M X``) is no decomposition here, since ``Gᵀ M G`` has spurious low
modes (smallest nonzero eigenvalues 0.04, 0.25, 0.34 against ``K``'s 2.0 on a 5 000-point
sphere) through which rough ``∇α`` imitate smooth ``J∇β``: the exact part of
``∇(xy + z) + J∇(x + z²)`` came out 82 % off that way (5 000 points). Measured
(20 000-point sphere, ``X = ∇(xy + z) + J∇(x + z²)``, relative L2): exact part
0.316 %, coexact 0.263 % (0.326 % and 0.271 % before the fit), ``α`` 0.058 %, ``β``
0.056 % (0.041 % before); torus, ``∇x + J∇z² + h``: 0.25 %, 1.13 % and 0.81 % (0.26 %,
1.44 %, 0.93 % before); parts orthogonal to 1e-13 (``benchmarks/bench_vector_fields.py``).

Open boundaries: both Poisson problems use the weak form's natural (Neumann) condition,
so ``∇α`` has no flux through the boundary correction: the decomposition is then one of
several (the harmonic part also takes the boundary's flux), and its parts are not
orthogonal (``⟨∇α, J∇β⟩`` is a boundary integral, not a discretisation error: on a
3 000-point open sheet 0.82 of the norms' product), so :func:`orthogonal_fit` is not
applied there (it would change ``J∇β`` by 99 %).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .._typing import ArrayLike, Geometry
from .._validation import check_int
from ..operators.sparse_solve import factor_symmetric
from ..toolkit.surface_curvature import curvature
from ..operators.spectra import eigenpairs
from .connection import loop_curvature, real_form, to_vectors
from .surface import complex_field, fit_surface

__all__ = ["HodgeDecomposition", "hodge_decomposition", "harmonic_fields",
           "surface_curl", "weak_divergence", "Poisson", "orthogonal_fit"]


@dataclass
class HodgeDecomposition:
    """``X = exact + coexact + harmonic`` with ``exact = ∇α``, ``coexact = J∇β``.

    Attributes
    ----------
    alpha, beta : ndarray of shape (n,)
        Potentials, zero mean (area-weighted) on every connected piece.
    exact, coexact, harmonic : ndarray of shape (n, 3)
        The three parts; they add up to ``X`` (the input projected onto the tangent
        planes) and, on a closed surface, are mutually orthogonal in
        ``Σ_i m_i X_i·Y_i`` (lumped areas) to rounding.

    Examples
    --------
    A gradient field, ``X = ∇z`` on the unit sphere, is all exact, with ``α ≈ z``:

    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(1000, seed=0)
    >>> X = np.array([0, 0, 1.0]) - p[:, 2:] * p                 # ∇z
    >>> parts = om.hodge_decomposition(p, X)
    >>> parts.alpha.shape, parts.exact.shape
    ((1000,), (1000, 3))
    >>> err = np.linalg.norm(parts.exact - X) / np.linalg.norm(X)
    >>> bool(err < 0.01), bool(np.corrcoef(parts.alpha, p[:, 2])[0, 1] > 0.999)
    (True, True)
    """

    alpha: np.ndarray
    beta: np.ndarray
    exact: np.ndarray
    coexact: np.ndarray
    harmonic: np.ndarray


class Poisson:
    """``K u = b`` with the natural condition: compatible right-hand side per piece (the
    mean of ``b`` removed), solution of zero area-weighted mean per piece."""

    def __init__(self, K, areas):
        n = K.shape[0]
        self.areas = areas
        self.n_pieces, self.labels = csgraph.connected_components(K, directed=False)
        first = np.full(self.n_pieces, -1)
        first[self.labels[::-1]] = np.arange(n)[::-1]
        self.free = np.ones(n, dtype=bool)
        self.free[first] = False
        K = K.tocsr()
        self.lu = factor_symmetric(K[self.free][:, self.free], definite=True)
        total = np.bincount(self.labels, areas, self.n_pieces)
        self.total = np.where(total > 0, total, 1.0)

    def solve(self, b):
        b = b - self.areas * (self._piece(b) / self.total)[self.labels]
        u = np.zeros(len(b))
        u[self.free] = self.lu.solve(b[self.free])
        return self.center(u)

    def _piece(self, v):
        return np.bincount(self.labels, v, self.n_pieces)

    def center(self, u):
        """``u`` minus its area-weighted mean on every piece."""
        return u - (self._piece(self.areas * u) / self.total)[self.labels]


def _edges(K):
    upper = sparse.triu(K, 1).tocoo()
    return upper.row, upper.col, -upper.data


def weak_divergence(K, points, X):
    """``D X ≈ −M div X`` (per point, area-weighted) from the edges of ``K``.

    Parameters
    ----------
    K : scipy.sparse matrix of shape (n, n)
        Symmetric weak-form stiffness (its off-diagonal entries are ``−w_ij``).
    points : ndarray of shape (n, 3)
    X : ndarray of shape (n, 3)
        Tangent field (NaN rows at excluded points are read as 0).

    Returns
    -------
    ndarray of shape (n,)
        ``D ∇f = K f`` up to the discretisation error.
    """
    i, j, w = _edges(K)
    X = np.nan_to_num(X)
    omega = w * np.einsum("ij,ij->i", 0.5 * (X[i] + X[j]), points[j] - points[i])
    n = K.shape[0]
    return np.bincount(j, omega, n) - np.bincount(i, omega, n)


def _rotate(X, normals):
    return np.cross(normals, X)


def _fields(geometry, X, options):
    surf = fit_surface(geometry, gradient=True, mass="lumped", **options)
    z = complex_field(X, surf.frames, name="X")
    return surf, to_vectors(z, surf.frames)


def surface_curl(geometry: Geometry, X: ArrayLike, **options: Any) -> np.ndarray:
    """Scalar curl ``(∇ × X)·n = −div(JX)`` of a tangent field, per point.

    Pointwise, with the meshless divergence of :class:`~o3d_meshless.Divergence`
    (Taylor stencils) applied to ``JX``; the Hodge decomposition uses the weak form
    instead (see :mod:`o3d_meshless.vector_fields.hodge`).

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or Sampling
    X : array_like of shape (n, 3)
        Tangent vectors (their normal parts are dropped).
    **options
        ``k``, ``normals``, ``height_order``, ``orient``, ``workers``.

    Returns
    -------
    ndarray of shape (n,)
        NaN at points excluded as outliers.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(3000, seed=0)
    >>> X = np.cross(p, [0, 0, 1.0])                    # J∇z: curl = Δz = −2z
    >>> c = om.surface_curl(p, X)
    >>> bool(np.median(np.abs(c + 2 * p[:, 2])) < 0.05)
    True
    """
    surf, V = _fields(geometry, X, options)
    n = surf.n
    JX = np.nan_to_num(_rotate(V, surf.frames[:, 2]))
    # pointwise: the meshless divergence (Σ_c ∂_c of the components, Taylor stencils)
    out = -(surf.G[:n] @ JX[:, 0] + surf.G[n:2 * n] @ JX[:, 1] + surf.G[2 * n:] @ JX[:, 2])
    if surf.excluded is not None:
        out[surf.excluded] = np.nan
    return out


def hodge_decomposition(geometry: Geometry, X: ArrayLike,
                        **options: Any) -> HodgeDecomposition:
    """Hodge decomposition ``X = ∇α + J∇β + h`` of a tangent field.

    See :mod:`o3d_meshless.vector_fields.hodge` for the method, its accuracy and the open
    boundary condition.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or Sampling
    X : array_like of shape (n, 3)
        Tangent vectors, one per point (their normal parts are dropped).
    **options
        ``k``, ``normals``, ``height_order``, ``orient``, ``workers``.

    Returns
    -------
    HodgeDecomposition
        ``alpha``, ``beta`` (n,), ``exact``, ``coexact``, ``harmonic`` (n, 3).

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(3000, seed=0)
    >>> grad_z = np.array([0, 0, 1.0]) - p[:, 2:] * p          # ∇z
    >>> rot_x = np.cross(p, np.array([1.0, 0, 0]) - p[:, :1] * p)  # J∇x
    >>> parts = om.hodge_decomposition(p, grad_z + rot_x)
    >>> err = np.linalg.norm(parts.exact - grad_z) / np.linalg.norm(grad_z)
    >>> bool(err < 0.02), bool(np.corrcoef(parts.beta, p[:, 0])[0, 1] > 0.999)
    (True, True)
    """
    surf, V = _fields(geometry, X, options)
    n = surf.n
    areas = surf.M.diagonal()
    poisson = Poisson(surf.K, areas)
    normals = surf.frames[:, 2]
    alpha = poisson.solve(weak_divergence(surf.K, surf.points, V))
    beta = poisson.solve(-weak_divergence(surf.K, surf.points, _rotate(V, normals)))
    boundary = surf.sampling.diagnostics.get("boundary_mask")
    if boundary is None or not np.any(boundary):         # closed: see "Orthogonality"
        alpha, beta = orthogonal_fit(surf.G, areas, np.nan_to_num(normals),
                                     np.nan_to_num(V), alpha, beta)
        beta = poisson.center(beta)                      # γ has a mean; G ignores it
    grad = lambda f: np.nan_to_num((surf.G @ f).reshape(3, n).T)    # noqa: E731
    exact = grad(alpha)
    coexact = _rotate(grad(beta), normals)
    harmonic = np.nan_to_num(V) - exact - coexact
    if surf.excluded is not None:
        for arr in (alpha, beta, exact, coexact, harmonic):
            arr[surf.excluded] = np.nan
    return HodgeDecomposition(alpha, beta, exact, coexact, harmonic)


def orthogonal_fit(G, areas, normals, X, alpha, beta):
    """Potentials ``(s α, t (β + ε γ))`` whose parts ``∇α``, ``J∇β`` and the rest
    ``X − ∇α − J∇β`` are mutually orthogonal in ``Σ_i m_i X_i·Y_i`` (to rounding).

    ``γ = −Gᵀ M J ∇α`` is the direction in which ``J∇γ`` overlaps ``∇α`` most
    (``⟨∇α, J∇γ⟩_M = |γ|²``); ``ε`` removes the overlap of ``J∇β`` with ``∇α`` (the
    discretisation's, 1e-4 of the norms on a smooth field), then ``s`` and ``t`` are the
    least-squares coefficients of ``X`` on the two (now orthogonal) parts.
    """
    n = len(areas)
    m3 = np.tile(areas, 3)
    grad = lambda f: np.nan_to_num((G @ f).reshape(3, n).T)            # noqa: E731
    ip = lambda u, v: float(np.sum(areas[:, None] * u * v))             # noqa: E731
    a = grad(alpha)
    c = _rotate(grad(beta), normals)
    aa = ip(a, a)
    if aa > 0:
        gamma = -(G.T @ (m3 * _rotate(a, normals).T.ravel()))
        g = _rotate(grad(gamma), normals)
        ag = ip(a, g)
        if ag > 0:
            eps = -ip(a, c) / ag
            beta = beta + eps * gamma
            c = c + eps * g
        alpha = alpha * (ip(X, a) / aa)
    cc = ip(c, c)
    if cc > 0:
        beta = beta * (ip(X, c) / cc)
    return alpha, beta


def harmonic_fields(geometry: Geometry, n_modes: int = 4,
                    **options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Smallest eigenpairs of the Hodge Laplacian ``∇*∇ + K_G`` on tangent fields.

    The harmonic fields are its kernel: as many (near-)zero eigenvalues as twice the
    genus of a closed surface (torus: 2, sphere: none).

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or Sampling
    n_modes : int, default=4
        Real modes (they come in pairs ``X``, ``JX``).
    **options
        ``k``, ``normals``, ``height_order``, ``orient``, ``workers``.

    Returns
    -------
    values : ndarray of shape (n_modes,)
    fields : ndarray of shape (n, 3, n_modes)
        M-orthonormal tangent fields.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_torus
    >>> vals, fields = om.harmonic_fields(random_torus(3000, seed=0), 4)
    >>> bool(np.all(np.abs(vals[:2]) < 0.05 * vals[2]))     # two harmonic fields
    True
    """
    surf = fit_surface(geometry, mass="lumped", **options)
    n_modes = check_int(n_modes, name="n_modes", low=1, high=2 * surf.n)
    gauss = loop_curvature(surf.K, np.nan_to_num(surf.points), surf.frames)
    missing = ~np.isfinite(gauss)          # open boundary, excluded points
    if missing.any():
        gauss[missing] = np.nan_to_num(curvature(surf.sampling).gaussian)[missing]
    H = surf.L + sparse.diags((gauss * surf.M.diagonal()).astype(np.complex128))
    with warnings.catch_warnings():
        # ∇*∇ + K_G is not PSD by construction: harmonic modes may come out slightly
        # negative (the discretisation error), which is no spurious mode here
        warnings.simplefilter("ignore", RuntimeWarning)
        vals, vecs, _ = eigenpairs(real_form(H), real_form(surf.B), n_modes,
                                   symmetric=True, sigma=-1.0)
    n = surf.n
    z = vecs[:n] + 1j * vecs[n:]
    fields = np.stack([to_vectors(z[:, k], surf.frames) for k in range(z.shape[1])], axis=-1)
    return vals, fields
