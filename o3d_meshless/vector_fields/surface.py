"""The fitted surface every vector-field tool works on, and checks of tangent vectors.

One shared :class:`~o3d_meshless.Sampling`, the symmetric weak form (stiffness ``K``,
lumped areas ``M``, averaged mass), the Taylor gradient ``G`` when asked for, and frames
with consistently oriented normals: a vector field needs an orientation (the sign of
``J = n ×``), the scalar operators do not. A sampling prepared with ``orient=None``
gets a copy of its frames oriented over a minimum spanning tree (``"mst"``, Hoppe et al.
1992); on a non-orientable surface (a Möbius strip) one seam is left where ``J`` flips.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..sampling.frames import orient_normals
from .._validation import real_array
from ..toolkit.geodesic import mean_spacing, weak_operators
from .connection import connection_matrix, to_complex

__all__ = ["VectorSurface", "fit_surface", "check_tangent", "MASS_OPTIONS",
           "TANGENT_TOL"]

MASS_OPTIONS = ("lumped", "averaged")
#: tangent vectors may have a normal component of at most this share of their length
TANGENT_TOL = 1e-2


@dataclass
class VectorSurface:
    """Operators of one fitted surface, in input order (see module docstring).

    ``frames`` are right-handed rows ``(t_u, t_v, n)`` with oriented normals; ``L`` the
    connection Laplacian (complex Hermitian), ``B`` its mass (complex Hermitian, the
    averaged or lumped mass carried by the connection), ``K``/``M``/``mass`` the scalar
    weak form; ``G`` the gradient (3n × n) or None; ``excluded`` outliers or None.
    """

    sampling: object
    points: np.ndarray
    frames: np.ndarray
    K: sparse.csr_matrix
    M: sparse.csr_matrix
    mass: sparse.csr_matrix
    L: sparse.csr_matrix
    B: sparse.csr_matrix
    G: sparse.csr_matrix | None
    spacing: float
    excluded: np.ndarray | None

    @property
    def n(self):
        return self.K.shape[0]



def fit_surface(geometry, *, k=16, normals="auto", height_order=2, orient="mst",
                workers=-1, mass="averaged", gradient=False, degree=1):
    """:class:`VectorSurface` of ``geometry`` (a ``Sampling`` is used as it is)."""
    s, lb, grad = weak_operators(geometry, k=k, normals=normals, height_order=height_order,
                                 orient=orient, workers=workers, gradient=gradient)
    frames = oriented_frames(s)
    B = lb.mass_ if mass == "averaged" else lb.M_
    pts = np.nan_to_num(s.points)
    L = connection_matrix(lb.K_, frames, degree=degree, diagonal="stiffness", points=pts)
    Bc = connection_matrix(B, frames, degree=degree, points=pts)
    mask = s.diagnostics.get("outlier_mask")
    excluded = mask if mask is not None and mask.any() else None
    return VectorSurface(s, s.points, frames, lb.K_, lb.M_, B, L, Bc,
                         None if grad is None else grad.G_, mean_spacing(s), excluded)


def oriented_frames(sampling):
    """Frames of the input points with consistently oriented normals (a copy)."""
    frames = sampling.frames
    if sampling.options.get("orient") is None:
        frames = frames.copy()
        nb = sampling.neighborhoods
        orient_normals(nb.points, frames, nb.indices, "mst")
    return np.ascontiguousarray(sampling.expand(frames))


def check_tangent(vectors, normals, *, name="vectors", fix_hint=""):
    """Vectors of shape (m, 3) (or (3,) for one) tangent to ``normals`` (m, 3).

    Returns the vectors as float64 (m, 3) with their (tiny) normal part removed.
    """
    arr = real_array(vectors, name=name, what="a real numeric array of 3-D vectors")
    m = len(normals)
    if arr.shape == (3,) and m == 1:
        arr = arr[None]
    if arr.shape != (m, 3):
        raise ValueError(f"`{name}` must have shape ({m}, 3): one 3-D tangent vector per "
                         f"source; got {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite; got NaN or inf")
    length = np.linalg.norm(arr, axis=1)
    if (length == 0).any():
        raise ValueError(f"`{name}` must be non-zero; row(s) "
                         f"{np.flatnonzero(length == 0)[:5].tolist()} are zero")
    normal = np.einsum("ij,ij->i", arr, normals)
    bad = np.abs(normal) > TANGENT_TOL * length
    if bad.any():
        raise ValueError(
            f"`{name}` must be tangent to the surface (normal component at most "
            f"{TANGENT_TOL:g} of the length); row(s) {np.flatnonzero(bad)[:5].tolist()} are "
            "not (largest share "
            f"{float(np.max(np.abs(normal) / length)):.3g}). Project them first: "
            f"v - (v @ n) * n with n the normals at the sources{fix_hint}")
    return arr - normal[:, None] * normals


def complex_field(vectors, frames, *, name="X"):
    """A tangent field of shape (n, 3) (finite) → complex coordinates (n,)."""
    n = len(frames)
    arr = real_array(vectors, name=name, what=f"a real numeric array of shape ({n}, 3)")
    if arr.shape != (n, 3):
        raise ValueError(f"`{name}` must have shape ({n}, 3): one 3-D tangent vector per "
                         f"point; got {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64)
    ok = np.isfinite(frames[:, 0, 0])
    if not np.isfinite(arr[ok]).all():
        raise ValueError(f"`{name}` must be finite (NaN is allowed only at points excluded "
                         "as outliers)")
    out = np.zeros(n, dtype=np.complex128)
    out[ok] = to_complex(arr[ok], frames[ok])
    return out
