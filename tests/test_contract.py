"""One contract, run over every public operator class and function.

Operator classes: LaplaceBeltrami, SurfaceGradient, Divergence.
Functions: laplace_beltrami, surface_gradient, divergence, spectrum, estimate_frames.

* every geometry type is accepted and gives the same result on the same points;
* the input is never mutated (sha256 of every array / attribute before and after);
* ``fit`` returns ``self``; ``apply``/``spectrum`` before ``fit`` raise ``ValueError``;
* results are deterministic;
* bad input raises ``ValueError`` naming the argument;
* coincident / near-coincident points, float32 / integer input, user normals, ``workers``.
"""
import functools
import hashlib

import numpy as np
import open3d as o3d
import pytest
import trimesh
from scipy import sparse
from scipy.linalg import subspace_angles

import o3d_meshless as om
from o3d_meshless.testing import fibonacci_sphere

ICO = trimesh.creation.icosphere(subdivisions=4)
PTS = np.array(ICO.vertices, dtype=np.float64)          # 2562 points on the unit sphere
FACES = np.array(ICO.faces, dtype=np.int64)
N = len(PTS)
N_MODES = 4                                              # λ = 0 and the whole l = 1 cluster

KINDS = ["numpy", "o3d_legacy_pcd", "o3d_tensor_pcd", "o3d_legacy_mesh", "trimesh_pcd",
         "trimesh_mesh"]


def make_geometry(kind, points=PTS, faces=FACES, normals=None):
    """The same points as each accepted geometry type (``normals``: optional user normals)."""
    points = np.array(points, dtype=np.float64)
    vec = o3d.utility.Vector3dVector
    if kind == "numpy":
        return points
    if kind == "o3d_legacy_pcd":
        g = o3d.geometry.PointCloud(vec(points))
        if normals is not None:
            g.normals = vec(np.asarray(normals, dtype=np.float64))
        return g
    if kind == "o3d_tensor_pcd":
        g = o3d.t.geometry.PointCloud(o3d.core.Tensor(points))
        if normals is not None:
            g.point.normals = o3d.core.Tensor(np.asarray(normals, dtype=np.float64))
        return g
    if kind == "o3d_legacy_mesh":
        return o3d.geometry.TriangleMesh(vec(points),
                                         o3d.utility.Vector3iVector(faces.astype(np.int32)))
    if kind == "trimesh_pcd":
        return trimesh.PointCloud(points)
    if kind == "trimesh_mesh":
        return trimesh.Trimesh(points, faces, process=False)
    raise AssertionError(kind)


def _arrays_of(g):
    """(name, array) pairs describing everything a geometry holds."""
    if isinstance(g, np.ndarray):
        return [("array", g)]
    if isinstance(g, o3d.geometry.PointCloud):
        return [("points", np.asarray(g.points)), ("normals", np.asarray(g.normals)),
                ("colors", np.asarray(g.colors))]
    if isinstance(g, o3d.t.geometry.PointCloud):
        return [(f"point.{key}", g.point[key].numpy()) for key in sorted(g.point)]
    if isinstance(g, o3d.geometry.TriangleMesh):
        return [("vertices", np.asarray(g.vertices)), ("triangles", np.asarray(g.triangles)),
                ("vertex_normals", np.asarray(g.vertex_normals)),
                ("triangle_normals", np.asarray(g.triangle_normals)),
                ("vertex_colors", np.asarray(g.vertex_colors))]
    if isinstance(g, trimesh.Trimesh):
        out = [("vertices", np.asarray(g.vertices)), ("faces", np.asarray(g.faces))]
        out += [(f"attr.{k}", np.asarray(v)) for k, v in sorted(g.vertex_attributes.items())]
        return out + [("metadata", np.frombuffer(repr(sorted(g.metadata)).encode(), np.uint8))]
    if isinstance(g, trimesh.PointCloud):
        return [("vertices", np.asarray(g.vertices)), ("colors", np.asarray(g.colors)),
                ("metadata", np.frombuffer(repr(sorted(g.metadata)).encode(), np.uint8))]
    raise AssertionError(type(g))


def fingerprint(g):
    h = hashlib.sha256()
    for name, arr in _arrays_of(g):
        arr = np.ascontiguousarray(arr)
        h.update(f"{name}:{arr.dtype}:{arr.shape};".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------
# every public entry point as  call(geometry, **options) -> {name: result}
# ---------------------------------------------------------------------------

def _n_of(g):
    return g.shape[0] if isinstance(g, np.ndarray) and g.ndim else len(om.as_points(g))


def field_values(g):
    """A smooth scalar per point (from the points when they are usable)."""
    try:
        p = om.as_points(g)
        return p[:, 2] ** 2 + p[:, 0]
    except ValueError:
        return np.linspace(0.0, 1.0, _n_of(g))


def field_vectors(g):
    try:
        p = om.as_points(g)
        return np.cross([0.0, 0.0, 1.0], p) + p[:, 0:1] * np.array([1.0, 0.0, 0.0])
    except ValueError:
        return np.ones((_n_of(g), 3))


def _lb_class(g, **o):
    op = om.LaplaceBeltrami(**o)
    assert op.fit(g) is op, "fit must return self"
    return {"L": op.L_, "M": op.M_}


def _sg_class(g, **o):
    op = om.SurfaceGradient(**o)
    assert op.fit(g) is op, "fit must return self"
    return {"G": op.G_, "grad": op.apply(field_values(g))}


def _div_class(g, **o):
    op = om.Divergence(**o)
    assert op.fit(g) is op, "fit must return self"
    return {"D": op.D_, "div": op.apply(field_vectors(g))}


def _lb_func(g, **o):
    L, M = om.laplace_beltrami(g, **o)
    return {"L": L, "M": M}


def _sg_func(g, **o):
    return {"grad": om.surface_gradient(g, field_values(g), **o)}


def _div_func(g, **o):
    return {"div": om.divergence(g, field_vectors(g), **o)}


def _spectrum_func(g, **o):
    vals, vecs = om.spectrum(g, n_modes=N_MODES, **o)
    return {"vals": vals, "span": vecs}


def _frames_func(g, **o):
    return {"frames": om.estimate_frames(g, **o)}


OPERATOR_OPTIONS = {"method", "k", "order", "weights", "normals", "height_order", "orient",
                    "guard", "bounds", "workers", "progress"}
FRAMES_OPTIONS = {"k", "height_order", "orient", "workers"}

CALLS = {
    "LaplaceBeltrami": (_lb_class, OPERATOR_OPTIONS),
    "SurfaceGradient": (_sg_class, OPERATOR_OPTIONS),
    "Divergence": (_div_class, OPERATOR_OPTIONS),
    "laplace_beltrami": (_lb_func, OPERATOR_OPTIONS),
    "surface_gradient": (_sg_func, OPERATOR_OPTIONS),
    "divergence": (_div_func, OPERATOR_OPTIONS),
    "spectrum": (_spectrum_func, OPERATOR_OPTIONS),
    "estimate_frames": (_frames_func, FRAMES_OPTIONS),
}
NAMES = list(CALLS)


def run(name, g, **options):
    return CALLS[name][0](g, **options)


def assert_same(a, b, *, rtol=1e-9, what=""):
    """Results equal to ``rtol`` of their largest entry (eigenvector spans by angle)."""
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        assert x.shape == y.shape, f"{what}: {key} shapes {x.shape} vs {y.shape}"
        if key == "span":
            ang = subspace_angles(np.asarray(x), np.asarray(y)).max()
            assert ang < 1e-6, f"{what}: eigenvector spans differ by {ang:.2e} rad"
        elif sparse.issparse(x):          # never densify a (3n × n) gradient
            diff, size = abs(x - y).max(), abs(y).max()
            assert diff <= rtol * size, f"{what}: {key} differs by {diff:.3g} (max |entry| {size:.3g})"
        else:
            np.testing.assert_allclose(x, y, rtol=0, atol=rtol * max(np.abs(y).max(), 1e-300),
                                       err_msg=f"{what}: {key}")


def assert_identical(a, b, what=""):
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if sparse.issparse(x):
            assert x.shape == y.shape and (x != y).nnz == 0, f"{what}: {key} not bitwise equal"
        else:
            np.testing.assert_array_equal(x, y, err_msg=f"{what}: {key}")


@functools.lru_cache(maxsize=None)
def reference(name):
    """Result on the plain numpy points (computed once per entry point)."""
    return run(name, PTS.copy())


# ---------------------------------------------------------------------------
# geometry types, mutation, fit/apply protocol, determinism
# ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def reference_with_mesh_normals(name):
    """Result on the numpy points given the mesh's area-weighted vertex normals."""
    from o3d_meshless.sampling.adapters import mesh_normals
    return run(name, PTS.copy(), normals=mesh_normals(ICO))


MESH_KINDS = ("o3d_legacy_mesh", "trimesh_mesh")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_every_geometry_type_gives_the_same_result(name, kind):
    # meshes use their area-weighted vertex normals by default (estimate_frames always
    # estimates): the same as passing those normals with numpy points
    mesh_normals = kind in MESH_KINDS and name != "estimate_frames"
    ref = reference_with_mesh_normals(name) if mesh_normals else reference(name)
    assert_same(run(name, make_geometry(kind)), ref, what=f"{name}({kind})")


@pytest.mark.parametrize("kind", MESH_KINDS)
@pytest.mark.parametrize("name", [n for n in NAMES if n != "estimate_frames"])
def test_meshes_estimate_normals_on_request(name, kind):
    # estimated frames are oriented by the face normals: results then differ from the
    # numpy ones by rounding only (a flipped t_v negates v exactly, not the LAPACK path)
    assert_same(run(name, make_geometry(kind), normals="estimate"),
                run(name, PTS.copy(), normals="estimate"), what=f"{name}({kind})")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", NAMES)
def test_input_is_never_mutated(name, kind):
    g = make_geometry(kind)
    if kind == "numpy":
        g.setflags(write=False)          # any in-place write would raise
    before = fingerprint(g)
    values, vectors = field_values(g), field_vectors(g)
    vb, fb = hashlib.sha256(values.tobytes()).digest(), hashlib.sha256(vectors.tobytes()).digest()
    run(name, g)
    assert fingerprint(g) == before, f"{name} modified its {kind} input"
    if kind == "o3d_legacy_mesh":
        assert not g.has_vertex_normals(), f"{name} computed normals on the user's mesh"
    # the per-point inputs of apply / surface_gradient / divergence are not touched either
    assert hashlib.sha256(values.tobytes()).digest() == vb
    assert hashlib.sha256(vectors.tobytes()).digest() == fb


def test_values_are_not_mutated_and_read_only_inputs_work():
    p = PTS.copy()
    p.setflags(write=False)
    f = field_values(p).copy()
    V = field_vectors(p).copy()
    f.setflags(write=False)
    V.setflags(write=False)
    g = om.SurfaceGradient().fit(p)
    g.apply(f)
    g.apply(np.c_[f, f])
    d = om.Divergence().fit(p)
    d.apply(V)
    om.surface_gradient(p, f)
    om.divergence(p, V)
    np.testing.assert_array_equal(f, field_values(PTS))


@pytest.mark.parametrize("cls", [om.LaplaceBeltrami, om.SurfaceGradient, om.Divergence])
def test_fit_returns_self_and_init_only_stores(cls):
    op = cls(k=20, order=3, weights=2, workers=1)
    assert (op.k, op.order, op.weights, op.workers) == (20, 3, 2, 1)
    assert not [a for a in vars(op) if a.endswith("_")], "fitted attributes before fit"
    assert op.fit(PTS) is op
    assert op.points_.shape == (N, 3) and op.normals_.shape == (N, 3)
    assert op.frames_.shape == (N, 3, 3)


@pytest.mark.parametrize("call", [
    lambda: om.LaplaceBeltrami().spectrum(3),
    lambda: om.SurfaceGradient().apply(np.zeros(N)),
    lambda: om.Divergence().apply(np.zeros((N, 3))),
], ids=["LaplaceBeltrami.spectrum", "SurfaceGradient.apply", "Divergence.apply"])
def test_use_before_fit_raises(call):
    with pytest.raises(ValueError, match="not fitted"):
        call()


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name, random_sphere):
    p = random_sphere(2000, seed=21)
    a, b = run(name, p.copy()), run(name, p.copy())
    if name == "spectrum":       # ARPACK: values to rounding, eigenvectors as a subspace
        assert_same(a, b, rtol=1e-10, what=name)
    else:
        assert_identical(a, b, what=name)


def test_spectrum_eigenvectors_are_reproducible_up_to_sign(random_sphere):
    op = om.LaplaceBeltrami().fit(random_sphere(2000, seed=22))
    v1, e1 = op.spectrum(9)
    v2, e2 = op.spectrum(9)
    np.testing.assert_allclose(v1, v2, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.abs(e1), np.abs(e2), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.einsum("ij,i,ij->j", e1, op.M_.diagonal(), e1), 1.0, rtol=1e-12)


def test_spectrum_eigenvector_signs_reproducible_on_symmetric_sample(fibonacci_sphere):
    op = om.LaplaceBeltrami().fit(fibonacci_sphere(2000))
    runs = [op.spectrum(9)[1] for _ in range(4)]
    for e in runs[1:]:
        np.testing.assert_allclose(e, runs[0], rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

def _with_nan():
    p = PTS.copy()
    p[7, 1] = np.nan
    return p


def _with_inf():
    p = PTS.copy()
    p[9, 0] = -np.inf
    return p


def _collinear():
    t = np.linspace(0.0, 1.0, 300)
    return np.c_[t, 2 * t - 1, 0.5 * t]


BAD_GEOMETRY = {
    "nan": (_with_nan, r"`geometry`.*finite"),
    "inf": (_with_inf, r"`geometry`.*finite"),
    "2-D points": (lambda: PTS[:, :2].copy(), r"`geometry` must have shape \(n, 3\)"),
    "1-D array": (lambda: PTS[:, 0].copy(), r"`geometry` must have shape"),
    "empty": (lambda: np.empty((0, 3)), r"`geometry`"),
    "fewer than k+1": (lambda: PTS[:16].copy(), r"k \+ 1 = 17.*`k`"),
    "all coincident": (lambda: np.ones((50, 3)), r"coincident"),
    "unknown type": (lambda: object(), r"`geometry` must be"),
    "string": (lambda: "points.ply", r"`geometry`"),
    "complex": (lambda: PTS.astype(complex), r"`geometry` must be a real numeric array"),
    "collinear": (_collinear, r"collinear"),
}


@pytest.mark.parametrize("case", list(BAD_GEOMETRY))
@pytest.mark.parametrize("name", NAMES)
def test_bad_geometry_raises(name, case):
    make, pattern = BAD_GEOMETRY[case]
    with pytest.raises(ValueError, match=pattern):
        run(name, make())


BAD_OPTIONS = [
    ("k", 2), ("k", 16.0), ("k", "16"), ("k", True), ("k", None),
    ("method", "rbf"), ("method", None),
    ("order", 0), ("order", 5), ("order", 2.5),
    ("weights", 7), ("weights", -1), ("weights", 1.5), ("weights", "inverse"),
    ("normals", "given"), ("normals", None),
    ("height_order", 1), ("height_order", 4), ("height_order", "2"),
    ("orient", "inward"), ("orient", True),
    ("workers", 0), ("workers", 1.5), ("workers", "all"),
]


BAD_OPTION_CASES = [(n, o, v) for n in NAMES for o, v in BAD_OPTIONS if o in CALLS[n][1]]


@pytest.mark.parametrize("name,option,value", BAD_OPTION_CASES,
                         ids=[f"{n}-{o}={v!r}" for n, o, v in BAD_OPTION_CASES])
def test_bad_option_raises_naming_it(name, option, value):
    with pytest.raises(ValueError, match=f"`{option}`"):
        run(name, PTS, **{option: value})


@pytest.mark.parametrize("name", [n for n in NAMES if n != "estimate_frames"])
def test_k_below_taylor_unknowns_raises_naming_k(name):
    with pytest.raises(ValueError, match="`k`"):
        run(name, PTS, k=8, order=3)            # order 3 has 9 unknowns


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        om.LaplaceBeltrami(kk=3)
    with pytest.raises(TypeError):
        om.estimate_frames(PTS, order=2)


@pytest.mark.parametrize("option,value", [("guard", "no"), ("bounds", "yes"), ("progress", "x"),
                                          ("height_order", 2.0), ("height_order", False)])
def test_non_int_non_bool_option_values_raise(option, value):
    with pytest.raises(ValueError, match=f"`{option}`"):
        om.LaplaceBeltrami(**{option: value}).fit(PTS)


@pytest.fixture(scope="module")
def fitted():
    return {"SurfaceGradient": om.SurfaceGradient().fit(PTS),
            "Divergence": om.Divergence().fit(PTS),
            "LaplaceBeltrami": om.LaplaceBeltrami().fit(PTS)}


@pytest.mark.parametrize("call,pattern", [
    (lambda f: f["SurfaceGradient"].apply(np.zeros(N - 1)), "`values`"),
    (lambda f: f["SurfaceGradient"].apply(np.zeros(N + 1)), "`values`"),
    (lambda f: f["SurfaceGradient"].apply(np.zeros((N, 2, 2))), "`values`"),
    (lambda f: f["SurfaceGradient"].apply(np.full(N, np.nan)), "`values`"),
    (lambda f: f["SurfaceGradient"].apply(np.zeros(N, complex)), "`values`"),
    (lambda f: f["Divergence"].apply(np.zeros((N - 1, 3))), "`field`"),
    (lambda f: f["Divergence"].apply(np.zeros((N, 2))), "`field`"),
    (lambda f: f["Divergence"].apply(np.zeros(N)), "`field`"),
    (lambda f: om.surface_gradient(PTS, np.zeros(N - 1)), "`values`"),
    (lambda f: om.divergence(PTS, np.zeros((N - 1, 3))), "`field`"),
    (lambda f: f["LaplaceBeltrami"].spectrum(0), "`n_modes`"),
    (lambda f: f["LaplaceBeltrami"].spectrum(N + 1), "`n_modes`"),
    (lambda f: f["LaplaceBeltrami"].spectrum(3.0), "`n_modes`"),
    (lambda f: om.spectrum(f["LaplaceBeltrami"], n_modes=-2), "`n_modes`"),
], ids=["grad-short", "grad-long", "grad-3d", "grad-nan", "grad-complex", "div-short",
        "div-2cols", "div-1d", "surface_gradient-short", "divergence-short", "modes-0",
        "modes-too-many", "modes-float", "spectrum-fn-negative"])
def test_bad_values_raise_naming_them(fitted, call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call(fitted)


# ---------------------------------------------------------------------------
# coincident points
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def duplicated_cloud():
    """2000 Fibonacci points + 30 exact copies + 30 copies within 1e-12 + 5 triples,
    shuffled. Returns (cloud, base, origin) with cloud[i] a copy of base[origin[i]]."""
    base = fibonacci_sphere(2000)
    rng = np.random.default_rng(5)
    src = rng.choice(2000, 60, replace=False)
    near = base[src[30:]] + rng.uniform(-1, 1, (30, 3)) * 5e-13      # |offset| < 1e-12
    cloud = np.vstack([base, base[src[:30]], near, base[src[:5]]])
    origin = np.r_[np.arange(2000), src, src[:5]]
    perm = rng.permutation(len(cloud))
    return cloud[perm], base, origin[perm]


def _groups(origin):
    return [np.flatnonzero(origin == o) for o in np.unique(origin) if (origin == o).sum() > 1]


def test_duplicates_laplacian(duplicated_cloud):
    cloud, base, origin = duplicated_cloud
    op = om.LaplaceBeltrami().fit(cloud)
    ref = om.LaplaceBeltrami().fit(base)
    L, M = op.L_, op.M_
    assert op.diagnostics_["n_coincident"] == 65
    scale = abs(L).max()
    np.testing.assert_allclose(np.asarray(L.sum(axis=1)).ravel(), 0.0, atol=1e-12 * scale,
                               err_msg="rows of L must sum to 0")
    np.testing.assert_allclose(M.diagonal().sum(), ref.M_.diagonal().sum(), rtol=1e-12,
                               err_msg="total area changed by duplicates")
    f = cloud[:, 2] ** 2 + cloud[:, 0]
    Lf, Lf_ref = L @ f, ref.L_ @ (base[:, 2] ** 2 + base[:, 0])
    groups = _groups(origin)
    assert len(groups) == 60
    for members in groups:
        # every copy gets the value of the point it copies (within the 1e-12 offsets)
        np.testing.assert_allclose(Lf[members], Lf_ref[origin[members[0]]], rtol=0,
                                   atol=1e-8 * abs(Lf_ref).max(), err_msg=f"L f at {members}")
        # rows agree outside the group; inside it they differ only by the documented tie
        # term t·(f_i − mean of the group) that keeps spurious zero eigenvalues away
        rows = L[members].toarray()
        outside = np.ones(len(cloud), bool)
        outside[members] = False
        np.testing.assert_array_equal(rows[:, outside], np.broadcast_to(rows[0, outside],
                                                                        rows[:, outside].shape))
        tie = rows[:, members] - rows[0, members]
        np.testing.assert_allclose(tie.sum(axis=1), 0.0, atol=1e-12 * scale)


def test_duplicates_spectrum_has_no_spurious_zero_modes(duplicated_cloud):
    cloud, base, _ = duplicated_cloud
    vals = om.spectrum(cloud, n_modes=9)[0]
    ref = om.spectrum(base, n_modes=9)[0]
    assert np.sum(np.abs(vals) < 0.5) == 1, f"spurious near-zero eigenvalues: {vals}"
    np.testing.assert_allclose(vals, ref, rtol=0, atol=1e-8, err_msg="spectrum with duplicates")


@pytest.mark.parametrize("name", ["SurfaceGradient", "Divergence", "estimate_frames",
                                  "surface_gradient", "divergence"])
def test_duplicates_get_identical_values(duplicated_cloud, name):
    cloud, base, origin = duplicated_cloud
    out = run(name, cloud)
    ref = run(name, base)
    n = len(cloud)
    for key, value in out.items():
        if key in ("G", "D"):                   # operator rows: identical within a group
            offsets = (0, n, 2 * n) if key == "G" else (0,)
            for members in _groups(origin):
                for c in offsets:
                    rows = value[c + members].toarray()
                    np.testing.assert_array_equal(rows, np.broadcast_to(rows[0], rows.shape),
                                                  err_msg=f"{key} rows of {members}")
            continue
        value = np.asarray(value)
        for members in _groups(origin):
            np.testing.assert_array_equal(value[members],
                                          np.broadcast_to(value[members[0]], value[members].shape),
                                          err_msg=f"{name} {key} at coincident points {members}")
        np.testing.assert_allclose(value, np.asarray(ref[key])[origin], rtol=0,
                                   atol=1e-8 * np.abs(ref[key]).max(),
                                   err_msg=f"{name} {key}: copies differ from the original point")


# ---------------------------------------------------------------------------
# dtypes, user normals, workers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_float32_and_int_input_promoted(name, random_sphere):
    same = assert_same if name == "spectrum" else assert_identical   # ARPACK: to rounding
    opts = {"rtol": 1e-10} if name == "spectrum" else {}
    # a random sample: on the icosphere, float32 rounding breaks distance ties between
    # neighbours and legitimately swaps which one is the k-th
    p64 = random_sphere(2000, seed=23)
    p32 = p64.astype(np.float32)
    a32 = run(name, p32)
    same(a32, run(name, p32.astype(np.float64)), what=f"{name}: float32 vs promoted", **opts)
    # rounding the points to float32 moves the results by float32 precision only
    assert_same(a32, run(name, p64), rtol=2e-5, what=f"{name}: float32 vs float64")
    pi = np.round(p64 * 1000).astype(np.int32)
    same(run(name, pi), run(name, pi.astype(np.float64)), what=f"{name}: int vs promoted", **opts)


def _tilted(normals, angle=0.2):
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    return normals @ R.T


@pytest.mark.parametrize("kind", ["o3d_legacy_pcd", "o3d_tensor_pcd"])
@pytest.mark.parametrize("cls", [om.LaplaceBeltrami, om.SurfaceGradient])
def test_user_normals_used_with_auto_and_ignored_with_estimate(cls, kind):
    exact = PTS / np.linalg.norm(PTS, axis=1, keepdims=True)
    user = _tilted(exact)                              # deliberately wrong by 0.2 rad
    g = make_geometry(kind, normals=user)
    auto = cls(normals="auto").fit(g)
    est = cls(normals="estimate").fit(g)
    plain = cls().fit(PTS)
    np.testing.assert_allclose(auto.normals_, user, rtol=0, atol=1e-15,
                               err_msg="normals='auto' must use the stored normals")
    ang = np.arccos(np.clip(np.abs(np.einsum("ij,ij->i", est.normals_, exact)), 0, 1))
    assert ang.max() < 1e-3, "normals='estimate' must re-estimate"
    assert (np.einsum("ij,ij->i", est.normals_, user) > 0).all(), \
        "estimated normals are oriented by the stored ones"
    key = "L_" if cls is om.LaplaceBeltrami else "G_"
    m_auto, m_est, m_plain = (getattr(o, key) for o in (auto, est, plain))
    assert abs(m_auto - m_est).max() > 1e-3 * abs(m_est).max(), "auto and estimate agree?"
    assert_same({key: m_est}, {key: m_plain}, what="normals='estimate' vs no stored normals")
    if cls is om.SurfaceGradient:                      # the gradient lies in the user's planes
        grad = auto.apply(PTS[:, 2])
        np.testing.assert_allclose(np.einsum("ij,ij->i", grad, user), 0.0, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_workers_none_1_minus1_same(name):
    out = {w: run(name, PTS, workers=w) for w in (None, 1, -1, 2)}
    for w in (1, -1, 2):
        if name == "spectrum":
            assert_same(out[w], out[None], rtol=1e-10, what=f"{name} workers={w}")
        else:
            assert_identical(out[w], out[None], what=f"{name} workers={w}")


@pytest.mark.parametrize("kind", ["numpy", "trimesh_mesh"])
def test_a_prepared_sampling_gives_the_same_operators(kind):
    """prepare() once, fit every operator on it: the same results as fitting each on the
    geometry, with one k-NN / frames pass."""
    g = make_geometry(kind)
    s = om.prepare(g)
    assert isinstance(s, om.Sampling) and "Sampling(n=2562" in repr(s)
    f, V = field_values(g), field_vectors(g)
    for cls, attr, apply_to in ((om.LaplaceBeltrami, "L_", None), (om.SurfaceGradient, "G_", f),
                                (om.Divergence, "D_", V)):
        a, b = cls().fit(s), cls().fit(g)
        assert (getattr(a, attr) != getattr(b, attr)).nnz == 0, cls.__name__
        if apply_to is not None:
            np.testing.assert_array_equal(a.apply(apply_to), b.apply(apply_to))
    op = om.LaplaceBeltrami().fit(s)
    assert op.sampling_ is s and op.neighborhoods_ is s.neighborhoods
    vals, _ = om.spectrum(s, n_modes=N_MODES)
    np.testing.assert_allclose(vals, reference("spectrum")["vals"] if kind == "numpy"
                               else reference_with_mesh_normals("spectrum")["vals"], atol=1e-9)


def test_a_sampling_must_match_the_operator_options():
    s = om.prepare(PTS, k=20)
    with pytest.raises(ValueError, match="`k` of LaplaceBeltrami is 16 but the Sampling was "
                                         "prepared with k=20"):
        om.LaplaceBeltrami().fit(s)
    om.LaplaceBeltrami(k=20).fit(s)
    with pytest.raises(ValueError, match="`normals`"):
        om.SurfaceGradient(k=20, normals="estimate").fit(om.prepare(make_geometry("trimesh_mesh"),
                                                                    k=20, normals=PTS))
    with pytest.raises(ValueError, match="`k`"):
        om.prepare(PTS, k=2)
    with pytest.raises(ValueError, match="`orient`"):
        om.prepare(PTS, orient="up")


@pytest.mark.parametrize("cls", [om.LaplaceBeltrami, om.SurfaceGradient, om.Divergence,
                                 om.ScatteredDerivatives, om.FieldCalculus])
def test_estimators_have_params_and_a_repr(cls):
    est = cls()
    params = est.get_params()
    assert "k" in params and "method" in params
    assert repr(est) == f"{cls.__name__}()"
    assert est.set_params(k=24) is est and est.k == 24 and repr(est) == f"{cls.__name__}(k=24)"
    with pytest.raises(ValueError, match="no parameter 'kay'"):
        est.set_params(kay=3)


def test_set_params_then_fit_equals_constructing_with_them():
    a = om.LaplaceBeltrami().set_params(k=20, order=3).fit(PTS)
    b = om.LaplaceBeltrami(k=20, order=3).fit(PTS)
    assert (a.L_ != b.L_).nnz == 0


@pytest.mark.parametrize("jitter", [0.0, 1e-13])
def test_every_point_with_a_twin_is_merged(jitter):
    """Meshes split at UV seams and merged scans give every point a twin: the pairs are
    merged (the coincidence scale is the distance to the 8th neighbour, not the nearest),
    the area is not counted twice, and the spectrum is the sphere's."""
    p = np.asarray(fibonacci_sphere(2000))
    q = np.vstack([p, p + jitter * np.random.default_rng(1).normal(size=p.shape)])
    op = om.LaplaceBeltrami().fit(q)
    assert op.diagnostics_["n_coincident"] == 2000
    assert abs(op.M_.sum() / (4 * np.pi) - 1) < 1e-3
    ref = om.LaplaceBeltrami().fit(p)
    np.testing.assert_allclose(op.M_.diagonal()[:2000] * 2, ref.M_.diagonal(), rtol=1e-9)
    vals, _ = op.spectrum(4)
    np.testing.assert_allclose(vals, ref.spectrum(4)[0], atol=1e-9)
