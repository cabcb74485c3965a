"""The discrete Levi-Civita connection and the connection Laplacian of a sampled surface.

Tangent vectors are complex numbers in each point's frame: a vector ``X`` at point ``i``
with frame rows ``(t_u, t_v, n)`` is ``z_i = X·t_u + i X·t_v`` (the frames are
right-handed, so multiplying by ``i`` is the rotation ``J = n ×`` by +90°).

**Connection.** For each pair of neighbours ``(i, j)`` the Levi-Civita transport along
the geodesic from ``x_j`` to ``x_i`` keeps a vector's angle to the geodesic; the
geodesic's direction at each end is taken as the chord ``x_i − x_j`` seen in that end's
tangent plane (projected), so the transport is the rotation by the difference of the
chord's angles in the two frames, a unit complex number ``r_ij = e^{iθ_ij}``: a vector
``z`` at ``j`` is ``r_ij z`` at ``i``, and ``r_ji = conj(r_ij)``. The chord's projections
miss the geodesic's directions by ``O(h²)`` at both ends with the same sign, so their
difference is off by ``O(h³)`` only (the choice of geometry-central's point clouds too).
The smallest rotation taking ``n_j`` to ``n_i`` (``points=None`` in
:func:`frame_rotations`) is also exact on a sphere. On a torus (5 000 points) both gave
the same transport errors: there the error comes from blending nearly equal geodesics
near conjugate points, not from the connection.

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
           "real_form", "neighbour_loops", "loop_curvature"]


def frame_rotations(frames, rows, cols, points=None):
    """Angles ``θ`` of the discrete Levi-Civita transport from ``cols`` to ``rows``.

    Parameters
    ----------
    frames : ndarray of shape (n, 3, 3)
        Rows ``(t_u, t_v, n)``, right-handed.
    rows, cols : ndarray of shape (m,), int
        Edge ends ``i`` and ``j``.
    points : ndarray of shape (n, 3) or None
        Given: the angle between the chord ``x_i − x_j`` in ``i``'s and in ``j``'s
        tangent plane (third order per edge); None: the smallest rotation taking
        ``n_j`` to ``n_i`` (second order per edge; exact on a sphere).

    Returns
    -------
    ndarray of shape (m,)
        ``θ_ij``: the vector ``z`` (complex, in ``j``'s frame) is ``e^{iθ_ij} z`` in ``i``'s.
    """
    if points is not None:
        # the geodesic's direction at both ends ≈ the chord seen in each tangent plane;
        # transport keeps a vector's angle to the geodesic
        d = points[rows] - points[cols]
        at_i = np.arctan2(np.einsum("ij,ij->i", d, frames[rows, 1]),
                          np.einsum("ij,ij->i", d, frames[rows, 0]))
        at_j = np.arctan2(np.einsum("ij,ij->i", d, frames[cols, 1]),
                          np.einsum("ij,ij->i", d, frames[cols, 0]))
        return at_i - at_j
    ni, nj = frames[rows, 2], frames[cols, 2]
    tu = frames[cols, 0]
    c = np.einsum("ij,ij->i", ni, nj)
    a = np.cross(nj, ni)
    # Rodrigues for the minimal rotation n_j -> n_i: R v = c v + a × v + (a·v) a / (1 + c)
    e = (c[:, None] * tu + np.cross(a, tu)
         + (np.einsum("ij,ij->i", a, tu) / np.maximum(1.0 + c, 1e-12))[:, None] * a)
    return np.arctan2(np.einsum("ij,ij->i", e, frames[rows, 1]),
                      np.einsum("ij,ij->i", e, frames[rows, 0]))


def connection_matrix(A, frames, *, degree=1, diagonal="keep", points=None):
    """``A`` with each off-diagonal entry ``A_ij`` multiplied by ``r_ij^degree``.

    Parameters
    ----------
    A : scipy.sparse matrix of shape (n, n)
        Real symmetric (the stiffness ``K`` or a mass matrix).
    frames : ndarray of shape (n, 3, 3)
    degree : int, default=1
        Symmetry of the field: 1 vectors, 2 lines, 4 crosses.
    points : ndarray of shape (n, 3) or None
        The points: rotations from the chords (see :func:`frame_rotations`).
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
    theta = degree * frame_rotations(frames, upper.row, upper.col, points)
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


def neighbour_loops(K, points, frames):
    """Each point's neighbours (the off-diagonal pattern of ``K``) in the order of their
    angles in its tangent plane: a closed loop around it.

    Returns
    -------
    rows, cols : ndarray of shape (m,), int
        Loop entries, grouped by ``rows`` (the centre), ``cols`` in angular order.
    nxt : ndarray of shape (m,), int
        Position of the next entry of the same loop (the last one wraps to the first).
    """
    A = sparse.csr_matrix(K, copy=True)
    A.setdiag(0)
    A.eliminate_zeros()
    A = A.tocoo()
    rows, cols = A.row, A.col
    d = points[cols] - points[rows]
    ang = np.arctan2(np.einsum("ij,ij->i", d, frames[rows, 1]),
                     np.einsum("ij,ij->i", d, frames[rows, 0]))
    order = np.lexsort((ang, rows))
    rows, cols = rows[order], cols[order]
    n = K.shape[0]
    start = np.searchsorted(rows, np.arange(n))
    end = np.searchsorted(rows, np.arange(n), side="right")
    nxt = np.arange(len(rows)) + 1
    has = end > start
    nxt[end[has] - 1] = start[has]
    return rows, cols, nxt


def loop_curvature(K, points, frames):
    """Gaussian curvature from the connection's holonomy around each point's loop.

    A vector carried once around the loop of neighbours comes back turned by the
    integral of the Gaussian curvature over the enclosed polygon; divided by the
    polygon's area (in the tangent plane) it is the curvature at the point, consistent
    with the connection the vector Laplacian uses.

    Returns
    -------
    curvature : ndarray of shape (n,)
        NaN where the loop is not closed around the point (fewer than 3 neighbours or
        an empty polygon).
    """
    rows, cols, nxt = neighbour_loops(K, points, frames)
    n = K.shape[0]
    theta = frame_rotations(frames, cols[nxt], cols, points)      # each loop edge
    turn = np.angle(np.exp(1j * np.bincount(rows, theta, n)))
    d = points[cols] - points[rows]
    u = np.einsum("ij,ij->i", d, frames[rows, 0])
    v = np.einsum("ij,ij->i", d, frames[rows, 1])
    area = 0.5 * np.bincount(rows, u * v[nxt] - v * u[nxt], n)
    count = np.bincount(rows, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((count >= 3) & (area > 0), turn / area, np.nan)
