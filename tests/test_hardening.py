"""Bad input that used to reach compiled or sparse code unchecked (segfaults, aborts,
out-of-bounds reads) gets a ValueError naming the argument."""
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import o3d_meshless as om
from o3d_meshless._validation import n_threads_from_workers
from o3d_meshless.operators.assembly import lumped_areas
from o3d_meshless.sampling.frames import pca_frames
from o3d_meshless.io.read import load_npz, save_npz
from o3d_meshless.sampling.neighbors import knn
from o3d_meshless.stencils.taylor import taylor_weights
from o3d_meshless.testing import fibonacci_sphere


@pytest.fixture(scope="module")
def cloud():
    p = np.random.default_rng(0).normal(size=(300, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    return knn(p, 12)


def test_corrupt_sparse_entry_in_npz_is_refused(tmp_path):
    f = tmp_path / "L.npz"
    save_npz(f, L=sp.eye(3, format="csr"))
    parts = dict(np.load(f))
    parts["L__csr_indices"] = np.array([0, 10 ** 9, 2])
    np.savez(f, **parts)
    with pytest.raises(ValueError, match="sparse entry 'L' is corrupt"):
        load_npz(f)
    parts["L__csr_indices"] = np.array([0, 1, 2])
    parts["L__csr_indptr"] = np.array([0, 2, 1, 3])           # not monotone
    np.savez(f, **parts)
    with pytest.raises(ValueError, match="corrupt"):
        load_npz(f)


@pytest.mark.parametrize("height_order", [1, 4, 8, 30, -1])
def test_pca_frames_refuses_height_orders_its_buffers_do_not_hold(cloud, height_order):
    with pytest.raises(ValueError, match="height_order"):
        pca_frames(cloud.points, cloud.indices, height_order=height_order)


@pytest.mark.parametrize("n_threads", [0, -1, 10 ** 6, 2.5, True])
def test_kernels_refuse_bad_thread_counts(cloud, n_threads):
    with pytest.raises(ValueError, match="n_threads"):
        pca_frames(cloud.points, cloud.indices, n_threads=n_threads)


def test_taylor_kernel_refuses_high_orders_and_short_stencils(cloud):
    rows = np.arange(5, dtype=np.intp)
    nbrs = np.ascontiguousarray(cloud.indices[:5])
    with pytest.raises(ValueError, match="order"):
        taylor_weights(cloud.points, nbrs, rows, None, order=5, targets=[(1, 0, 0)])
    with pytest.raises(ValueError, match="neighbors"):
        taylor_weights(cloud.points, np.ascontiguousarray(nbrs[:, :4]), rows, None, order=2,
                       targets=[(1, 0, 0)])


def test_lumped_areas_refuses_frames_of_the_wrong_size(cloud):
    frames = np.tile(np.eye(3), (10, 1, 1))
    with pytest.raises(ValueError, match="frames"):
        lumped_areas(cloud, frames)


def test_workers_are_clamped_to_the_usable_cores():
    import os
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert n_threads_from_workers(2 ** 40) == ncpu
    assert n_threads_from_workers(100000) == ncpu
    assert n_threads_from_workers(1) == 1


@pytest.mark.parametrize("scale", [1e-160, 1e160])
def test_extreme_scales_are_refused_with_a_clear_error(scale):
    import o3d_meshless as om
    p = np.random.default_rng(0).normal(size=(500, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    with pytest.raises(ValueError, match="multiply the points by a constant"):
        om.laplace_beltrami(p * scale)
    L, M = om.laplace_beltrami(p * 1e-55)          # far, but inside the range: finite
    assert np.isfinite(L.data).all() and np.isfinite(M.data).all()


@pytest.mark.parametrize("sigma", [np.nan, np.inf, "0", 1j, True])
def test_spectrum_shift_is_validated(sigma):
    import o3d_meshless as om
    p = np.random.default_rng(0).normal(size=(700, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    op = om.LaplaceBeltrami().fit(p)
    with pytest.raises(ValueError, match="`sigma`"):
        op.spectrum(4, sigma=sigma)


def test_operators_keep_a_copy_of_the_points_and_directories_are_named(tmp_path):
    import o3d_meshless as om
    p = np.random.default_rng(0).normal(size=(500, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    op = om.LaplaceBeltrami().fit(p)
    assert not np.shares_memory(op.points_, p)
    with pytest.raises(IsADirectoryError):
        om.read_geometry(tmp_path)
    with pytest.raises(ValueError, match="all points of `geometry` are coincident"):
        om.laplace_beltrami(np.ones((50, 3)))


def test_truncated_ply_files_are_refused(tmp_path):
    import open3d as o3d
    import o3d_meshless as om
    p = np.random.default_rng(0).normal(size=(2000, 3))
    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p))
    for ascii_ in (False, True):
        good = tmp_path / f"good{int(ascii_)}.ply"
        o3d.io.write_point_cloud(str(good), pc, write_ascii=ascii_)
        assert om.as_points(om.read_geometry(good)).shape == (2000, 3)
        data = good.read_bytes()
        cut = tmp_path / f"cut{int(ascii_)}.ply"
        cut.write_bytes(data[:len(data) // 2])
        with pytest.raises(ValueError, match="truncated"):
            om.read_geometry(cut)
        header = tmp_path / f"header{int(ascii_)}.ply"
        header.write_bytes(data[:data.index(b"end_header") + len(b"end_header\n")])
        with pytest.raises(ValueError, match="truncated|0 points"):
            om.read_geometry(header)


def test_writes_are_atomic(tmp_path, monkeypatch):
    """A write that fails midway leaves the previous file as it was and no temporary."""
    from o3d_meshless.io.read import save_npz
    f = tmp_path / "a.npz"
    save_npz(f, x=np.arange(3))
    before = f.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", broken)
    with pytest.raises(OSError, match="disk full"):
        save_npz(f, x=np.arange(5))
    assert f.read_bytes() == before
    assert [g.name for g in tmp_path.iterdir()] == ["a.npz"]


def test_npy_with_a_lying_header_is_refused_before_allocating(tmp_path):
    import o3d_meshless as om
    f = tmp_path / "lie.npy"
    with open(f, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 11, 3)})
        fh.write(np.zeros(9).tobytes())
    with pytest.raises(ValueError, match="truncated or corrupt"):
        om.read_geometry(f)
    g = tmp_path / "obj.npy"
    np.save(g, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="no pickles"):
        om.read_geometry(g)


def test_scattered_derivatives_accept_geometry_and_strict_is_a_bool():
    import open3d as o3d
    import o3d_meshless as om
    p = np.random.default_rng(0).uniform(size=(500, 3))
    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p))
    a = om.ScatteredDerivatives().fit(pc)
    b = om.ScatteredDerivatives().fit(p)
    assert (a.G_ != b.G_).nnz == 0
    with pytest.raises(ValueError, match="`strict`"):
        om.stencil_weights(np.random.default_rng(0).normal(size=(12, 2)), method="orthopoly",
                           strict="yes")
    with pytest.raises(ValueError, match="`points`"):
        om.ScatteredDerivatives().fit(object())


def test_rank_fallback_rows_stay_flagged():
    """Points on a line thickened by 1e-9: the guard's fallback drops the unsupported
    monomial, and those rows are still reported as rank-deficient (with a warning), as
    they are with guard=False."""
    import warnings
    import o3d_meshless as om
    rng = np.random.default_rng(0)
    p = np.c_[rng.uniform(size=500), 1e-9 * rng.normal(size=500)]
    for guard in (True, False):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            op = om.ScatteredDerivatives(order=1, guard=guard).fit(p)
        assert op.diagnostics_["n_rank_deficient"] > 400, guard
        assert any("rank-deficient" in str(w.message) for w in caught), guard


def test_clsgsp_in_3d_defaults_to_an_overdetermined_fit():
    """20 ghosts in 3-D: the default k keeps more samples than ghosts + polynomials (it
    was 20, and the gradient of a cubic was off by up to 88 inside the cube)."""
    import o3d_meshless as om
    rng = np.random.default_rng(0)
    Q = rng.uniform(size=(4000, 3))
    inner = (np.abs(Q - 0.5) < 0.4).all(1)
    err = np.linalg.norm(om.scattered_gradient(Q, (Q ** 3).sum(1), method="clsgsp")
                         - 3 * Q ** 2, axis=1)
    assert err[inner].max() < 0.1
    assert om.ScatteredDerivatives(method="clsgsp").fit(Q)._k >= 29


def test_gsp_rows_that_miss_polynomial_reproduction_are_failures():
    """The reproduction test (NumPy oracle of the kernel's): exact weights pass, weights
    1 % off fail."""
    from o3d_meshless.testing.gsp_reference import misses_polynomials as _misses_polynomials
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(30, 2))
    nbrs = np.arange(1, 21)[None]
    x = pts[nbrs[0]] - pts[0]
    targets = [(1, 0)]
    # least-squares weights exact for degree <= 2 monomials: not a miss
    full = np.c_[x, x[:, 0] ** 2 / 2, x[:, 0] * x[:, 1], x[:, 1] ** 2 / 2]
    exact_w = np.linalg.pinv(full)[0][None, :, None]
    assert not _misses_polynomials(pts, nbrs, np.array([0]), None, exact_w, targets, 2, 2)[0]
    assert _misses_polynomials(pts, nbrs, np.array([0]), None, exact_w * 1.01, targets, 2, 2)[0]


@pytest.mark.parametrize("shape", [3.0, 1e-3])
def test_gsp_kernel_flags_the_rows_the_oracle_flags(shape):
    """The kernel tests each row's polynomial reproduction itself: on sphere stencils
    (the default shape, and nearly flat RBFs), 200 of them made of only 4 distinct
    neighbours repeated, its rank failures are exactly the rows the NumPy oracle flags:
    the 200 degenerate rows and no other."""
    from o3d_meshless.sampling.neighbors import knn
    from o3d_meshless.stencils.gsp import gsp_weights
    from o3d_meshless.testing import random_sphere
    from o3d_meshless.testing.gsp_reference import misses_polynomials

    p = random_sphere(3000, seed=4)
    nb = knn(p, 16)
    frames = om.LaplaceBeltrami(progress=False).fit(p).frames_
    bases = np.ascontiguousarray(frames[:, :2])
    centers = np.arange(len(p), dtype=np.intp)
    targets = [{(2, 0): 1.0, (0, 2): 1.0}, (1, 0)]
    nbrs = nb.indices.copy()
    nbrs[:200] = np.tile(nb.indices[:200, :4], (1, 4))
    w, diag, status = gsp_weights(p, nbrs, centers, bases, order=2, targets=targets,
                                  shape=shape)
    oracle = misses_polynomials(p, nbrs, centers, bases, w, targets, 2, 2)
    assert (status == 0).all()
    assert np.array_equal(diag[:, 0] == 0.0, oracle)
    assert oracle[:200].all() and not oracle[200:].any()


def test_exploded_laplacian_rows_fail_the_guard():
    from o3d_meshless.operators.guard import MAX_DIAGONAL, _exploded
    rng = np.random.default_rng(2)
    pts = np.c_[rng.normal(size=(17, 2)), np.zeros(17)]
    pts[0] = 0.0
    r2 = (pts[1:] ** 2).sum(1).mean()
    lw = np.full((1, 16), 4.0 / (16 * r2))          # L_ii r² = 4: an ordinary row
    nbrs, centre = np.arange(1, 17)[None], np.array([0])
    assert not _exploded(pts, nbrs, centre, lw)[0]
    assert _exploded(pts, nbrs, centre, lw * MAX_DIAGONAL)[0]
    assert _exploded(pts, nbrs, centre, lw * np.nan)[0]


def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    import os
    from o3d_meshless.io.read import save_npz, save_ply
    umask = os.umask(0)
    os.umask(umask)
    want = 0o666 & ~umask
    a = save_npz(tmp_path / "a.npz", x=np.ones(3))
    b = tmp_path / "b.ply"
    save_ply(b, np.random.default_rng(0).normal(size=(5, 3)))
    for f in (a, b):
        assert os.stat(f).st_mode & 0o777 == want


def test_attach_scales_normals_to_unit_length_and_refuses_zero_rows():
    pts = np.random.default_rng(0).normal(size=(5, 3))
    normals = np.tile([0.0, 0.0, 3.0], (5, 1))
    out = om.attach(pts, {"normals": normals})
    np.testing.assert_allclose(out["normals"], np.tile([0.0, 0.0, 1.0], (5, 1)))
    normals[2] = 0.0
    with pytest.raises(ValueError, match=r"arrays\['normals'\]. row 2 has length 0"):
        om.attach(pts, {"normals": normals})


@pytest.mark.parametrize("scale", [1e-70, 1e70])
def test_spacings_where_order_4_loses_accuracy_are_refused(scale):
    # at 1e-80 an order-4 Laplacian was finite but 160x less accurate than at scale 1
    p = fibonacci_sphere(500) * scale
    with pytest.raises(ValueError, match=r"spacing of .* outside \[1e-60, 1e\+60\]|"
                                         r"coordinates up to .* beyond 1e\+60"):
        om.laplace_beltrami(p, order=4, k=30)


@pytest.mark.parametrize("scale", [1e-70, 1e75])
def test_stencil_weights_refuses_offsets_beyond_the_safe_range(scale):
    off = np.random.default_rng(1).normal(size=(30, 2)) * scale
    with pytest.raises(ValueError, match=r"`offsets` reach .* multiply them by a constant"):
        om.stencil_weights(off, order=4)
    w = om.stencil_weights(off / scale, order=4)              # the advice works
    assert all(np.isfinite(v).all() for v in w.values())


OUT_OF_MEMORY_SCRIPT = """
import resource, sys, numpy as np
from o3d_meshless.stencils.taylor import taylor_weights
from o3d_meshless.stencils.gsp import clsgsp_weights
from o3d_meshless.stencils.orthopoly import orthopoly_weights
from o3d_meshless.stencils.moments import moments_weights
kernel = {"taylor": taylor_weights, "clsgsp": clsgsp_weights,
          "orthopoly": orthopoly_weights, "moments": moments_weights}[sys.argv[1]]
k = 40000                                    # one stencil whose scratch needs > 8 MiB
pts = np.random.default_rng(0).normal(size=(k + 1, 2))
nbrs = np.arange(1, k + 1, dtype=np.intp)[None, :]
vm = int([l for l in open("/proc/self/status") if l.startswith("VmSize")][0].split()[1])
resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + 8 * 2**20, resource.RLIM_INFINITY))
try:
    kernel(pts, nbrs, np.zeros(1, dtype=np.intp), None, order=2, targets=[(1, 0)],
           n_threads=1)
    print("computed")
except MemoryError as err:
    print("MemoryError:", err)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and RLIMIT_AS")
@pytest.mark.parametrize("method", ["taylor", "clsgsp", "orthopoly", "moments"])
def test_stencil_kernels_report_failed_allocations_as_memory_error(method):
    proc = subprocess.run([sys.executable, "-c", OUT_OF_MEMORY_SCRIPT, method],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "could not allocate its per-thread scratch" in proc.stdout, proc.stdout


@pytest.mark.parametrize("separation", [0.0, 1e-9, 1e-6, 1e-4])
def test_near_duplicate_twins_give_the_deduplicated_operator(separation):
    # every point of the shipped bunny doubled, the copy `separation` spacings away (a
    # merged scan, float32 copies): with 1e-9 coincidence twins at 1e-8..1e-2 spacings
    # changed L f by 8 % (median) and M.sum by up to 0.3 %; now they are merged
    p = om.as_points(om.read_geometry(om.sample_path()))
    h = np.median(np.linalg.norm(p[knn(p, 3).indices[:, 0]] - p, axis=1))
    step = np.random.default_rng(2).normal(size=p.shape)
    step *= separation * h / np.linalg.norm(step, axis=1, keepdims=True)
    L0, M0 = om.laplace_beltrami(p)
    L, M = om.laplace_beltrami(np.vstack([p, p + step]))
    f = p[:, 0] ** 2 + p[:, 1]
    ref = L0 @ f
    got = L @ np.r_[f, f]
    assert abs(M.sum() / M0.sum() - 1) < 1e-3
    # the merged point sits at the twins' centroid, separation/2 from the original
    assert np.median(np.abs(got[:len(p)] - ref)) < max(10 * separation, 1e-9) * np.abs(ref).mean()
    np.testing.assert_array_equal(got[:len(p)], got[len(p):])       # twins share results


def test_gradient_failure_warning_names_the_cause_and_its_fix():
    """Distance weights on the shipped bunny leave a few noise-amplifying rows: the warning
    says so and points to weights=None; a line of points hanging off a sphere fails the same
    test at order 1 and is told to use a larger k.  A rank-deficient row gets the rank fix."""
    import warnings
    from types import SimpleNamespace
    from o3d_meshless.operators.surface_operator import _gradient_failures

    def messages(points, **options):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            op = om.SurfaceGradient(**options).fit(points)
        text = [str(w.message) for w in caught if "fail the guard" in str(w.message)]
        return op, text

    op, text = messages(om.as_points(om.read_geometry(om.sample_path())), weights=2)
    n_failed = int(op.diagnostics_["failed_mask"].sum())
    assert n_failed > 0 and len(text) == 1
    assert f"{n_failed} amplifying noise" in text[0] and "use weights=None" in text[0]
    assert "rank-deficient" not in text[0]

    line = np.c_[np.linspace(2, 3, 40), np.zeros(40), np.zeros(40)]
    op, text = messages(np.r_[fibonacci_sphere(2000), line])
    assert len(text) == 1 and "amplifying noise" in text[0]
    assert "larger k or lower the order" in text[0] and "weights=None" not in text[0]

    st = SimpleNamespace(failed=np.array([True, True, False]),
                         diagnostics=np.array([[1e-9, 0, 0, 0], [0.5, 0, 0, 0], [np.nan, 0, 0, 0]]))
    what, fix = _gradient_failures(st, None)
    assert "1 rank-deficient" in what and "1 amplifying" in what
    assert fix.startswith("give a larger k or the geometry's normals")


def test_freed_memory_is_released_where_the_c_library_can():
    """glibc has malloc_trim and is used; elsewhere the call is a documented no-op."""
    import platform
    from o3d_meshless import _memory
    blocks = [np.ones(100_000) for _ in range(50)]      # heap blocks, freed below
    del blocks[::2]
    released = _memory.release_freed_memory()
    assert isinstance(released, bool)
    if platform.libc_ver()[0] == "glibc":
        assert _memory._malloc_trim() is not None
    else:
        assert released is False or _memory._malloc_trim() is not None
