"""o3d_meshless.dask: the distributed path equals the single-machine one.

Every comparison is against the ordinary pipeline on the whole cloud, to 1e-12 relative
(in practice the results are bit-identical). A LocalCluster of 2 workers × 1 thread
(threads, not processes: starts in about a second) runs the graphs.
"""
import os
import warnings

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import o3d_meshless as om                                      # noqa: E402
from o3d_meshless.dask import DaskSurface, to_npy, to_zarr     # noqa: E402
from o3d_meshless.dask import _local                           # noqa: E402
from o3d_meshless.sampling.neighbors import knn                         # noqa: E402
from o3d_meshless.testing import random_sphere                 # noqa: E402

RTOL = 1e-12


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():           # rows the guard cannot fix warn per part
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def close(a, b, rtol=RTOL):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    scale = max(float(np.abs(b).max()), 1e-300)
    err = float(np.abs(a - b).max())
    assert err <= rtol * scale, f"max diff {err:.3g} vs scale {scale:.3g}"


def dense_sparse_patch(seed=0):
    """An open, curved patch: dense below y = 0.5, sparse above, a very dense spot."""
    rng = np.random.default_rng(seed)
    dense = rng.uniform([0.0, 0.0], [1.0, 0.5], size=(12000, 2))
    sparse_ = rng.uniform([0.0, 0.5], [1.0, 1.0], size=(2500, 2))
    spot = rng.normal([0.5, 0.5], 0.02, size=(1500, 2))
    uv = np.concatenate([dense, sparse_, spot])
    uv = uv[rng.permutation(len(uv))]             # input order unrelated to space
    z = 0.2 * np.sin(3 * uv[:, 0]) * np.cos(2 * uv[:, 1])
    return np.c_[uv, z]


def single(points, **kw):
    s = om.prepare(points, orient=kw.pop("orient", None), workers=1, **kw)
    L = om.LaplaceBeltrami(orient=s.options["orient"], workers=1, **kw).fit(s)
    G = om.SurfaceGradient(orient=s.options["orient"], workers=1, **kw).fit(s)
    return s, L, G


def test_equals_single_machine(client):
    p = dense_sparse_patch()
    f = np.cos(2 * p[:, 0]) + p[:, 1] ** 2
    surf = DaskSurface(p, n_parts=5, block_rows=4000)
    F, Lf, g, M, B, curv = dask.compute(
        surf.frames(), surf.laplacian_apply(f), surf.surface_gradient(f), surf.mass(),
        surf.boundary(), surf.curvature())
    s, L, G = single(p)
    close(F, s.expand(s.frames))
    close(Lf, L.L_ @ f)
    close(g, G.apply(f))
    close(M, L.M_.diagonal())
    assert np.array_equal(B, s.expand(s.boundary)) and B.any()
    ref = om.curvature(s)
    for name in ("mean", "gaussian", "k1", "k2"):
        close(curv[name], getattr(ref, name))


def test_halo_dense_and_sparse(client):
    """Parts cut through dense and sparse regions: no owned neighbourhood differs."""
    p = dense_sparse_patch(seed=1)
    surf = DaskSurface(p, n_parts=7, block_rows=3000)
    # the cuts go through both regions: some part has dense and sparse owned points
    m = _local.ROW_FACTOR * surf.k
    got = surf.neighbors(m).compute()
    nb = knn(p, m)
    assert nb.inverse is None
    assert np.array_equal(got, nb.indices)
    # and so does the 2k neighbourhood of the halo closure (a prefix of the above)
    assert np.array_equal(surf.neighbors(2 * surf.k).compute(), nb.indices[:, :2 * surf.k])
    assert surf.stats["halo_fraction"] > 0
    owners = [_part_owners(surf, p, left) for left in (p[:, 1] < 0.45, p[:, 1] > 0.55)]
    assert len(set(owners[0]) & set(owners[1])) >= 1      # a part owns dense and sparse


def _part_owners(surf, p, mask):
    from o3d_meshless.dask._partition import leaf_of
    return np.unique(leaf_of(p[mask], surf.nodes)).tolist()


def test_coincident_points(client):
    rng = np.random.default_rng(3)
    p = random_sphere(8000, seed=3)
    twins = p[rng.choice(len(p), 400, replace=False)]
    near = p[rng.choice(len(p), 200, replace=False)] * (1 + 1e-9)
    q = np.concatenate([p, twins, near])[rng.permutation(len(p) + 600)]
    f = q[:, 0] * q[:, 2]
    surf = DaskSurface(q, n_parts=4, block_rows=2500)
    F, Lf, g = dask.compute(surf.frames(), surf.laplacian_apply(f), surf.surface_gradient(f))
    s, L, G = single(q)
    assert s.diagnostics["n_coincident"] == 600
    close(F, s.expand(s.frames))
    close(Lf, L.L_ @ f)
    close(g, G.apply(f))
    A = surf.laplacian_matrix()
    assert abs(A - L.L_).max() <= RTOL * abs(L.L_).max()


@pytest.mark.parametrize("n", [2000, 60_000])             # 60 000: the Morton-sorted path
def test_knn_keeps_the_raw_distance_table_in_input_order(n):
    """``knn(raw_distances=True)``: the first query's distances, before coincident points
    merge, row i for input point i (the partition reads the coincidence scale there)."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(13)
    p = random_sphere(n, seed=13)
    p = np.concatenate([p, p[:50]])[rng.permutation(n + 50)]      # twins merge
    nb = knn(p, 16, raw_distances=True)
    assert nb.inverse is not None                                  # merged, reordered
    want = cKDTree(p).query(p, 17)[0]
    np.testing.assert_allclose(nb.raw_distances, want, rtol=0, atol=1e-15)
    assert knn(p, 16).raw_distances is None


@pytest.mark.parametrize("guess", [3.0, 1 / 3, 1e-3])
def test_pairs_between_the_guessed_and_the_clouds_tolerance(client, monkeypatch, guess):
    """The partition merges coincident points with a tolerance guessed from the sample
    before the cloud's own is known. Where two points lie at a distance between the
    two, the merges differ: those parts' halo rounds run again with the cloud's own
    (all of them when the guess is too far off to check), and every result is still
    the single machine's."""
    from o3d_meshless.dask import _partitioned

    p = random_sphere(8000, seed=12)
    rng = np.random.default_rng(12)
    tol = DaskSurface(p, n_parts=4, block_rows=2500).tol
    assert DaskSurface(p, n_parts=4, block_rows=2500).stats["halo_redone"] == 0
    pick = rng.choice(len(p), 40, replace=False)
    step = rng.normal(size=(40, 3))
    step -= np.einsum("ij,ij->i", step, p[pick])[:, None] * p[pick]
    step /= np.linalg.norm(step, axis=1, keepdims=True)
    apart = np.sqrt(guess) * tol if guess > 1e-2 else 2 * tol     # within the band
    q = np.concatenate([p, p[pick] + apart * step])[rng.permutation(len(p) + 40)]
    monkeypatch.setattr(_partitioned, "provisional_tol", lambda r0: guess * tol)
    surf = DaskSurface(q, n_parts=4, block_rows=2500)
    assert surf.stats["tol_provisional"] == guess * tol
    assert abs(surf.tol / tol - 1) < 1e-2
    assert surf.stats["halo_redone"] == (4 if guess < 1e-2 else surf.stats["halo_redone"])
    assert surf.stats["halo_redone"] >= 1
    f = q[:, 0] * q[:, 2]
    F, Lf = dask.compute(surf.frames(), surf.laplacian_apply(f))
    s, L, _ = single(q)
    assert s.diagnostics["n_coincident"] == (40 if apart < surf.tol else 0)
    close(F, s.expand(s.frames))
    close(Lf, L.L_ @ f)


def test_smoothing_and_blocks(client):
    p = random_sphere(6000, seed=4)
    f = p[:, 2] + 0.1 * np.random.default_rng(4).normal(size=len(p))
    surf = DaskSurface(p, n_parts=3, block_rows=2000).persist("sampling", "laplacian")
    tau, steps = 1e-5, 3
    got = surf.smooth(f, tau, steps).compute()
    L = single(p)[1].L_
    want = f.copy()
    for _ in range(steps):
        want = want - tau * (L @ want)
    close(got, want)
    blocks = dask.compute(*surf.laplacian_blocks())
    rows = np.concatenate([b[0] for b in blocks])
    assert np.array_equal(np.sort(rows), np.arange(len(p)))
    A = surf.laplacian_matrix()
    assert abs(A - L).max() <= RTOL * abs(L).max()
    with pytest.raises(MemoryError, match="laplacian_blocks"):
        surf.laplacian_matrix(max_bytes=1000)


def test_given_normals_and_outward(client):
    p = random_sphere(5000, seed=5)
    nrm = p * np.where(np.arange(len(p)) % 2, 1.0, -1.0)[:, None]    # any sign
    f = p[:, 1]
    surf = DaskSurface(p, normals=nrm, n_parts=3, block_rows=2000)
    F, Lf = dask.compute(surf.frames(), surf.laplacian_apply(f))
    s, L, _ = single(p, normals=nrm)
    close(F, s.expand(s.frames))
    close(Lf, L.L_ @ f)
    out = DaskSurface(p, orient="outward", n_parts=3).normals().compute()
    ref = om.estimate_frames(p, orient="outward", workers=1)[:, 2]
    close(out, ref)


def test_memmap_zarr_inputs_and_outputs(client, tmp_path):
    zarr = pytest.importorskip("zarr")
    p = random_sphere(6000, seed=6)
    f = np.sin(3 * p[:, 0])
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "f.npy", f)
    mm = np.load(tmp_path / "p.npy", mmap_mode="r")
    z = zarr.open_array(str(tmp_path / "p.zarr"), mode="w", shape=p.shape, chunks=(1500, 3),
                        dtype="f8")
    z[:] = p
    L = single(p)[1].L_
    for src in (mm, str(tmp_path / "p.npy"), z, str(tmp_path / "p.zarr")):
        surf = DaskSurface(src, n_parts=3, block_rows=2000)
        close(surf.laplacian_apply(str(tmp_path / "f.npy")).compute(), L @ f)
    surf = DaskSurface(mm, n_parts=3, block_rows=2000)
    Lf = surf.laplacian_apply(f)
    close(np.load(to_npy(Lf, tmp_path / "out.npy")), L @ f)
    close(zarr.open_array(to_zarr(surf.normals(), tmp_path / "n.zarr"), mode="r")[:],
          single(p)[0].expand(single(p)[0].frames)[:, 2])


def test_file_inputs_are_read_by_each_part_with_the_same_rows(client, tmp_path):
    """A ``.npy`` input is read by each part itself (no pieces through the graph): the
    rows, ownership and normals equal those of the block-by-block exchange."""
    from o3d_meshless.dask._partition import concat
    from o3d_meshless.dask._tasks import _extract_parts, _read_part

    p = dense_sparse_patch(seed=3)
    nrm = om.estimate_frames(p, orient=None, workers=1)[:, 2]
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "n.npy", nrm)
    surf = DaskSurface(str(tmp_path / "p.npy"), n_parts=4, block_rows=3000)
    assert surf._src.path is not None
    radii = surf.radii
    leafmap = np.arange(surf.n_parts)
    pieces = [_extract_parts(p[lo:hi], lo, surf.nodes, surf.boxes, radii, leafmap,
                             nrm[lo:hi]) for lo, hi in surf.bounds]
    for part in range(surf.n_parts):
        old = concat([pc[part] for pc in pieces])
        new = _read_part(str(tmp_path / "p.npy"), surf.bounds, surf.nodes,
                         surf.boxes[part], radii[part], part, str(tmp_path / "n.npy"))
        for a, b in zip(old, new):
            np.testing.assert_array_equal(a, b)
    # and the whole pipeline with file normals equals the in-memory one
    from_files = DaskSurface(str(tmp_path / "p.npy"), normals=str(tmp_path / "n.npy"),
                             n_parts=4, block_rows=3000)
    in_memory = DaskSurface(p, normals=nrm, n_parts=4, block_rows=3000)
    f = np.cos(2 * p[:, 0])
    np.save(tmp_path / "f.npy", f)
    expect = in_memory.laplacian_apply(f).compute()
    grad = in_memory.surface_gradient(f).compute()
    # built and applied in one task (nothing kept), then with the operator kept
    close(from_files.laplacian_apply(str(tmp_path / "f.npy")).compute(), expect)
    close(from_files.surface_gradient(str(tmp_path / "f.npy")).compute(), grad)
    from_files.persist("laplacian")
    close(from_files.laplacian_apply(str(tmp_path / "f.npy")).compute(), expect)
    # a spatially ordered file (as scans often are): parts skip the blocks that cannot
    # hold their points, and the operator is still the single machine's
    order = np.argsort(p[:, 0], kind="stable")
    np.save(tmp_path / "sorted.npy", p[order])
    ordered = DaskSurface(str(tmp_path / "sorted.npy"), n_parts=4, block_rows=1000)
    assert min(len(ordered._touching(ordered.boxes[q], ordered.radii[q]))
               for q in range(4)) < len(ordered.bounds)
    # (this patch has two points prepare() calls outliers; the Dask path keeps them all)
    ref = single(p[order], outliers="keep", denoise=False)[1].L_
    close(ordered.laplacian_apply(f[order]).compute(), ref @ f[order])


def test_starting_a_part_ranks_below_finishing_one(tmp_path):
    """Reading a part and building its sampling carry a priority below the default, so
    a worker finishes a part's consumers before it starts the next part."""
    from o3d_meshless.dask._partitioned import START_PRIORITY

    p = random_sphere(3000, seed=9)
    np.save(tmp_path / "p.npy", p)
    surf = DaskSurface(str(tmp_path / "p.npy"), n_parts=3, block_rows=1000)
    layers = surf.normals().__dask_graph__().layers
    prio = {name.split("-")[0]: (layer.annotations or {}).get("priority", 0)
            for name, layer in layers.items()}
    assert START_PRIORITY < 0
    assert prio["_read_part"] == prio["_sampling_part"] == START_PRIORITY
    assert prio["_normals_part"] == 0


def test_box_test_equals_the_plain_comparison():
    """``boxed`` tests one axis at a time; it must equal comparing every coordinate,
    with open (infinite) faces and points exactly on a face."""
    from o3d_meshless.dask._partition import boxed

    rng = np.random.default_rng(9)
    x = np.round(rng.normal(size=(5000, 3)), 1)          # many points on the faces
    inf = np.inf
    for lo, hi in [([-0.2, -inf, 0.1], [0.3, 0.5, inf]), ([-inf] * 3, [inf] * 3),
                   ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]), ([-1.0, -inf, -inf], [1.0, inf, inf])]:
        lo, hi = np.array(lo), np.array(hi)
        assert np.array_equal(boxed(x, lo, hi), ((x >= lo) & (x <= hi)).all(axis=1))
    assert boxed(np.zeros((0, 3)), np.zeros(3), np.ones(3)).shape == (0,)


def test_rows_certified_inside_the_box_have_their_balls_inside():
    """The halo rounds skip the neighbour query of rows certified by the cell count;
    the certificate must hold: each such row's ball to its m-th neighbour is inside
    the box (a dense patch, a sparse one and a tight cluster, so some blocks are short)."""
    p = dense_sparse_patch(seed=4)
    nb = _local.local_knn(p, 16, 0.0)
    lo, hi = np.array([0.2, 0.1, -1.0]), np.array([0.8, 0.9, np.inf])
    rows = np.flatnonzero(_local.boxed(nb.points, lo, hi))
    m = _local.ROW_FACTOR * 16
    inside = _local.rows_inside(nb, rows, m, lo, hi)
    assert 0.2 < inside.mean() < 1.0              # some certified, some left to the query
    dist, _ = nb.tree.query(nb.points[rows[inside]], m + 1)
    assert (_local.box_excess(nb.points[rows[inside]], dist[:, -1], lo, hi) <= 0).all()


def test_to_npy_writes_part_results_through_a_staging_folder(client, tmp_path):
    """Results held by parts are written part by part (staged files beside the output,
    removed afterwards); a derived array falls back to the block-by-block writer."""
    from o3d_meshless.dask._source import ROW_PIECES

    p = random_sphere(5000, seed=8)
    surf = DaskSurface(p, n_parts=3, block_rows=1500)
    s = single(p)[0]
    nrm = surf.normals()
    assert getattr(nrm, ROW_PIECES, None) is not None
    out = to_npy(nrm, tmp_path / "n.npy")
    close(np.load(out), s.expand(s.frames)[:, 2])
    derived = 2.0 * surf.boundary().astype(np.float64)        # no row pieces: block path
    assert getattr(derived, ROW_PIECES, None) is None
    np.testing.assert_array_equal(np.load(to_npy(derived, tmp_path / "b.npy")),
                                  2.0 * s.expand(s.boundary))
    assert sorted(os.listdir(tmp_path)) == ["b.npy", "n.npy"]        # nothing left behind
    # assigned in place: the tag stays on the object but no longer describes it, so
    # the block writer runs and the assignment is written
    edited = surf.normals()
    edited[0] = np.zeros(3)
    got = np.load(to_npy(edited, tmp_path / "e.npy"))
    np.testing.assert_array_equal(got[0], np.zeros(3))
    close(got[1:], s.expand(s.frames)[1:, 2])


def test_to_npy_is_atomic_and_cleans_up_after_a_failure(client, tmp_path, monkeypatch):
    """A write that fails part-way leaves the earlier file at the path whole and no
    partial file or staging folder beside it; a write that succeeds replaces it."""
    import dask.array as da
    from o3d_meshless.dask import _source

    target = tmp_path / "out.npy"
    np.save(target, np.arange(3.0))                        # an earlier result
    bad = da.from_delayed(dask.delayed(_raise)(), shape=(4,), dtype=float)
    good = da.arange(8.0, chunks=3)
    with pytest.raises(RuntimeError, match="block failed"):
        to_npy(da.concatenate([good, bad]), target)
    assert os.listdir(tmp_path) == ["out.npy"]
    np.testing.assert_array_equal(np.load(target), np.arange(3.0))
    # the staged writer (a result held by the parts): a part that fails to stage
    surf = DaskSurface(random_sphere(3000, seed=9), n_parts=2, block_rows=1000)
    monkeypatch.setattr(_source, "_stage_part", _raise)
    with pytest.raises(RuntimeError, match="block failed"):
        to_npy(surf.normals(), target)
    assert os.listdir(tmp_path) == ["out.npy"]
    np.testing.assert_array_equal(np.load(target), np.arange(3.0))
    monkeypatch.undo()
    assert np.load(to_npy(good, target)).tolist() == list(np.arange(8.0))
    assert os.listdir(tmp_path) == ["out.npy"]


def test_to_zarr_replaces_a_store_only_when_complete(client, tmp_path):
    zarr = pytest.importorskip("zarr")
    import dask.array as da

    target = tmp_path / "out.zarr"
    to_zarr(da.ones((5, 3), chunks=(2, 3)), target)
    bad = da.from_delayed(dask.delayed(_raise)(), shape=(4, 3), dtype=float)
    with pytest.raises(RuntimeError, match="block failed"):
        to_zarr(da.concatenate([da.zeros((3, 3), chunks=(2, 3)), bad]), target)
    assert os.listdir(tmp_path) == ["out.zarr"]                  # nothing left beside it
    np.testing.assert_array_equal(zarr.open_array(str(target), mode="r")[:], np.ones((5, 3)))
    later = to_zarr(da.full((4, 3), 2.0, chunks=(3, 3)), target, compute=False)
    assert dask.compute(later)[0] == str(target)
    np.testing.assert_array_equal(zarr.open_array(str(target), mode="r")[:],
                                  np.full((4, 3), 2.0))
    assert os.listdir(tmp_path) == ["out.zarr"]


def _raise(*_):
    raise RuntimeError("block failed")


def test_bad_input():
    p = random_sphere(2000, seed=7)
    with pytest.raises(ValueError, match="`points` must have shape"):
        DaskSurface(p[:, :2])
    bad = p.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="`points` must be finite"):
        DaskSurface(bad, n_parts=2)
    with pytest.raises(ValueError, match="`orient`"):
        DaskSurface(p, orient="mst")
    with pytest.raises(ValueError, match="`n_parts`"):
        DaskSurface(p, n_parts=0)
    with pytest.raises(ValueError, match="`n_parts`"):
        DaskSurface(p, n_parts=1000)
    with pytest.raises(ValueError, match="`points` is a path"):
        DaskSurface(os.path.join("no", "such.npy"))
    with pytest.raises(ValueError, match="`operator_options`"):
        DaskSurface(p, operator_options={"form": "weak"})
    with dask.config.set(scheduler="synchronous"):
        surf = DaskSurface(p, n_parts=2)
        with pytest.raises(ValueError, match="`values` must have one row per point"):
            surf.laplacian_apply(np.zeros(10))
        with pytest.raises(ValueError, match="`tau`"):
            surf.smooth(p[:, 0], -1.0)
        with pytest.raises(ValueError, match="`values` must have shape"):
            surf.surface_gradient(p)


def weak_single(points, mass):
    return om.LaplaceBeltrami(form="weak", mass=mass, orient=None, outliers="keep",
                              denoise=False, workers=1).fit(points)


@pytest.mark.parametrize("mass", ["lumped", "averaged"])
def test_weak_form_equals_single_machine(client, mass):
    """K and the mass on parts cut through dense and sparse regions, an open boundary
    and coincident points: the single-machine matrices, entry for entry."""
    rng = np.random.default_rng(9)
    p = dense_sparse_patch(seed=2)
    q = np.concatenate([p, p[rng.choice(len(p), 300, replace=False)]])
    q = q[rng.permutation(len(q))]
    surf = DaskSurface(q, n_parts=6, block_rows=4000)
    K, B = surf.stiffness_matrices(mass)
    ref = weak_single(q, mass)
    assert ref.sampling_.diagnostics["n_coincident"] == 300
    assert ref.sampling_.boundary.any()
    assert abs(K - ref.K_).max() <= RTOL * abs(ref.K_).max()
    assert abs(B - ref.mass_).max() <= RTOL * abs(ref.mass_).max()
    assert (K != K.T).nnz == 0
    # the wider halo is what makes it exact: the strong form's halo is not enough
    layers = {"lumped": 1, "averaged": 2}[mass]
    assert surf.stats[f"halo_fraction+{layers}"] > surf.stats["halo_fraction"]
    blocks = dask.compute(*surf.stiffness_blocks(mass))
    assert np.array_equal(np.sort(np.concatenate([b[0] for b in blocks])), np.arange(len(q)))
    with pytest.raises(MemoryError, match="stiffness_blocks"):
        surf.stiffness_matrices(mass, max_bytes=1000)


def test_distributed_spectrum_on_a_mesh_with_ties(client):
    """Spot's vertices (a subdivided mesh) have equidistant neighbours, and parts may
    pick another one than the whole cloud does: the assembled rows are then not exactly
    symmetric (documented). The solve finds that, symmetrises its products and still
    converges to the single-machine eigenvalues within that difference."""
    import open3d as o3d
    from o3d_meshless.io.read import sample_path

    mesh = o3d.io.read_triangle_mesh(str(sample_path("spot")))
    p = np.unique(np.asarray(mesh.vertices, dtype=np.float64), axis=0)
    surf = DaskSurface(p, n_parts=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)       # no "stopped after max_iter"
        warnings.filterwarnings("ignore", message="spectrum: ")
        result = surf.spectrum(12, coarse_points=2000)
    info = surf.spectrum_info_
    assert max(info["asymmetry"].values()) > 1e-9         # the parts disagree here ...
    assert info["residual"] <= 1e-6                       # ... and it converges anyway
    ref = om.spectrum(p, 12, outliers="keep", denoise=False, orient=None)
    assert np.abs(result.values - ref.values).max() <= 1e-4 * ref.values[-1]
    assert result.report.n_zero == 1


def test_grown_rows():
    """One layer adds the set's neighbours and the points that count one of the set
    among theirs; two layers repeat it."""
    nbrs = np.array([[1], [2], [3], [4], [0], [0]])     # 5 looks at 0; nobody at 5
    assert _local.grown_rows(nbrs, np.array([2]), 1).tolist() == [1, 2, 3]
    assert _local.grown_rows(nbrs, np.array([2]), 2).tolist() == [0, 1, 2, 3, 4]
    assert _local.grown_rows(nbrs, np.array([0]), 1).tolist() == [0, 1, 4, 5]


def test_distributed_spectrum(client):
    p = random_sphere(8000, seed=10)
    surf = DaskSurface(p, n_parts=3, block_rows=3000)
    result = surf.spectrum(12, coarse_points=3000)
    vals, vecs = result
    ref = om.spectrum(p, 12, outliers="keep", denoise=False, orient=None)
    assert np.abs(vals[1:] - ref.values[1:]).max() <= 1e-8 * ref.values[-1]
    exact = np.repeat([2.0, 6.0, 12.0], [3, 5, 3])            # l(l + 1), l = 1, 2, 3
    assert np.abs(vals[1:] / exact - 1).max() < 5e-3
    assert abs(vals[0]) <= 1e-8 * ref.values[-1]
    B = weak_single(p, "averaged").mass_
    assert np.abs(vecs.T @ (B @ vecs) - np.eye(12)).max() < 1e-8
    # the first 9 modes (l <= 2, whole clusters) span the single-machine subspace
    s = np.linalg.svd(ref.vectors[:, :9].T @ (B @ vecs[:, :9]), compute_uv=False)
    assert s.min() > 1 - 1e-8
    assert result.report.trustworthy and result.report.n_zero == 1
    assert surf.spectrum_info_["iterations"] >= 1
    with pytest.warns(RuntimeWarning, match="max_iter"):
        surf.spectrum(12, coarse_points=3000, max_iter=1, rtol=1e-12)
    with pytest.raises(ValueError, match="`mass`"):
        surf.spectrum(4, mass="consistent")
    with pytest.raises(ValueError, match="too many"):
        surf.spectrum(2000)
    with pytest.raises(ValueError, match="`vectors`"):
        surf.spectrum(4, vectors="list")


def test_distributed_spectrum_vectors_stay_on_the_workers(client, tmp_path):
    """``vectors="dask"``: the same eigenpairs as a Dask array in input order, written
    by ``to_npy`` from the parts' rows; the report's Gram is made on the workers."""
    p = random_sphere(6000, seed=11)
    surf = DaskSurface(p, n_parts=3, block_rows=2500)
    kept = surf.spectrum(9, coarse_points=2000, vectors="dask")
    here = surf.spectrum(9, coarse_points=2000)
    assert isinstance(kept.vectors, dask.array.Array) and kept.vectors.shape == (6000, 9)
    assert np.allclose(kept.values, here.values, rtol=0, atol=1e-12 * here.values[-1])
    B = weak_single(p, "averaged").mass_
    V = np.load(to_npy(kept.vectors, tmp_path / "modes.npy"))
    assert np.abs(V.T @ (B @ V) - np.eye(9)).max() < 1e-8
    # modes 1-3 and 4-8 are whole clusters (l = 1, 2): the same subspaces
    for lo, hi in ((1, 4), (4, 9)):
        s = np.linalg.svd(here.vectors[:, lo:hi].T @ (B @ V[:, lo:hi]), compute_uv=False)
        assert s.min() > 1 - 1e-8
    assert kept.report.orthogonality_defect < 1e-8
    assert kept.report.orthogonality_defect == pytest.approx(
        np.abs(V.T @ (B @ V) - np.eye(9)).max(), abs=1e-12)


@pytest.mark.slow
def test_equals_single_machine_2e5(client):
    p = random_sphere(200_000, seed=8)
    f = p[:, 0] * p[:, 1]
    surf = DaskSurface(p, n_parts=8, block_rows=50_000)
    F, Lf, g = dask.compute(surf.frames(), surf.laplacian_apply(f), surf.surface_gradient(f))
    s, L, G = single(p)
    close(F, s.expand(s.frames))
    close(Lf, L.L_ @ f)
    close(g, G.apply(f))
