"""Smoothest n-direction fields and their singularities.

An ``n``-direction field (``n = 1`` vectors, ``2`` lines, ``4`` crosses) is stored as the
complex number ``u^n`` per point, which is the same for all ``n`` directions
``u·e^{2πik/n}``; the ``n``-direction connection multiplies the rotation angles by ``n``
(:func:`o3d_meshless.vector_fields.connection.connection_matrix` with ``degree=n``).
The smoothest field is the eigenvector of the smallest eigenvalue of
``L∇ⁿ z = λ B z`` (Knöppel, Crane, Pinkall & Schröder 2013, "Globally optimal direction
fields"), normalised pointwise.

**Singularities.** Around every interior point ``i`` its weak-form neighbours, in the
order of their angles in ``i``'s tangent plane, make a loop. Each neighbour's value is
carried into ``i``'s frame by the connection (``r_ij^n z_j``) and the turning of the
argument along the loop is summed: a multiple ``w`` of ``2π``, the field's index there is
``w / n``. (The thin triangles between the loop and ``i`` enclose curvature ``O(K h²)``,
far below the ``π`` that would change ``w``.) Neighbouring points whose loops enclose
the same singularity are merged (connected pieces of the neighbour graph among the
points with the same ``w``): one singularity each, placed at their mean position. On a
closed surface the indices add up to its Euler characteristic (Poincaré–Hopf):
a smoothest cross field on the sphere has 8 singularities of index +1/4.

Open boundaries: the natural condition (no alignment is imposed on the boundary);
boundary points have no closed loop and are never singular.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .._validation import check_int, check_option
from .._typing import Geometry
from ..operators.spectra import eigenpairs
from .connection import frame_rotations, neighbour_loops, real_form, to_vectors
from .connection_laplacian import DEGREES
from .surface import fit_surface

__all__ = ["DirectionField", "direction_field", "loop_windings"]


@dataclass
class DirectionField:
    """A smoothest ``n``-direction field with its singularities.

    Attributes
    ----------
    n : int
        Symmetry (1 vectors, 2 lines, 4 crosses).
    directions : ndarray of shape (num_points, 3)
        One unit tangent direction per point; the others are it rotated by multiples of
        ``2π/n`` about the normal.
    values : ndarray of shape (num_points,), complex
        ``u^n`` in each point's frame (rows ``(t_u, t_v)`` of ``frames``), unit length.
    frames : ndarray of shape (num_points, 3, 3)
    eigenvalue : float
        Smoothness energy ``z^H L∇ⁿ z / z^H B z`` of the field.
    windings : ndarray of shape (num_points,), int
        Turning of ``u^n`` around each point's loop, in turns (index × n).
    singularities : ndarray of shape (s, 3)
        Positions (mean of the points whose loops enclose it).
    singular_points : ndarray of shape (s,), int
        The point of each singularity nearest to its position.
    indices : ndarray of shape (s,)
        Index of each singularity (a multiple of ``1/n``).
    """

    n: int
    directions: np.ndarray
    values: np.ndarray
    frames: np.ndarray
    eigenvalue: float
    windings: np.ndarray
    singularities: np.ndarray
    singular_points: np.ndarray
    indices: np.ndarray


def loop_windings(K, points, frames, values, degree, *, skip=None):
    """Turning of ``values`` (complex, per point) around each point's neighbour loop.

    Parameters
    ----------
    K : scipy.sparse matrix of shape (m, m)
        Weak-form stiffness (its off-diagonal pattern are the neighbours).
    points : ndarray of shape (m, 3)
    frames : ndarray of shape (m, 3, 3)
    values : ndarray of shape (m,), complex
    degree : int
        The connection's angles are multiplied by it.
    skip : ndarray of shape (m,), bool, optional
        Points without a closed loop (open boundary, excluded points): winding 0.

    Returns
    -------
    ndarray of shape (m,), int
    """
    rows, cols, nxt = neighbour_loops(K, points, frames)
    m = K.shape[0]
    carried = np.exp(1j * degree * frame_rotations(frames, rows, cols, points)) * values[cols]
    turn = np.angle(carried[nxt] * np.conj(carried))
    w = np.rint(np.bincount(rows, turn, m) / (2 * np.pi)).astype(int)
    w[np.bincount(rows, minlength=m) < 3] = 0
    if skip is not None:
        w[skip] = 0
    return w


def _singularities(K, points, windings):
    """Merge neighbouring points with the same winding into one singularity each."""
    pts, idx, where = [], [], []
    A = sparse.csr_matrix(K)
    for w in np.unique(windings[windings != 0]):
        rows = np.flatnonzero(windings == w)
        sub = A[rows][:, rows]
        count, labels = csgraph.connected_components(sub, directed=False)
        for c in range(count):
            members = rows[labels == c]
            centre = points[members].mean(axis=0)
            pts.append(centre)
            idx.append(w)
            where.append(members[np.argmin(np.linalg.norm(points[members] - centre,
                                                          axis=1))])
    return (np.array(pts).reshape(-1, 3), np.array(idx, dtype=int),
            np.array(where, dtype=np.intp))


def direction_field(geometry: Geometry, n: int = 4, **options: Any) -> DirectionField:
    """The smoothest ``n``-direction field (``n`` = 1, 2, 4 …) and its singularities.

    See :mod:`o3d_meshless.vector_fields.direction_fields` for the method.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (num_points, 3), or Sampling
    n : int, default=4
        Symmetry: 1 vectors, 2 lines, 4 crosses (also 3, 6).
    **options
        ``mass``, ``k``, ``normals``, ``height_order``, ``orient``, ``workers`` (as in
        :class:`~o3d_meshless.ConnectionLaplacian`).

    Returns
    -------
    DirectionField

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> field = om.direction_field(random_sphere(3000, seed=0), n=4)
    >>> field.directions.shape, len(field.indices), float(field.indices.sum())
    ((3000, 3), 8, 2.0)
    """
    n = check_option(check_int(n, name="n", owner="direction_field"), DEGREES, name="n",
                     owner="direction_field")
    mass = options.pop("mass", "averaged")
    surf = fit_surface(geometry, degree=n, mass=mass, **options)
    N = surf.n
    vals, vecs, _ = eigenpairs(real_form(surf.L), real_form(surf.B), 2, symmetric=True)
    z = vecs[:N, 0] + 1j * vecs[N:, 0]
    size = np.abs(z)
    unit = z / np.where(size > 0, size, 1.0)
    directions = to_vectors(np.exp(1j * np.angle(unit) / n), surf.frames)
    skip = np.asarray(surf.sampling.diagnostics["boundary_mask"], dtype=bool) | (size == 0)
    if surf.excluded is not None:
        skip |= surf.excluded
        directions[surf.excluded] = np.nan
    w = loop_windings(surf.K, surf.points, surf.frames, unit, n, skip=skip)
    pts, idx, where = _singularities(surf.K, surf.points, w)
    return DirectionField(n, directions, unit, surf.frames, float(vals[0]), w, pts, where,
                          idx / n)
