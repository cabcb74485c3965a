"""Tests for o3d_meshless.io.read: reading geometry files, npz with sparse matrices, PLY writing.

Every file is written to ``tmp_path`` here (or is the shipped bunny), so the tests run
from a clean clone.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import open3d as o3d
import pytest
import scipy.sparse as sp
import trimesh

from o3d_meshless.sampling.adapters import as_normals, as_points
from o3d_meshless.io.read import load_npz, read_geometry, sample_path, save_npz, save_ply

REPO = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(7)
PTS = RNG.random((25, 3)) + np.array([5e5, 4.5e6, 10.0])   # UTM-sized: float32 would fail
NRM = RNG.normal(size=(25, 3))
NRM /= np.linalg.norm(NRM, axis=1, keepdims=True)


def _text(path, rows, header=None):
    lines = [] if header is None else [header]
    lines += [" ".join(f"{v:.17g}" for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------
# shipped sample
# ---------------------------------------------------------------------------

def test_sample_path_is_the_bunny():
    path = sample_path()
    assert isinstance(path, Path) and path.name == "bunny.ply" and path.is_file()
    pcd = read_geometry(path)
    assert isinstance(pcd, o3d.t.geometry.PointCloud)
    pts = as_points(pcd)
    assert pts.shape == (8171, 3)
    assert pcd.point.positions.dtype == o3d.core.float64
    # the extra PLY vertex properties come along as point attributes
    assert {"confidence", "intensity"} <= set(pcd.point)
    # same vertices as trimesh sees in the file (faces are ignored for the cloud)
    mesh = trimesh.load(path, process=False, maintain_order=True)
    np.testing.assert_array_equal(pts, np.asarray(mesh.vertices, dtype=np.float64))


# ---------------------------------------------------------------------------
# read_geometry
# ---------------------------------------------------------------------------

def test_read_ply_and_pcd_written_by_open3d(tmp_path):
    pcd = o3d.t.geometry.PointCloud(o3d.core.Tensor(PTS))
    pcd.point.normals = o3d.core.Tensor(NRM)
    pcd.point["curv"] = o3d.core.Tensor(PTS[:, :1] - PTS[:, :1].mean())
    for ext in (".ply", ".pcd"):
        path = tmp_path / f"cloud{ext}"
        assert o3d.t.io.write_point_cloud(str(path), pcd)
        got = read_geometry(path)
        assert isinstance(got, o3d.t.geometry.PointCloud)
        np.testing.assert_array_equal(as_points(got), PTS)
        np.testing.assert_array_equal(as_normals(got), NRM)
        np.testing.assert_array_equal(got.point["curv"].numpy(), pcd.point["curv"].numpy())


@pytest.mark.parametrize("ext", [".xyz", ".xyzn", ".pts", ".XYZ"])
def test_read_text_formats_keep_double_precision(tmp_path, ext):
    if ext == ".xyzn":
        path = _text(tmp_path / f"c{ext}", np.hstack([PTS, NRM]))
    elif ext == ".pts":
        path = _text(tmp_path / f"c{ext}", PTS, header=str(len(PTS)))
    else:
        path = _text(tmp_path / f"c{ext}", PTS)
    got = read_geometry(str(path))
    assert isinstance(got, o3d.t.geometry.PointCloud)
    np.testing.assert_allclose(as_points(got), PTS, rtol=0, atol=1e-9)
    if ext == ".xyzn":
        np.testing.assert_allclose(as_normals(got), NRM, rtol=0, atol=1e-9)
    else:
        assert as_normals(got) is None


def test_read_ply_with_faces_gives_cloud_of_vertices(tmp_path):
    box = trimesh.creation.box()
    path = tmp_path / "box.ply"
    box.export(path)
    got = read_geometry(path)
    assert isinstance(got, o3d.t.geometry.PointCloud)
    np.testing.assert_array_equal(as_points(got), box.vertices)


@pytest.mark.parametrize("ext", [".obj", ".off"])
def test_read_mesh_formats_keep_vertex_order(tmp_path, ext):
    mesh = trimesh.creation.icosphere(subdivisions=1)
    # shuffle so that any re-ordering by trimesh's processing would show
    order = RNG.permutation(len(mesh.vertices))
    inverse = np.argsort(order)
    shuffled = trimesh.Trimesh(mesh.vertices[order], inverse[mesh.faces], process=False)
    path = tmp_path / f"sphere{ext}"
    shuffled.export(path)
    got = read_geometry(path)
    assert isinstance(got, trimesh.Trimesh)
    np.testing.assert_allclose(as_points(got), shuffled.vertices, atol=1e-6)
    np.testing.assert_array_equal(got.faces, shuffled.faces)


def test_read_obj_with_vertices_only_gives_trimesh_pointcloud(tmp_path):
    path = tmp_path / "pts.obj"
    path.write_text("".join(f"v {x:.17g} {y:.17g} {z:.17g}\n" for x, y, z in PTS[:5].round(3)))
    got = read_geometry(path)
    assert isinstance(got, trimesh.PointCloud)
    np.testing.assert_allclose(as_points(got), PTS[:5].round(3))


def test_read_obj_scene_is_concatenated(tmp_path, monkeypatch):
    a = trimesh.creation.box()
    b = trimesh.creation.box().apply_translation([3.0, 0, 0])
    scene = trimesh.Scene([a, b])
    monkeypatch.setattr(trimesh, "load", lambda *args, **kw: scene)
    path = tmp_path / "scene.obj"
    path.write_text("# stands in for a multi-part file\n")
    got = read_geometry(path)
    assert isinstance(got, trimesh.Trimesh)
    assert len(got.vertices) == 16 and len(got.faces) == 24
    assert np.isclose(as_points(got)[:, 0].max(), 3.5)


def test_read_npy(tmp_path):
    np.save(tmp_path / "p.npy", PTS)
    got = read_geometry(tmp_path / "p.npy")
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, PTS)

    np.save(tmp_path / "pn.npy", np.hstack([PTS, NRM]).astype(np.float32))
    got = read_geometry(tmp_path / "pn.npy")
    assert isinstance(got, dict) and sorted(got) == ["normals", "points"]
    assert got["points"].dtype == np.float64
    np.testing.assert_array_equal(as_points(got), PTS.astype(np.float32))
    np.testing.assert_array_equal(as_normals(got), NRM.astype(np.float32))

    planar = RNG.random((9, 2))
    np.save(tmp_path / "planar.npy", planar)
    np.testing.assert_array_equal(read_geometry(tmp_path / "planar.npy"), planar)


@pytest.mark.parametrize("arr, match", [
    (np.zeros((4, 4)), r"must hold an array of shape \(n, 3\).*got \(4, 4\)"),
    (np.zeros(3), r"must hold an array of shape"),
    (np.zeros((0, 3)), r"reads as 0 points"),
    (np.array([[0.0, 0, 0], [np.nan, 1, 2]]), r"must be finite"),
    (np.hstack([PTS, np.full((25, 3), np.inf)]), r"\(normals\)` must be finite"),
])
def test_read_npy_rejects_bad_arrays(tmp_path, arr, match):
    path = tmp_path / "bad.npy"
    np.save(path, arr)
    with pytest.raises(ValueError, match=match):
        read_geometry(path)


def test_read_missing_file(tmp_path):
    path = tmp_path / "nope.ply"
    with pytest.raises(FileNotFoundError, match="nope.ply") as info:
        read_geometry(path)
    assert info.value.filename == str(path)


def test_read_unknown_extension(tmp_path):
    path = tmp_path / "cloud.las"
    path.write_bytes(b"LASF")
    with pytest.raises(ValueError, match=r"unsupported extension '.las'.*\.ply.*\.obj.*\.npy"):
        read_geometry(path)
    with pytest.raises(ValueError, match=r"`path` must be a str"):
        read_geometry(42)


@pytest.mark.parametrize("name, content", [
    ("empty.xyz", ""),
    ("empty.pcd", ""),
    ("broken.ply", "not a ply file\n"),
    ("empty.obj", "# nothing here\n"),
])
def test_read_empty_or_broken_files(tmp_path, capfd, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValueError, match=r"reads as 0 points"):
        read_geometry(path)
    out, _ = capfd.readouterr()
    assert "Open3D WARNING" not in out  # Open3D's console warnings are silenced


# ---------------------------------------------------------------------------
# save_npz / load_npz
# ---------------------------------------------------------------------------

def test_npz_roundtrip_dense_sparse_and_scalars(tmp_path):
    L = sp.random(30, 30, density=0.2, format="csr", random_state=1)
    M = sp.diags(RNG.random(30)).tocoo()       # any sparse format is stored as CSR
    G = sp.random_array((90, 30), density=0.1, format="csr", random_state=2)
    evecs = RNG.random((30, 4))
    ints = np.arange(30, dtype=np.int32)
    path = save_npz(tmp_path / "ops.npz", L=L, M=M, G=G, evecs=evecs, ints=ints, k=20,
                    method="taylor", ok=True)
    assert path == tmp_path / "ops.npz" and path.is_file()
    got = load_npz(path)
    assert sorted(got) == sorted(["L", "M", "G", "evecs", "ints", "k", "method", "ok"])
    for name, ref in (("L", L), ("M", M), ("G", G)):
        assert sp.issparse(got[name]) and got[name].format == "csr"
        assert got[name].shape == ref.shape and got[name].dtype == ref.dtype
        assert (got[name] != ref.tocsr()).nnz == 0
    assert isinstance(got["L"], sp.csr_matrix) and isinstance(got["G"], sp.csr_array)
    np.testing.assert_array_equal(got["evecs"], evecs)
    assert got["ints"].dtype == np.int32
    np.testing.assert_array_equal(got["ints"], ints)
    assert got["k"] == 20 and got["method"] == "taylor" and bool(got["ok"]) is True
    # the file is a plain npz that numpy loads without pickle
    with np.load(path, allow_pickle=False) as raw:
        assert "L__csr_indptr" in raw.files


def test_npz_suffix_is_added(tmp_path):
    path = save_npz(tmp_path / "results", x=np.ones(3))
    assert path.name == "results.npz" and path.is_file()
    np.testing.assert_array_equal(load_npz(path)["x"], np.ones(3))


def test_npz_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"`a__csr_data`: names must not contain"):
        save_npz(tmp_path / "x.npz", a__csr_data=np.ones(2))
    with pytest.raises(ValueError, match=r"`obj` must be a numeric/str array"):
        save_npz(tmp_path / "x.npz", obj=None)
    with pytest.raises(ValueError, match=r"`obj` must be"):
        save_npz(tmp_path / "x.npz", obj=[np.ones(2), np.ones(3)])
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "missing.npz")


# ---------------------------------------------------------------------------
# save_ply
# ---------------------------------------------------------------------------

def test_save_ply_read_back_by_open3d_and_trimesh(tmp_path):
    curv = PTS[:, 2] - PTS[:, 2].mean()
    grad = RNG.normal(size=(25, 3))
    colors = RNG.random((25, 3))
    path = save_ply(tmp_path / "out.ply", PTS, {"curv": curv, "grad": grad,
                                                "mode_1": grad[:, :1]},
                    normals=NRM, colors=colors)
    assert path == tmp_path / "out.ply"
    header = path.read_bytes().split(b"end_header\n")[0].decode()
    assert "format binary_little_endian 1.0" in header
    assert "property double x" in header and "property uchar red" in header
    assert "property double grad_2" in header and "property double mode_1_0" in header

    pcd = o3d.t.io.read_point_cloud(str(path))
    np.testing.assert_array_equal(pcd.point.positions.numpy(), PTS)
    np.testing.assert_array_equal(pcd.point.normals.numpy(), NRM)
    np.testing.assert_array_equal(pcd.point.colors.numpy(), np.round(colors * 255))
    assert pcd.point["curv"].dtype == o3d.core.float64
    np.testing.assert_array_equal(pcd.point["curv"].numpy()[:, 0], curv)
    for j in range(3):
        np.testing.assert_array_equal(pcd.point[f"grad_{j}"].numpy()[:, 0], grad[:, j])
    np.testing.assert_array_equal(pcd.point["mode_1_0"].numpy()[:, 0], grad[:, 0])

    # our own reader gives the same cloud
    np.testing.assert_array_equal(as_points(read_geometry(path)), PTS)

    tm = trimesh.load(path, process=False)
    assert isinstance(tm, trimesh.PointCloud)
    np.testing.assert_array_equal(np.asarray(tm.vertices), PTS)
    raw = tm.metadata["_ply_raw"]["vertex"]["data"]
    np.testing.assert_array_equal(raw["curv"].ravel(), curv)
    np.testing.assert_array_equal(raw["grad_1"].ravel(), grad[:, 1])


def test_save_ply_minimal_and_integer_colours(tmp_path):
    path = save_ply(tmp_path / "p.ply", PTS.astype(np.float32), {})
    np.testing.assert_array_equal(as_points(read_geometry(path)), PTS.astype(np.float32))
    rgb = RNG.integers(0, 256, size=(25, 3))
    path = save_ply(tmp_path / "c.ply", PTS, colors=rgb)
    pcd = o3d.t.io.read_point_cloud(str(path))
    np.testing.assert_array_equal(pcd.point.colors.numpy(), rgb)


@pytest.mark.parametrize("args, kw, match", [
    ((PTS[:, :2], {}), {}, r"`points` must have shape \(n, 3\); got \(25, 2\)"),
    ((np.vstack([PTS, [np.nan] * 3]), {}), {}, r"`points` must be finite"),
    ((PTS, {"curv": PTS[:-1, 0]}), {}, r"`fields\['curv'\]` must have shape .*n = 25"),
    ((PTS, {"c-1": PTS[:, 0]}), {}, r"`fields` name 'c-1' is not valid"),
    ((PTS, {"1c": PTS[:, 0]}), {}, r"`fields` name '1c' is not valid"),
    ((PTS, {"c 1": PTS[:, 0]}), {}, r"`fields` name 'c 1' is not valid"),
    ((PTS, {"x": PTS[:, 0]}), {}, r"`fields\['x'\]` gives the PLY column 'x'"),
    ((PTS, {"g": PTS[:, :2], "g_1": PTS[:, 0]}), {}, r"`fields\['g_1'\]` gives the PLY column"),
    ((PTS, {"f": np.full(25, np.inf)}), {}, r"`fields\['f'\]` must be finite"),
    ((PTS, [PTS[:, 0]]), {}, r"`fields` must be a dict"),
    ((PTS, {}), {"normals": NRM[:, :2]}, r"`normals` must have shape \(n, 3\)"),
    ((PTS, {}), {"colors": PTS}, r"`colors` given as floats must lie in \[0, 1\]"),
    ((PTS, {}), {"colors": np.full((25, 3), 256)}, r"`colors` given as integers"),
    ((PTS, {}), {"colors": np.ones((24, 3))}, r"`colors` must have shape .*n = 25"),
])
def test_save_ply_rejects_bad_input(tmp_path, args, kw, match):
    path = tmp_path / "bad.ply"
    with pytest.raises(ValueError, match=match):
        save_ply(path, *args, **kw)
    assert not path.exists()


def test_save_and_npz_do_not_import_open3d_or_trimesh(tmp_path):
    code = ("import sys, numpy as np, scipy.sparse as sp\n"
            "from o3d_meshless.io.read import save_ply, save_npz, load_npz, sample_path\n"
            f"d = {str(tmp_path)!r}\n"
            "p = np.random.default_rng(0).random((5, 3))\n"
            "save_ply(d + '/a.ply', p, {'f': p[:, 0]}); sample_path()\n"
            "load_npz(save_npz(d + '/a.npz', L=sp.eye(5, format='csr')))\n"
            "print('open3d' in sys.modules, 'trimesh' in sys.modules)\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]
