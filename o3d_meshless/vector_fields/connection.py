"""The discrete Levi-Civita connection and the connection Laplacian of a sampled surface.

Tangent vectors are complex numbers in each point's frame: a vector ``X`` at point ``i``
with frame rows ``(t_u, t_v, n)`` is ``z_i = X·t_u + i X·t_v`` (the frames are
right-handed, so multiplying by ``i`` is the rotation ``J = n ×`` by +90°).

**Connection.** For each pair of neighbours ``(i, j)`` the rotation that carries ``j``'s
tangent plane onto ``i``'s is the smallest rotation taking ``n_j`` to ``n_i`` (about the
axis ``n_j × n_i``). Expressed in the two frames it is a unit complex number
``r_ij = e^{iθ_ij}``: a vector ``z`` at ``j`` is ``r_ij z`` at ``i``, and
``r_ji = conj(r_ij)``. On a sphere this is exactly Levi-Civita transport along the great
circle from ``x_j`` to ``x_i``; on other surfaces it differs from the transport along the
geodesic at third order in the spacing.

**Connection Laplacian.** On the two-point-flux weights ``w_ij`` of the symmetric weak
form (:func:`o3d_meshless.operators.weak.voronoi_stiffness`, the ``K_`` of
``LaplaceBeltrami(form="weak")``),

    (L∇ z)_i = Σ_j w_ij (z_i − r_ij z_j),

the weak form of the Bochner Laplacian ``∇*∇`` (``M⁻¹ L∇ ≈ ∇*∇``, positive, as ``K``
approximates ``−Δ``). ``L∇`` is Hermitian and positive semi-definite by construction:
``z^H L∇ z = Σ_edges w_ij |z_i − r_ij z_j|²``. The mass is the scalar form's, lumped or
averaged (its off-diagonal entries carried by ``r_ij`` as well). The ``n``-direction
connection uses ``r_ij^n`` (an angle multiplied by ``n``, for line (2) and cross (4) fields).

On the unit sphere ``∇*∇`` has eigenvalues ``l(l+1) − 1`` (``l >= 1``), each with
``2l + 1`` complex dimensions (``2(2l + 1)`` real ones).

Open boundaries: the weights of the weak form carry no flux through the boundary, so
``L∇`` has the natural (Neumann-type) condition ``∇_ν X = 0`` there, as the scalar form.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["frame_rotations", "connection_matrix", "to_complex", "to_vectors",
           "real_form"]


def frame_rotations(frames, rows, cols):
    """Angles ``θ`` of the discrete Levi-Civita transport from ``cols`` to ``rows``.

    Parameters
    ----------
    frames : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)``, right-handed.
    rows, cols : ndarray of shape (m,), int
        Edge ends ``i`` and ``j``.

    Returns
    -------
    ndarray of shape (m,)
        ``θ_ij``: the vector ``z`` (complex, in ``j``'s frame) is ``e^{iθ_ij} z`` in ``i``'s.
    """
    ni, nj = frames[rows, 2], frames[cols, 2]
    tu = frames[cols, 0]
    c = np.einsum("ij,ij->i", ni, nj)
    a = np.cross(nj, ni)
    # Rodrigues for the minimal rotation n_j -> n_i: R v = c v + a × v + (a·v) a / (1 + c)
    e = (c[:, None] * tu + np.cross(a, tu)
         + (np.einsum("ij,ij->i", a, tu) / np.maximum(1.0 + c, 1e-12))[:, None] * a)
    return np.arctan2(np.einsum("ij,ij->i", e, frames[rows, 1]),
                      np.einsum("ij,ij->i", e, frames[rows, 0]))


def connection_matrix(A, frames, *, degree=1, diagonal="keep"):
    """``A`` with each off-diagonal entry ``A_ij`` multiplied by ``r_ij^degree``.

    Parameters
    ----------
    A : scipy.sparse matrix of shape (n, n)
        Real symmetric (the stiffness ``K`` or a mass matrix).
    frames : ndarray of shape (n, 3, 3)
    degree : int, default=1
        Symmetry of the field: 1 vectors, 2 lines, 4 crosses.
    diagonal : {"keep", "stiffness"}
        ``"keep"``: the diagonal of ``A`` unchanged (a mass matrix). ``"stiffness"``: the
        diagonal is minus the row sum of ``A``'s off-diagonal entries (``A = K``: then
        the result is the connection Laplacian whatever ``K``'s diagonal held).

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n), complex128
        Hermitian.
    """
    upper = sparse.triu(A, 1).tocoo()
    theta = degree * frame_rotations(frames, upper.row, upper.col)
    r = upper.data * np.exp(1j * theta)
    n = A.shape[0]
    off = sparse.csr_matrix((np.concatenate([r, np.conj(r)]),
                             (np.concatenate([upper.row, upper.col]),
                              np.concatenate([upper.col, upper.row]))), shape=(n, n))
    if diagonal == "stiffness":
        diag = -(np.bincount(upper.row, upper.data, minlength=n)
                 + np.bincount(upper.col, upper.data, minlength=n))
    else:
        diag = A.diagonal()
    out = (off + sparse.diags(diag.astype(np.complex128))).tocsr()
    out.sort_indices()
    return out


def to_complex(vectors, frames):
    """Tangent vectors (n, 3) → complex coordinates (n,) in the frames."""
    return (np.einsum("ij,ij->i", vectors, frames[:, 0])
            + 1j * np.einsum("ij,ij->i", vectors, frames[:, 1]))


def to_vectors(z, frames):
    """Complex coordinates (n,) → tangent vectors (n, 3)."""
    return z.real[:, None] * frames[:, 0] + z.imag[:, None] * frames[:, 1]


def real_form(H):
    """The real symmetric ``2n × 2n`` form ``[[Re H, −Im H], [Im H, Re H]]`` of a
    Hermitian ``H``: it acts on ``(Re z, Im z)``; each eigenvalue of ``H`` appears twice."""
    Hr, Hi = H.real.tocsr(), H.imag.tocsr()
    out = sparse.bmat([[Hr, -Hi], [Hi, Hr]], format="csr")
    out.sort_indices()
    return out
