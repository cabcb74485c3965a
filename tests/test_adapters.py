"""Contract tests for o3d_meshless.sampling.adapters: every geometry type in, new geometry out."""
import hashlib
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import open3d as o3d
import pytest
import trimesh

import o3d_meshless
from o3d_meshless.sampling.adapters import as_normals, as_points, reference_normals
from o3d_meshless.io.attach_results import attach
from o3d_meshless.io.class_methods import register, unregister

REPO = Path(__file__).resolve().parents[1]
N = 42  # vertices of an icosphere with one subdivision


# ---------------------------------------------------------------------------
# geometry factories: every type the adapters accept, built on the same points
# ---------------------------------------------------------------------------

def _sphere():
    mesh = trimesh.creation.icosphere(subdivisions=1)
    pts = np.array(mesh.vertices, dtype=np.float64)
    faces = np.array(mesh.faces, dtype=np.int64)
    return pts, faces, pts / np.linalg.norm(pts, axis=1, keepdims=True)


PTS, FACES, NRM = _sphere()


def make(kind, normals=False):
    vec = o3d.utility.Vector3dVector
    if kind == "o3d_legacy_pcd":
        g = o3d.geometry.PointCloud(vec(PTS))
        if normals:
            g.normals = vec(NRM)
        return g
    if kind == "o3d_tensor_pcd":
        g = o3d.t.geometry.PointCloud(o3d.core.Tensor(PTS))
        if normals:
            g.point.normals = o3d.core.Tensor(NRM)
        return g
    if kind == "o3d_legacy_mesh":
        g = o3d.geometry.TriangleMesh(vec(PTS), o3d.utility.Vector3iVector(FACES.astype(np.int32)))
        if normals:
            g.vertex_normals = vec(NRM)
        return g
    if kind == "o3d_tensor_mesh":
        g = o3d.t.geometry.TriangleMesh(o3d.core.Tensor(PTS), o3d.core.Tensor(FACES))
        if normals:
            g.vertex.normals = o3d.core.Tensor(NRM)
        return g
    if kind == "trimesh_pcd":
        return trimesh.PointCloud(PTS.copy())
    if kind == "trimesh_mesh":
        return trimesh.Trimesh(PTS.copy(), FACES.copy(), process=False)
    if kind == "dict":
        return {"points": PTS.copy(), "normals": NRM.copy()} if normals else {"points": PTS.copy()}
    if kind == "array":
        return PTS.copy()
    raise AssertionError(kind)


KINDS = ["o3d_legacy_pcd", "o3d_tensor_pcd", "o3d_legacy_mesh", "o3d_tensor_mesh",
         "trimesh_pcd", "trimesh_mesh", "dict", "array"]
O3D_KINDS = KINDS[:4]


def _digest(arr):
    arr = np.ascontiguousarray(arr)
    h = hashlib.sha256(arr.tobytes())
    h.update(str((arr.dtype.str, arr.shape)).encode())
    return h.hexdigest()


def fingerprint(g):
    """sha256 of every array a geometry holds (reading must not create any)."""
    fp = {"type": type(g).__name__}
    if isinstance(g, o3d.geometry.PointCloud):
        fp.update(points=_digest(np.asarray(g.points)), normals=_digest(np.asarray(g.normals)),
                  colors=_digest(np.asarray(g.colors)))
    elif isinstance(g, o3d.geometry.TriangleMesh):
        for key in ("vertices", "triangles", "vertex_normals", "vertex_colors"):
            fp[key] = _digest(np.asarray(getattr(g, key)))
    elif isinstance(g, o3d.t.geometry.PointCloud):
        fp.update({f"point.{k}": _digest(g.point[k].numpy()) for k in g.point})
    elif isinstance(g, o3d.t.geometry.TriangleMesh):
        fp.update({f"vertex.{k}": _digest(g.vertex[k].numpy()) for k in g.vertex})
        fp.update({f"triangle.{k}": _digest(g.triangle[k].numpy()) for k in g.triangle})
    elif isinstance(g, trimesh.Trimesh):
        fp.update(vertices=_digest(g.vertices), faces=_digest(g.faces),
                  visual=g.visual.kind, metadata=repr(g.metadata))
        fp.update({f"va.{k}": _digest(v) for k, v in g.vertex_attributes.items()})
        if g.visual.kind == "vertex":
            fp["vertex_colors"] = _digest(g.visual.vertex_colors)
    elif isinstance(g, trimesh.PointCloud):
        fp.update(vertices=_digest(g.vertices), colors=_digest(g.colors),
                  metadata=repr(g.metadata))
    elif isinstance(g, dict):
        fp.update({k: _digest(v) for k, v in g.items()})
    else:
        fp["array"] = _digest(g)
    return fp


def get_array(g, key):
    """Read an attached array back from any output geometry, as float64 (n, c) or (n,)."""
    if isinstance(g, o3d.t.geometry.PointCloud):
        return g.point[key].numpy()
    if isinstance(g, o3d.t.geometry.TriangleMesh):
        return g.vertex[key].numpy()
    if isinstance(g, trimesh.Trimesh):
        attrs = g.vertex_attributes
        if key not in attrs:              # (n, c) arrays are split into key_0 .. key_{c-1}
            parts = [attrs[f"{key}_{j}"] for j in range(len(attrs)) if f"{key}_{j}" in attrs]
            return np.column_stack(parts)
        return np.asarray(attrs[key])
    if isinstance(g, trimesh.PointCloud):
        return np.asarray(g.metadata["o3d_meshless"][key])
    return np.asarray(g[key])


def get_colors(g):
    """Colours as float in [0, 1], shape (n, 3)."""
    # Open3D tensor geometry stores them as uint8 (both PLY readers read those back)
    if isinstance(g, o3d.t.geometry.PointCloud):
        c = g.point["colors"].numpy()
        assert c.dtype == np.uint8
        return c / 255.0
    if isinstance(g, o3d.t.geometry.TriangleMesh):
        c = g.vertex["colors"].numpy()
        assert c.dtype == np.uint8
        return c / 255.0
    if isinstance(g, o3d.geometry.PointCloud):
        return np.asarray(g.colors)
    if isinstance(g, trimesh.Trimesh):
        c = np.asarray(g.visual.vertex_colors)
        assert c.dtype == np.uint8 and c.shape == (N, 4) and (c[:, 3] == 255).all()
        return c[:, :3] / 255.0
    if isinstance(g, trimesh.PointCloud):
        c = np.asarray(g.colors)
        assert c.dtype == np.uint8 and c.shape == (N, 4) and (c[:, 3] == 255).all()
        return c[:, :3] / 255.0
    return np.asarray(g["colors"])


# ---------------------------------------------------------------------------
# as_points
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_as_points_every_type(kind):
    g = make(kind)
    before = fingerprint(g)
    pts = as_points(g)
    assert pts.dtype == np.float64 and pts.flags.c_contiguous
    np.testing.assert_array_equal(pts, PTS)
    assert fingerprint(g) == before


@pytest.mark.parametrize("kind", O3D_KINDS + ["trimesh_pcd", "trimesh_mesh", "dict"])
def test_as_points_returns_a_copy_for_geometry(kind):
    g = make(kind)
    pts = as_points(g)
    pts[:] = 0.0
    np.testing.assert_array_equal(as_points(g), PTS)


def test_as_points_float32_tensor_cloud_is_promoted():
    g = o3d.t.geometry.PointCloud(o3d.core.Tensor(PTS.astype(np.float32)))
    pts = as_points(g)
    assert pts.dtype == np.float64
    np.testing.assert_array_equal(pts, PTS.astype(np.float32).astype(np.float64))


def test_as_points_array_likes():
    np.testing.assert_array_equal(as_points([[0, 1, 2], [3, 4, 5]]),
                                  np.array([[0.0, 1, 2], [3, 4, 5]]))
    assert as_points(np.arange(6, dtype=np.int32).reshape(2, 3)).dtype == np.float64
    assert as_points(PTS.astype(np.float32)).dtype == np.float64
    np.testing.assert_array_equal(as_points(o3d.utility.Vector3dVector(PTS)), PTS)
    np.testing.assert_array_equal(as_points(o3d.core.Tensor(PTS)), PTS)
    planar = np.random.default_rng(0).random((10, 2))
    np.testing.assert_array_equal(as_points(planar, dims=(2, 3)), planar)
    np.testing.assert_array_equal(as_points({"points": planar}, dims=2), planar)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((5, 2)), r"`geometry` must have shape \(n, 3\); got \(5, 2\)"),
    (np.array([[0.0, 0, 0], [np.nan, 0, 0]]), r"`geometry` must be finite"),
    (np.array([[0.0, 0, np.inf]]), r"`geometry` must be finite"),
    (np.zeros((0, 3)), r"`geometry` must hold at least 1"),
    (np.zeros(3), r"`geometry` must have shape"),
    (np.array([["a", "b", "c"]]), r"`geometry` must be a real numeric array"),
    ("points.ply", r"`geometry` must be an Open3D PointCloud.*got builtins.str"),
    (object(), r"`geometry` must be an Open3D PointCloud.*trimesh.*got builtins.object"),
    (o3d.geometry.LineSet(), r"`geometry` must be .*got open3d.*LineSet"),
    ({"pts": np.zeros((3, 3))}, r"`geometry` is a dict, so it must have a 'points' key"),
])
def test_as_points_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        as_points(bad)


def test_as_points_message_uses_name():
    with pytest.raises(ValueError, match=r"`pcd` must have shape \(n, 3\)"):
        as_points(np.zeros((4, 2)), name="pcd")
    with pytest.raises(ValueError, match=r"`pcd` must be finite"):
        as_points(o3d.t.geometry.PointCloud(o3d.core.Tensor(np.full((2, 3), np.nan))),
                  name="pcd")


def test_empty_open3d_cloud_is_rejected():
    with pytest.raises(ValueError, match="at least 1"):
        as_points(o3d.geometry.PointCloud())
    with pytest.raises(ValueError, match="at least 1"):
        as_points(o3d.t.geometry.PointCloud())


def test_numpy_input_never_imports_open3d_or_trimesh():
    code = ("import sys, numpy as np\n"
            "from o3d_meshless.sampling.adapters import as_points, as_normals\n"
            "from o3d_meshless.io.attach_results import attach\n"
            "p = np.random.default_rng(0).random((5, 3))\n"
            "as_points(p); as_normals(p); attach(p, {'f': p[:, 0]}, color_by='f')\n"
            "as_points({'points': p, 'normals': p})\n"
            "print('open3d' in sys.modules, 'trimesh' in sys.modules)\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------------------
# as_normals / reference_normals
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", O3D_KINDS + ["dict"])
def test_as_normals_returns_stored_normals(kind):
    assert as_normals(make(kind, normals=False)) is None
    g = make(kind, normals=True)
    before = fingerprint(g)
    nrm = as_normals(g)
    assert nrm.dtype == np.float64 and nrm.shape == (N, 3)
    np.testing.assert_array_equal(nrm, NRM)
    assert fingerprint(g) == before


@pytest.mark.parametrize("kind", ["trimesh_pcd", "trimesh_mesh", "array"])
def test_as_normals_is_none_for_trimesh_and_arrays(kind):
    assert as_normals(make(kind)) is None


def test_as_normals_rejects_bad_stored_normals():
    with pytest.raises(ValueError, match=r"`geometry.normals` must have one row per point"):
        as_normals({"points": PTS, "normals": NRM[:-1]})
    bad = NRM.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match=r"`geometry.normals` must be finite"):
        as_normals({"points": PTS, "normals": bad})
    with pytest.raises(ValueError, match=r"`geometry` must be"):
        as_normals(42)


def test_reference_normals():
    # stored normals win
    np.testing.assert_array_equal(reference_normals(make("o3d_legacy_pcd", True)), NRM)
    # trimesh mesh: face-derived vertex normals (outward on the icosphere)
    mesh = make("trimesh_mesh")
    ref = reference_normals(mesh)
    assert ref.shape == (N, 3) and (np.einsum("ij,ij->i", ref, NRM) > 0.9).all()
    # Open3D meshes without normals: computed on a copy, the input keeps none
    for kind in ("o3d_legacy_mesh", "o3d_tensor_mesh"):
        g = make(kind)
        before = fingerprint(g)
        ref = reference_normals(g)
        assert (np.einsum("ij,ij->i", ref, NRM) > 0.9).all()
        assert fingerprint(g) == before
        assert as_normals(g) is None
    # nothing to orient by
    for kind in ("o3d_legacy_pcd", "o3d_tensor_pcd", "trimesh_pcd", "dict", "array"):
        assert reference_normals(make(kind)) is None


# ---------------------------------------------------------------------------
# attach
# ---------------------------------------------------------------------------

FIELD = PTS[:, 2].copy()            # (n,) with both signs
VEC = np.column_stack([PTS[:, 0], PTS[:, 1]])  # (n, 2)


@pytest.mark.parametrize("kind", KINDS)
def test_attach_returns_new_geometry_and_keeps_input(kind):
    g = make(kind, normals=kind in O3D_KINDS)
    before = fingerprint(g)
    out = attach(g, {"height": FIELD, "uv": VEC, "ids": np.arange(N)}, color_by="height")
    assert out is not g
    assert fingerprint(g) == before, "attach(inplace=False) mutated its input"

    height, uv, ids = (get_array(out, k) for k in ("height", "uv", "ids"))
    if kind in O3D_KINDS:
        # Open3D: always 2-D float64 (1-D attributes break the PLY writer)
        assert height.shape == (N, 1) and uv.shape == (N, 2) and ids.shape == (N, 1)
        assert height.dtype == uv.dtype == ids.dtype == np.float64
    else:
        assert height.shape == (N,) and uv.shape == (N, 2) and ids.dtype == np.float64
    np.testing.assert_array_equal(height.ravel(), FIELD)
    np.testing.assert_array_equal(uv, VEC)
    np.testing.assert_array_equal(ids.ravel(), np.arange(N))
    np.testing.assert_array_equal(as_points(out), PTS)

    colors = get_colors(out)
    assert colors.shape == (N, 3) and colors.min() >= 0.0 and colors.max() <= 1.0
    if kind in O3D_KINDS:
        np.testing.assert_array_equal(as_normals(out), NRM)  # normals carried over

    # mutating the output leaves the input alone too
    if isinstance(out, dict):
        out["points"][:] = 0.0
        out["height"][:] = 0.0
    assert fingerprint(g) == before


def test_attach_legacy_open3d_gives_float64_tensor_geometry():
    big = PTS + np.array([5e5, 4.5e6, 0.0])  # UTM-sized: float32 would lose ~0.1 m
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(big))
    out = attach(pcd, {"f": FIELD})
    assert isinstance(out, o3d.t.geometry.PointCloud)
    assert out.point.positions.dtype == o3d.core.float64
    np.testing.assert_array_equal(out.point.positions.numpy(), big)
    mesh = attach(make("o3d_legacy_mesh"), {"f": FIELD})
    assert isinstance(mesh, o3d.t.geometry.TriangleMesh)
    assert mesh.vertex.positions.dtype == o3d.core.float64
    np.testing.assert_array_equal(mesh.triangle.indices.numpy(), FACES)


def test_attached_open3d_cloud_writes_ply(tmp_path):
    out = attach(make("o3d_legacy_pcd"), {"f": FIELD, "g": VEC}, color_by="f")
    path = str(tmp_path / "out.ply")
    assert o3d.t.io.write_point_cloud(path, out)
    back = o3d.t.io.read_point_cloud(path)
    np.testing.assert_allclose(back.point["f"].numpy().ravel(), FIELD)
    np.testing.assert_allclose(back.point["g_1"].numpy().ravel(), VEC[:, 1])


def test_attach_keeps_existing_trimesh_pointcloud_metadata():
    pc = make("trimesh_pcd")
    first = attach(pc, {"a": FIELD})
    second = attach(first, {"b": -FIELD})
    assert sorted(second.metadata["o3d_meshless"]) == ["a", "b"]
    assert sorted(first.metadata["o3d_meshless"]) == ["a"]
    assert pc.metadata == {}


def test_attach_colour_limits():
    # the pictures' colours: a signed field gets the diverging map, others viridis
    cmap = matplotlib.colormaps["viridis"]
    diverging = matplotlib.colormaps["RdBu_r"]
    signed = np.array([-1.0, 0.0, 0.5, 2.0])
    out = attach(np.zeros((4, 3)), {"s": signed}, color_by="s")
    # symmetric limits [-2, 2]: 0 -> middle of the map, 2 -> top
    np.testing.assert_allclose(out["colors"][1], diverging(0.5)[:3])
    np.testing.assert_allclose(out["colors"][3], diverging(1.0)[:3])
    np.testing.assert_allclose(out["colors"][0], diverging(0.25)[:3])
    positive = np.array([1.0, 2.0, 3.0, 5.0])
    out = attach(np.zeros((4, 3)), {"p": positive}, color_by="p", cmap="magma")
    np.testing.assert_allclose(out["colors"][0], matplotlib.colormaps["magma"](0.0)[:3])
    np.testing.assert_allclose(out["colors"][3], matplotlib.colormaps["magma"](1.0)[:3])
    # a constant array gets the middle colour instead of dividing by zero
    out = attach(np.zeros((4, 3)), {"c": np.ones(4)}, color_by="c")
    np.testing.assert_allclose(out["colors"], np.tile(cmap(0.5)[:3], (4, 1)))
    # (n, 1) counts as scalar
    out = attach(np.zeros((4, 3)), {"c": positive[:, None]}, color_by="c")
    assert out["colors"].shape == (4, 3)


def test_attach_explicit_colors_and_normals():
    rgb = np.random.default_rng(1).random((N, 3))
    out = attach(make("o3d_tensor_pcd"), {"colors": rgb, "normals": NRM})
    # stored as uint8, which Open3D's PLY writer and both its readers keep
    np.testing.assert_array_equal(out.point.colors.numpy(),
                                  np.round(rgb * 255).astype(np.uint8))
    np.testing.assert_array_equal(as_normals(out), NRM)
    out = attach(make("trimesh_mesh"), {"colors": (rgb * 255).astype(np.uint8)})
    np.testing.assert_array_equal(out.visual.vertex_colors[:, :3], (rgb * 255).astype(np.uint8))


@pytest.mark.parametrize("kind", ["o3d_tensor_pcd", "o3d_tensor_mesh", "trimesh_mesh",
                                  "trimesh_pcd", "dict"])
def test_attach_inplace_mutates(kind):
    g = make(kind)
    out = attach(g, {"f": FIELD}, color_by="f", inplace=True)
    assert out is g
    np.testing.assert_array_equal(get_array(g, "f").ravel(), FIELD)
    assert get_colors(g).shape == (N, 3)


@pytest.mark.parametrize("kind", ["o3d_legacy_pcd", "o3d_legacy_mesh"])
def test_attach_inplace_on_legacy_open3d(kind):
    g = make(kind)
    out = attach(g, {"f": FIELD}, color_by="f", inplace=True)
    assert out is g and type(out) is type(g)
    colors = np.asarray(g.colors if kind == "o3d_legacy_pcd" else g.vertex_colors)
    assert colors.shape == (N, 3) and 0.0 <= colors.min() and colors.max() <= 1.0
    out = attach(g, {"normals": NRM}, inplace=True)
    np.testing.assert_array_equal(as_normals(g), NRM)
    before = fingerprint(g)
    with pytest.raises(ValueError, match=r"legacy Open3D .* cannot hold custom per-point "
                                         r"arrays \('f'\).*inplace=False"):
        attach(g, {"f": FIELD}, inplace=True)
    assert fingerprint(g) == before


def test_attach_inplace_on_array_is_refused():
    with pytest.raises(ValueError, match=r"inplace=True.*numpy array"):
        attach(PTS.copy(), {"f": FIELD}, inplace=True)


@pytest.mark.parametrize("kind", KINDS)
def test_attach_wrong_length_names_key_and_n(kind):
    g = make(kind)
    before = fingerprint(g)
    with pytest.raises(ValueError, match=rf"`arrays\['curv'\]` must have shape .*n = {N}.*"
                                         rf"got \({N - 1},\)"):
        attach(g, {"curv": FIELD[:-1]})
    assert fingerprint(g) == before


@pytest.mark.parametrize("arrays, kw, match", [
    ({"1abc": FIELD}, {}, r"`arrays` key '1abc' is not a valid name"),
    ({"a-b": FIELD}, {}, r"`arrays` key 'a-b' is not a valid name"),
    ({"": FIELD}, {}, r"`arrays` key '' is not a valid name"),
    ({3: FIELD}, {}, r"`arrays` key 3 is not a valid name"),
    ({"positions": PTS}, {}, r"'positions' is reserved"),
    ({"points": PTS}, {}, r"'points' is reserved"),
    ({"f": np.where(FIELD > 0, np.inf, FIELD)}, {}, r"`arrays\['f'\]` must be finite"),
    ({"f": np.zeros((N, 2, 2))}, {}, r"`arrays\['f'\]` must have shape"),
    ({"f": ["a"] * N}, {}, r"`arrays\['f'\]` must be a real numeric array"),
    ({"normals": FIELD}, {}, r"`arrays\['normals'\]` must have shape \(n, 3\)"),
    ({"colors": PTS}, {}, r"`arrays\['colors'\]` given as floats must lie in \[0, 1\]"),
    ({"colors": np.full((N, 3), 300)}, {}, r"`arrays\['colors'\]` given as integers"),
    ({"f": FIELD}, {"color_by": "g"}, r"`color_by` must be a key of `arrays`.*'g'"),
    ({"f": VEC}, {"color_by": "f"}, r"`color_by` must name a scalar array"),
    ({"f": FIELD}, {"color_by": "f", "cmap": "no_such_map"}, r"`cmap` must be a matplotlib"),
    ({"f": FIELD, "colors": np.zeros((N, 3))}, {"color_by": "f"}, r"either `color_by`"),
    ([FIELD], {}, r"`arrays` must be a dict"),
    ({"f": FIELD}, {"inplace": "yes"}, r"`inplace` must be True or False"),
])
def test_attach_rejects_bad_arrays(arrays, kw, match):
    g = make("o3d_tensor_pcd")
    before = fingerprint(g)
    with pytest.raises(ValueError, match=match):
        attach(g, arrays, **kw)
    assert fingerprint(g) == before


def test_attach_rejects_unknown_geometry():
    with pytest.raises(ValueError, match=r"`geometry` must be an Open3D"):
        attach(o3d.geometry.LineSet(), {"f": FIELD})


# ---------------------------------------------------------------------------
# register / unregister
# ---------------------------------------------------------------------------

CLASSES = [o3d.geometry.PointCloud, o3d.t.geometry.PointCloud, o3d.geometry.TriangleMesh,
           o3d.t.geometry.TriangleMesh, trimesh.PointCloud, trimesh.Trimesh]
METHODS = ("laplace_beltrami", "spectrum", "surface_gradient")


@pytest.fixture
def fake_api(monkeypatch):
    """Replace the three wrapped functions so these tests don't depend on them."""
    calls = []

    def fake(fname):
        def f(geometry, *args, **kwargs):
            calls.append((fname, type(geometry).__name__, args, kwargs))
            return fname, as_points(geometry).shape[0]
        return f

    # setitem on the module dict: getattr would trigger the lazy import of the real
    # (possibly not yet written) modules
    for fname in METHODS:
        monkeypatch.setitem(vars(o3d_meshless), fname, fake(fname))
    yield calls
    unregister()


def test_import_patches_nothing():
    unregister()
    for cls in CLASSES:
        for meth in METHODS:
            assert not hasattr(cls, meth), f"{cls} has {meth} before register()"


def test_register_roundtrip(fake_api):
    patched = register()
    assert len(patched) == len(CLASSES) * len(METHODS)
    assert "trimesh.base.Trimesh.spectrum" in patched
    assert register() == patched  # idempotent

    for kind in ("o3d_legacy_pcd", "o3d_tensor_pcd", "trimesh_pcd", "trimesh_mesh"):
        g = make(kind)
        assert g.laplace_beltrami(k=7) == ("laplace_beltrami", N)
        assert g.spectrum(n_modes=5) == ("spectrum", N)
        assert g.surface_gradient(FIELD) == ("surface_gradient", N)
    assert fake_api[0] == ("laplace_beltrami", "PointCloud", (), {"k": 7})
    assert fake_api[2][2][0] is FIELD
    # objects made by Open3D's C++ operations get the methods too
    down = make("o3d_legacy_pcd").uniform_down_sample(2)
    assert down.spectrum() == ("spectrum", (N + 1) // 2)

    assert unregister() == patched
    for cls in CLASSES:
        for meth in METHODS:
            assert not hasattr(cls, meth)
    assert unregister() == []


def test_register_leaves_foreign_attributes_alone(fake_api, monkeypatch):
    sentinel = object()
    monkeypatch.setattr(trimesh.Trimesh, "spectrum", sentinel, raising=False)
    patched = register()
    assert "trimesh.base.Trimesh.spectrum" not in patched
    assert trimesh.Trimesh.spectrum is sentinel
    assert "trimesh.base.Trimesh.laplace_beltrami" in patched
    unregister()
    assert trimesh.Trimesh.spectrum is sentinel
    assert not hasattr(trimesh.Trimesh, "laplace_beltrami")
