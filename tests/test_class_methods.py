"""register(): methods on every Open3D / trimesh geometry class, cached by content."""
import numpy as np
import pytest

import o3d_meshless as om
from o3d_meshless.io import class_methods

o3d = pytest.importorskip("open3d")
trimesh = pytest.importorskip("trimesh")


@pytest.fixture
def registered():
    om.clear_cache()
    om.register()
    yield
    om.unregister()
    om.clear_cache()


def _icosphere():
    return trimesh.creation.icosphere(3)


def test_meshes_get_the_methods_too(registered):
    tm = _icosphere()
    legacy = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(tm.vertices),
                                       o3d.utility.Vector3iVector(tm.faces))
    tensor = o3d.t.geometry.TriangleMesh.from_legacy(legacy)
    ref = om.spectrum(tm, 8).values
    for geom in (legacy, tensor, tm):
        # Open3D and trimesh face normals differ in the last digits
        np.testing.assert_allclose(geom.spectrum(8).values, ref, rtol=1e-6, atol=1e-9)


def test_a_repeated_call_is_served_from_the_cache_and_copied(registered, monkeypatch):
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(_icosphere().vertices))
    calls = []
    real = om.spectrum

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(om, "spectrum", counting)
    first = pcd.spectrum(6)
    first.values[:] = -1.0                      # the caller's copy, not the cache's
    second = pcd.spectrum(6)
    assert len(calls) == 1 and (second.values >= -1e-9).all()
    pcd.spectrum(7)                             # other arguments: computed
    assert len(calls) == 2


def test_changed_points_invalidate_the_cache(registered):
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(_icosphere().vertices))
    before = pcd.spectrum(6).values
    pcd.scale(2.0, center=(0.0, 0.0, 0.0))      # eigenvalues scale by 1/4
    after = pcd.spectrum(6).values
    np.testing.assert_allclose(after[1:], before[1:] / 4, rtol=1e-6)


def test_array_arguments_are_keyed_by_content(registered):
    tm = _icosphere()
    f = tm.vertices[:, 2].copy()
    g1 = tm.surface_gradient(f)
    f *= 2.0                                    # same array object, new values
    g2 = tm.surface_gradient(f)
    np.testing.assert_allclose(g2, 2 * g1, rtol=1e-9, atol=1e-12)


def test_the_cache_is_bounded(registered):
    tm = _icosphere()
    for c in range(class_methods.CACHE_SIZE + 3):
        tm.surface_gradient(tm.vertices[:, 2] * (c + 1))
    assert len(class_methods._CACHE) == class_methods.CACHE_SIZE
