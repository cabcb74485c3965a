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

A mesh's faces do not overlap: when faces are given each face gets its index
(:func:`face_indices`), and on a closed mesh the count is exact wherever the corners'
frames agree with the faces (Spot, ``bunny.off``, sphere and torus meshes: 2, 2, 2, 0 for
n = 1 and 4; on ``cow.off`` 13 faces at its horn and tail tips turn by about π and the
sum is off). A cloud's per-point loops overlap (each spot of the surface lies inside
about three of them), so on thin or coarsely sampled parts two singularities can merge
or one can be missed (Spot's shipped cloud: −2 for the cross field). A cloud is
therefore triangulated first
(:func:`o3d_meshless.vector_fields.cloud_triangulation.closed_cloud_faces`: triangles on
which the tangent-plane Delaunay stars of their three corners agree, small holes filled);
when that is a closed orientable manifold its ``V − E + F`` is the Euler characteristic
and its faces count the singularities as a mesh's do (Spot's cloud: 2 for n = 1, 2, 4;
sphere 2, torus 0). Where it does not close (the shipped bunny cloud's thin ears, the
very anisotropic vertices of ``cow.off``) the loops above are used.
Either way the result carries the Euler characteristic, and a RuntimeWarning says when
the indices do not add up to it.

Open boundaries: the natural condition (no alignment is imposed on the boundary);
boundary points have no closed loop and are never singular.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .._validation import check_int, check_option
from .._typing import Geometry
from ..sampling.adapters import mesh_faces
from ..sampling.sampled_surface import Sampling
from ..operators.spectra import eigenpairs
from .connection import (frame_rotations, loop_curvature, neighbour_loops, real_form,
                         to_vectors)
from .cloud_triangulation import closed_cloud_faces
from .connection_laplacian import DEGREES
from .surface import fit_surface

__all__ = ["DirectionField", "direction_field", "loop_windings", "face_indices"]


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
        Positions (the centroid of the face, a mesh's or a cloud's triangulation's; with
        a cloud's loops: the mean of the points whose loops enclose it).
    singular_points : ndarray of shape (s,), int
        The point of each singularity nearest to its position.
    indices : ndarray of shape (s,)
        Index of each singularity (a multiple of ``1/n``).
    euler_characteristic : float
        The surface's Euler characteristic: a closed mesh's ``V − E + F``, or a closed
        cloud's triangulation's (used when within 1 of the Gauss–Bonnet estimate), else
        a closed cloud's total Gaussian curvature over 2π (Gauss–Bonnet); NaN with an
        open boundary. The indices add up to it; where they do not (a cloud whose
        triangulation does not close, where the loops can miss or merge singularities on
        thin or coarse parts; a mesh's faces at tips sharper than the faces), a
        RuntimeWarning says so.

    Examples
    --------
    A cross field (``n = 4``) on a sphere has singularities of index ``1/4`` adding up to
    the Euler characteristic 2:

    >>> import o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> field = om.direction_field(random_sphere(1000, seed=0), n=4)
    >>> field.n, field.directions.shape, len(field.indices), float(field.indices.sum())
    (4, (1000, 3), 8, 2.0)
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
    euler_characteristic: float = float("nan")


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


def face_indices(faces, points, frames, values, degree):
    """Index of ``values`` in each triangle of a mesh, in turns (index × ``degree``).

    Each face is walked counter-clockwise about its vertices' normals; ``δ_ab`` is the
    turn from ``z_a`` to ``z_b`` carried into ``a``'s frame, and the face's holonomy
    ``Ω`` (the connection's turn around it, in ``(−π, π]``) is taken off:
    ``w = (Σ δ − degree · Ω) / 2π``. The ``δ`` of each inner edge cancel between its two
    faces, so on a closed mesh the windings add up to ``degree`` × the Euler
    characteristic exactly (Poincaré–Hopf).

    Parameters
    ----------
    faces : ndarray of shape (f, 3), int
    points : ndarray of shape (m, 3)
    frames : ndarray of shape (m, 3, 3)
        Rows ``(t_u, t_v, n)``, normals consistently oriented.
    values : ndarray of shape (m,), complex
        Unit ``u^degree`` per point (0: undefined; faces touching it get 0).
    degree : int

    Returns
    -------
    ndarray of shape (f,), int

    Examples
    --------
    >>> import numpy as np, trimesh
    >>> from o3d_meshless.vector_fields.direction_fields import face_indices
    >>> from o3d_meshless.sampling.frames import frames_from_normals
    >>> mesh = trimesh.creation.icosphere(subdivisions=2)
    >>> p = np.asarray(mesh.vertices)
    >>> frames = frames_from_normals(p)
    >>> east = np.cross([0.3, 0.2, 0.9], p)             # turns about an axis through faces
    >>> z = np.einsum("ij,ij->i", east, frames[:, 0]) + 1j * np.einsum(
    ...     "ij,ij->i", east, frames[:, 1])
    >>> w = face_indices(mesh.faces, p, frames, z / np.maximum(abs(z), 1e-12), 1)
    >>> int(w.sum()), int((w != 0).sum())              # two poles of index +1
    (2, 2)
    """
    f = np.asarray(faces, dtype=np.intp)
    a, b, c = f.T
    face_normal = np.cross(points[b] - points[a], points[c] - points[a])
    flip = np.einsum("ij,ij->i", face_normal, frames[a, 2] + frames[b, 2] + frames[c, 2]) < 0
    b, c = np.where(flip, c, b), np.where(flip, b, c)
    turn = np.zeros(len(f))
    holonomy = np.zeros(len(f))
    for i, j in ((a, b), (b, c), (c, a)):
        rho = frame_rotations(frames, i, j, points)
        turn += np.angle(np.exp(1j * degree * rho) * values[j] * np.conj(values[i]))
        holonomy += rho
    holonomy = np.angle(np.exp(1j * holonomy))
    w = np.rint((turn - degree * holonomy) / (2 * np.pi)).astype(int)
    w[(values[a] == 0) | (values[b] == 0) | (values[c] == 0)] = 0
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
    faces = mesh_faces(geometry) if not isinstance(geometry, Sampling) else None
    if faces is not None and not len(faces):
        faces = None                        # a mesh without faces is a cloud
    chi = euler_characteristic(surf, faces)
    tiled = faces
    if faces is None:
        # a cloud: a closed triangulation from the points' tangent-plane Delaunay stars
        # one point per group of coincident ones, outliers left out: the sampling's own
        include = np.zeros(N, dtype=bool)
        first = surf.sampling.neighborhoods.first_members()
        kept = surf.sampling.kept
        include[first if kept is None else kept[first]] = True
        tiled, euler = closed_cloud_faces(surf.points, surf.frames, include=include)
        if tiled is not None and (np.isfinite(chi) and abs(euler - chi) >= 1):
            tiled = None                    # its topology disagrees with Gauss-Bonnet
        elif tiled is not None:
            chi = float(euler)
    if tiled is not None:
        # each singularity in exactly one face, the count exact (Poincaré–Hopf)
        fw = face_indices(tiled, surf.points, surf.frames, unit, n)
        hit = np.flatnonzero(fw)
        pts = surf.points[tiled[hit]].mean(axis=1)
        idx = fw[hit]
        corner = np.argmin(np.linalg.norm(surf.points[tiled[hit]] - pts[:, None], axis=2),
                           axis=1)
        where = tiled[hit, corner]
    else:
        pts, idx, where = _singularities(surf.K, surf.points, w)
    if np.isfinite(chi) and abs(idx.sum() / n - round(chi)) > 0.5 / n:
        where_from = ("faces whose corners' normals or turn disagree (tips sharper than the "
                      "faces)" if faces is not None else
                      "faces whose corners' normals or turn disagree" if tiled is not None
                      else "thin or coarsely sampled parts, where the points' tangent-plane "
                      "triangulation does not close into a surface and the neighbour loops "
                      "miss or merge singularities")
        warnings.warn(
            f"direction_field: the singularities' indices add up to {idx.sum() / n:g}, but "
            f"the surface's Euler characteristic is {chi:.3g}: some are miscounted, on "
            f"{where_from}" + ("" if tiled is not None else "; pass the mesh, if there is "
                               "one, for a count by faces"), RuntimeWarning, stacklevel=2)
    return DirectionField(n, directions, unit, surf.frames, float(vals[0]), w, pts, where,
                          idx / n, chi)


def euler_characteristic(surf, faces=None):
    """A closed mesh's ``V − E + F``; a closed cloud's total Gaussian curvature of the
    connection over 2π (Gauss–Bonnet); NaN with an open boundary."""
    if faces is not None:
        # coincident vertices (a texture's seams) are one point of the surface
        _, same = np.unique(surf.points, axis=0, return_inverse=True)
        faces = same.ravel()[np.asarray(faces)]
        edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
        _, count = np.unique(edges, axis=0, return_counts=True)
        if (count != 2).any():
            return float("nan")
        return float(len(np.unique(faces)) - len(count) + len(faces))
    boundary = np.asarray(surf.sampling.diagnostics["boundary_mask"], dtype=bool)
    if boundary.any():
        return float("nan")
    curvature = loop_curvature(surf.K, surf.points, surf.frames)
    area = np.asarray(surf.M.diagonal()).ravel()
    ok = np.isfinite(curvature)
    return float(np.sum(curvature[ok] * area[ok]) / (2 * np.pi))
