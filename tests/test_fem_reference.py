"""The P1 FEM reference (o3d_meshless.testing.fem) the benchmarks and tests compare with."""
import numpy as np
import pytest
import trimesh
from scipy.sparse import linalg as sla

from o3d_meshless.testing.fem import p1_fem


@pytest.mark.parametrize("mass", ["consistent", "lumped"])
def test_sphere_spectrum_is_l_l_plus_1(mass):
    mesh = trimesh.creation.icosphere(subdivisions=4)          # 2562 vertices
    K, M = p1_fem(mesh.vertices, mesh.faces, mass=mass)
    assert abs(M.sum() - mesh.area) < 1e-9                     # the mesh's own area
    vals = np.sort(sla.eigsh(K.tocsc(), 9, M.tocsc(), sigma=-1e-3,
                             return_eigenvectors=False))
    exact = np.array([0, 2, 2, 2, 6, 6, 6, 6, 6], float)
    assert abs(vals[0]) < 1e-8
    assert np.abs(vals[1:] / exact[1:] - 1).max() < 0.01


def test_bad_mass_names_the_option():
    with pytest.raises(ValueError, match="`mass`"):
        p1_fem(np.eye(3), [[0, 1, 2]], mass="diagonal")
