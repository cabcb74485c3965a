"""P1 finite elements on a triangle mesh: the reference the benchmarks and tests compare
the meshless operators against (one implementation, not one per script)."""
from __future__ import annotations

import numpy as np
from scipy import sparse

__all__ = ["p1_fem"]

MASS_KINDS = ("consistent", "lumped")


def p1_fem(vertices, faces, *, mass="consistent"):
    """Cotangent stiffness ``K`` and mass ``M`` of linear elements on ``(vertices, faces)``.

    Parameters
    ----------
    vertices : array_like of shape (n, 3)
    faces : array_like of shape (m, 3), int
    mass : {"consistent", "lumped"}, default="consistent"
        The consistent P1 mass (``area/6`` on the diagonal, ``area/12`` per edge of each
        triangle) or its row sums (``area/3`` per corner).

    Returns
    -------
    K, M : scipy.sparse.csr_matrix of shape (n, n)
        ``K`` symmetric positive semi-definite with ``K·1 = 0`` (``K ≈ M(−Δ)``).

    Examples
    --------
    Two triangles making the unit square: the total mass is its area, and ``K`` is
    zero on linear functions away from the boundary's flux.

    >>> import numpy as np
    >>> from o3d_meshless.testing.fem import p1_fem
    >>> v = np.array([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    >>> K, M = p1_fem(v, [[0, 1, 2], [0, 2, 3]])
    >>> round(float(M.sum()), 12), bool(np.allclose(K @ np.ones(4), 0))
    (1.0, True)
    >>> K.toarray()[0].round(6).tolist()
    [1.0, -0.5, 0.0, -0.5]
    """
    if mass not in MASS_KINDS:
        raise ValueError(f"`mass` must be one of {MASS_KINDS}; got {mass!r}")
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.intp)
    n = len(v)
    rows, cols, weights = [], [], []
    for a in range(3):                  # the angle at corner o faces edge (i, j)
        i, j, o = f[:, a], f[:, (a + 1) % 3], f[:, (a + 2) % 3]
        e1, e2 = v[i] - v[o], v[j] - v[o]
        cot = np.einsum("ij,ij->i", e1, e2) / np.linalg.norm(np.cross(e1, e2), axis=1)
        rows += [i, j]
        cols += [j, i]
        weights += [0.5 * cot, 0.5 * cot]
    W = sparse.csr_matrix((np.concatenate(weights), (np.concatenate(rows),
                                                     np.concatenate(cols))), shape=(n, n))
    K = (sparse.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]),
                                axis=1)
    if mass == "lumped":
        return K, sparse.diags(np.bincount(f.ravel(), np.repeat(area / 3, 3), n)).tocsr()
    pattern = np.array([[2, 1, 1], [1, 2, 1], [1, 1, 2]], dtype=np.float64) / 12
    M = sparse.csr_matrix(((area[:, None, None] * pattern).ravel(),
                           (np.repeat(f, 3, axis=1).ravel(), np.tile(f, 3).ravel())),
                          shape=(n, n))
    return K, M
