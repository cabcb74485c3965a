"""Files that round-trip: what om.attach / om.save_ply / om.save_npz write comes back to
round-off through om.read_geometry, Open3D's readers and trimesh."""
import numpy as np
import pytest
import scipy.sparse as sp

import o3d_meshless as om

o3d = pytest.importorskip("open3d")
trimesh = pytest.importorskip("trimesh")


@pytest.fixture(scope="module")
def cow():
    mesh = trimesh.creation.icosphere(2)
    grad = om.surface_gradient(mesh, mesh.vertices[:, 2])
    return mesh, grad


def _cols(cloud, name, c):
    return np.column_stack([cloud.point[f"{name}_{j}"].numpy()[:, 0] for j in range(c)])


def test_tensor_cloud_through_open3d_writer_keeps_colours_and_columns(tmp_path, cow):
    mesh, grad = cow
    pcd = o3d.t.geometry.PointCloud(o3d.core.Tensor(np.asarray(mesh.vertices)))
    out = om.attach(pcd, {"grad": grad, "f": mesh.vertices[:, 2]}, color_by="f")
    path = tmp_path / "t.ply"
    o3d.t.io.write_point_cloud(str(path), out)
    legacy = o3d.io.read_point_cloud(str(path))
    tensor = o3d.t.io.read_point_cloud(str(path))
    want = out.point["colors"].numpy()
    np.testing.assert_array_equal(np.round(np.asarray(legacy.colors) * 255), want)
    np.testing.assert_array_equal(tensor.point["colors"].numpy(), want)
    np.testing.assert_array_equal(_cols(tensor, "grad", 3), grad)


@pytest.mark.parametrize("kind", ["o3d_tensor", "o3d_legacy_mesh", "trimesh_mesh",
                                  "trimesh_pcd", "dict"])
def test_save_ply_of_an_attached_geometry_reads_back_exactly(tmp_path, cow, kind):
    mesh, grad = cow
    v = np.asarray(mesh.vertices)
    geom = {"o3d_tensor": lambda: o3d.t.geometry.PointCloud(o3d.core.Tensor(v)),
            "o3d_legacy_mesh": lambda: o3d.geometry.TriangleMesh(
                o3d.utility.Vector3dVector(v), o3d.utility.Vector3iVector(mesh.faces)),
            "trimesh_mesh": lambda: mesh.copy(),
            "trimesh_pcd": lambda: trimesh.PointCloud(v),
            "dict": lambda: {"points": v}}[kind]()
    out = om.attach(geom, {"grad": grad, "f": v[:, 2]}, color_by="f")
    path = tmp_path / f"{kind}.ply"
    om.save_ply(path, out)
    back = om.read_geometry(path)
    np.testing.assert_array_equal(om.as_points(back), v)
    np.testing.assert_array_equal(_cols(back, "grad", 3), grad)
    np.testing.assert_array_equal(back.point["f"].numpy()[:, 0], v[:, 2])
    assert back.point["colors"].numpy().dtype == np.uint8
    if kind in ("o3d_legacy_mesh", "trimesh_mesh"):       # faces are written too
        faces = trimesh.load(path, process=False).faces
        np.testing.assert_array_equal(faces, mesh.faces)


def test_save_ply_refuses_faces_outside_the_points(tmp_path):
    with pytest.raises(ValueError, match="`faces` must index the 3 points"):
        om.save_ply(tmp_path / "x.ply", np.eye(3), faces=[[0, 1, 5]])


def test_npz_keeps_sparse_matrices_and_load_npz_is_exported(tmp_path):
    L, M = om.laplace_beltrami(trimesh.creation.icosphere(2))
    path = tmp_path / "ops.npz"
    om.save_npz(path, L=L, M=M, note="text", k=16)
    back = om.load_npz(path)
    assert sp.issparse(back["L"]) and (back["L"] != L).nnz == 0
    assert (back["M"] != M).nnz == 0 and back["note"] == "text" and back["k"] == 16


def test_a_float32_tensor_cloud_gets_float32_attributes():
    p = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
    pcd = o3d.t.geometry.PointCloud(o3d.core.Tensor(p))
    out = om.attach(pcd, {"f": p[:, 0].astype(np.float64)})
    assert out.point["f"].dtype == o3d.core.float32
    np.testing.assert_array_equal(out.point["f"].numpy()[:, 0], p[:, 0])
