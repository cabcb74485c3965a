"""Tangent vector fields (issue 27): connection Laplacian, vector heat transport and log
map, Hodge decomposition, smoothest direction fields. Small problems; the 20k-point
targets are measured by benchmarks/bench_vector_fields.py."""
import numpy as np
import pytest

import o3d_meshless as om
from o3d_meshless.testing import random_sphere, random_torus
from o3d_meshless.vector_fields.connection import (connection_matrix, frame_rotations,
                                                   real_form, to_complex, to_vectors)


@pytest.fixture(scope="module")
def sphere_op():
    return om.ConnectionLaplacian().fit(random_sphere(3000, seed=3))


# ---------------------------------------------------------------- connection Laplacian

def test_rotations_are_exact_transport_on_the_sphere():
    # on the sphere, the minimal rotation n_j -> n_i IS Levi-Civita transport along the arc
    rng = np.random.default_rng(0)
    p = random_sphere(50, seed=1)
    n = p.copy()
    t = np.cross(n, rng.normal(size=(50, 3)))
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    frames = np.stack([t, np.cross(n, t), n], axis=1)
    i, j = np.arange(49), np.arange(1, 50)
    theta = frame_rotations(frames, i, j)
    v = to_vectors(np.exp(1j * rng.uniform(0, 6, 49)), frames[j])
    # exact: rotate about the axis x_j × x_i by the angle between them
    axis = np.cross(p[j], p[i])
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    ang = np.arccos(np.clip(np.einsum("ij,ij->i", p[i], p[j]), -1, 1))
    rot = (v * np.cos(ang)[:, None] + np.cross(axis, v) * np.sin(ang)[:, None]
           + axis * np.einsum("ij,ij->i", axis, v)[:, None] * (1 - np.cos(ang))[:, None])
    z = np.exp(1j * theta) * to_complex(v, frames[j])
    assert np.allclose(to_vectors(z, frames[i]), rot, atol=1e-12)


def test_connection_laplacian_is_hermitian_psd(sphere_op):
    L, B = sphere_op.L_, sphere_op.B_
    assert abs(L - L.conj().T).max() < 1e-12
    assert abs(B - B.conj().T).max() < 1e-12
    z = np.random.default_rng(1).normal(size=(5, L.shape[0])) @ np.diag(
        np.ones(L.shape[0])) * (1 + 0.5j)
    for row in z:
        assert (row.conj() @ (L @ row)).real >= -1e-12
        assert (row.conj() @ (B @ row)).real > 0
    # the real form is the same operator
    x = np.random.default_rng(2).normal(size=L.shape[0]) + 1j
    y = real_form(L) @ np.r_[x.real, x.imag]
    assert np.allclose(y[:L.shape[0]] + 1j * y[L.shape[0]:], L @ x)


def test_connection_laplacian_sphere_spectrum(sphere_op):
    # l(l+1) - 1, real multiplicity 2(2l+1)
    res = sphere_op.spectrum(2 * (3 + 5 + 7))
    vals = res.values
    i = 0
    for l in (1, 2, 3):
        m = 2 * (2 * l + 1)
        exact = l * (l + 1) - 1
        rms = np.sqrt(np.mean(((vals[i:i + m] - exact) / exact) ** 2))
        assert rms < 3e-3, (l, rms)
        i += m
    assert res.report.n_negative == 0
    X = res.vectors[:, :, 0]
    assert np.abs(np.einsum("ij,ij->i", X, sphere_op.frames_[:, 2])).max() < 1e-12


def test_gradients_of_first_harmonics_are_l1_modes(sphere_op):
    p = sphere_op.points_
    X = np.array([0.3, -0.2, 1.0]) - (p @ np.array([0.3, -0.2, 1.0]))[:, None] * p
    z = to_complex(X, sphere_op.frames_)
    rq = (z.conj() @ (sphere_op.L_ @ z)).real / (z.conj() @ (sphere_op.B_ @ z)).real
    assert abs(rq - 1.0) < 5e-3


def test_connection_laplacian_one_liner_and_degree():
    p = random_sphere(800, seed=4)
    L, B = om.connection_laplacian(p)
    L2, _ = om.connection_laplacian(p, degree=2)
    assert L.shape == L2.shape == (800, 800)
    assert np.allclose(L.diagonal(), L2.diagonal())
    assert not np.allclose(L.data, L2.data)
    with pytest.raises(ValueError, match="degree"):
        om.ConnectionLaplacian(degree=5).fit(p)
    with pytest.raises(ValueError, match="mass"):
        om.ConnectionLaplacian(mass="consistent").fit(p)


def test_connection_matrix_keeps_a_real_matrix_on_aligned_frames():
    from scipy import sparse
    frames = np.tile(np.eye(3), (4, 1, 1))
    A = sparse.csr_matrix(np.array([[2.0, -1, -1, 0], [-1, 2, 0, -1], [-1, 0, 2, -1],
                                    [0, -1, -1, 2]]))
    C = connection_matrix(A, frames, diagonal="stiffness")
    assert np.allclose(C.toarray(), A.toarray())
