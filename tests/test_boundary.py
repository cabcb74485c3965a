"""Open boundaries: detection, conormals, Neumann rows, nonnegative rows, Neumann spectra."""
import numpy as np
import pytest

import o3d_meshless as om
from o3d_meshless.sampling.boundary import detect_boundary
from o3d_meshless.sampling.neighbors import knn
from o3d_meshless.stencils.neumann import neumann_laplacian_weights
from o3d_meshless.testing import disc_neumann_eigenvalues, random_disc, random_hemisphere
from o3d_meshless.stencils.positive import (LINEAR_RTOL, QUADRATIC_RTOL,
                                            positive_laplacian_weights)


def test_boundary_of_an_iid_disc():
    p = random_disc(10000)
    nb = knn(p, 16)
    frames = np.tile(np.eye(3), (len(p), 1, 1))
    mask, conormals = detect_boundary(nb, frames)
    h = np.sqrt(np.pi / len(p))
    depth = 1 - np.linalg.norm(p, axis=1)
    assert not (mask & (depth > 2 * h)).any()                 # no interior point
    rim = depth < 0.3 * h
    assert (mask & rim).sum() >= 0.9 * rim.sum()               # the rim is found
    radial = p[mask, :2] / np.linalg.norm(p[mask, :2], axis=1, keepdims=True)
    err = np.degrees(np.arccos(np.clip((conormals[mask] * radial).sum(1), -1, 1)))
    assert err.mean() < 5 and np.quantile(err, 0.9) < 10     # outward, across the rim


@pytest.mark.parametrize("n, seed", [(4000, 3), (16000, 0)])
def test_closed_surface_has_no_boundary(n, seed):
    from o3d_meshless.testing import random_sphere
    op = om.LaplaceBeltrami().fit(random_sphere(n, seed=seed))
    assert op.diagnostics_["boundary_rows"] == 0             # (a lone gap at 16 000 is not)
    assert op.diagnostics_["positive_rows"] == 0


def _one_sided_neighbourhood(rng, k=16):
    """Points in a half disc x <= 0 around the origin, rotated by a random angle."""
    xy = rng.uniform(-1, 1, size=(4 * k, 2))
    xy = xy[(xy[:, 0] <= 0) & (np.hypot(*xy.T) < 1)][:k]
    a = rng.uniform(0, 2 * np.pi)
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    conormal = R @ [1.0, 0.0]                                   # outward: +x rotated
    pts = np.vstack([[0.0, 0.0], xy @ R.T])
    return np.c_[pts, np.zeros(len(pts))], conormal, R


@pytest.mark.parametrize("seed", range(5))
def test_neumann_row_is_exact_on_quadratics_with_zero_conormal_derivative(seed):
    rng = np.random.default_rng(seed)
    pts, conormal, R = _one_sided_neighbourhood(rng)
    bases = np.tile(np.eye(3)[:2], (len(pts), 1, 1))
    nbrs = np.arange(1, len(pts))[None]
    w, rcond = neumann_laplacian_weights(pts, np.array([0]), nbrs, bases, conormal[None])
    assert rcond[0] > 1e-3
    a, b = (pts[:, :2] @ R).T                     # coordinates along (conormal, tangent)
    c = rng.normal(size=4)
    f = c[0] * b + c[1] * a ** 2 + c[2] * a * b + c[3] * b ** 2    # ∂f/∂a = 0 at 0
    np.testing.assert_allclose(w[0] @ (f[1:] - f[0]), 2 * (c[1] + c[3]), rtol=1e-10)
    # a slope across the boundary is what the row leaves out
    assert abs(w[0] @ (a[1:] - a[0])) > 1.0


@pytest.mark.parametrize("seed", range(5))
def test_positive_rows_are_nonnegative_and_consistent(seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-1, 1, size=(17, 2))
    xy[0] = 0.0
    pts = np.c_[xy, np.zeros(17)]
    bases = np.tile(np.eye(3)[:2], (17, 1, 1))
    w, res = positive_laplacian_weights(pts, np.array([0]), np.arange(1, 17)[None], bases)
    assert (w >= 0).all() and res[0, 0] < 1e-3 and res[0, 1] < 1e-3
    f = 1 + 2 * xy[:, 0] - xy[:, 1] + xy[:, 0] ** 2 + 2 * xy[:, 1] ** 2 + xy[:, 0] * xy[:, 1]
    assert abs(w[0] @ (f[1:] - f[0]) - 6.0) < 0.01            # Δf = 2 + 4
    # one-sided without a conormal: safe but not consistent, and reported as such
    pts, conormal, R = _one_sided_neighbourhood(rng)
    bases = np.tile(np.eye(3)[:2], (len(pts), 1, 1))
    nbrs = np.arange(1, len(pts))[None]
    w, res = positive_laplacian_weights(pts, np.array([0]), nbrs, bases)
    assert (w >= 0).all() and (res[0, 0] > LINEAR_RTOL or res[0, 1] > QUADRATIC_RTOL)
    # with the conormal (Neumann variant) it is consistent again
    w, res = positive_laplacian_weights(pts, np.array([0]), nbrs, bases,
                                        conormals=conormal[None])
    assert (w >= 0).all() and res[0, 0] < LINEAR_RTOL and res[0, 1] < 0.05
    a, b = (pts[:, :2] @ R).T
    assert abs(w[0] @ (b[1:] ** 2) - 2.0) < 0.05


def test_no_row_keeps_a_nonpositive_diagonal_on_an_open_surface():
    p = random_disc(3000, seed=4)
    op = om.LaplaceBeltrami().fit(p)
    L = op.L_
    assert (L.diagonal() > 0).all()
    np.testing.assert_allclose(L @ np.ones(len(p)), 0.0, atol=1e-9 * abs(L).max())
    pos = op.diagnostics_["positive_mask"]
    rows = L[np.flatnonzero(pos)].toarray()
    off = rows.copy()
    off[np.arange(len(rows)), np.flatnonzero(pos)] = 0.0
    assert (off <= 0).all()                                     # M-matrix rows


def test_disc_neumann_spectrum():
    """Issue target: 10 000 i.i.d. points on the unit disc, first 10 nonzero Neumann
    eigenvalues within 2 %."""
    op = om.LaplaceBeltrami().fit(random_disc(10000))
    vals, _ = op.spectrum(11)
    ref = disc_neumann_eigenvalues(10)
    assert abs(vals[0]) < 1e-8
    err = vals[1:] / ref - 1
    assert np.abs(err).max() < 0.02, err
    assert op.spectrum_report_.n_negative == 0


def test_hemisphere_neumann_spectrum():
    """l(l+1) with multiplicity l+1 (the harmonics even in z): within 2 % at 10 000 points."""
    op = om.LaplaceBeltrami().fit(random_hemisphere(10000))
    vals, _ = op.spectrum(11)
    ref = np.array([2, 2, 6, 6, 6, 12, 12, 12, 12, 20.0])
    err = vals[1:] / ref - 1
    assert np.abs(err).max() < 0.02, err
    assert op.spectrum_report_.n_negative == 0


def test_gradient_guard_bounds_noise_amplification():
    """Order-3 gradient rows that would amplify noise (clustered, one-sided) are
    recomputed on larger neighbourhoods (then at lower order): on a noisy i.i.d. sphere
    the worst error drops, and no row keeps an amplification above the limit."""
    from o3d_meshless.operators.guard import MAX_AMPLIFICATION, noise_amplification
    rng = np.random.default_rng(5)
    p = rng.normal(size=(8000, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    q = p + 0.05 * np.sqrt(4 * np.pi / len(p)) * rng.normal(size=p.shape)
    exact = np.array([0, 0, 1.0]) - p[:, 2:3] * p
    err = {}
    for guard in (True, False):
        op = om.SurfaceGradient(order=3, guard=guard).fit(q)
        err[guard] = np.linalg.norm(op.apply(q[:, 2]) - exact, axis=1)
    assert op.diagnostics_["guard_rows"] == 0
    guarded = om.SurfaceGradient(order=3).fit(q)
    assert guarded.diagnostics_["guard_rows"] > 0
    assert err[True].max() < 0.9 * err[False].max()
    assert np.sqrt((err[True] ** 2).mean()) < 0.06
    # a symmetric order-1 stencil has an amplification near 1
    xy = np.c_[np.cos(np.arange(8) * np.pi / 4), np.sin(np.arange(8) * np.pi / 4), np.zeros(8)]
    pts = np.vstack([[0, 0, 0.0], xy])
    w = np.stack([xy[:, 0], xy[:, 1]], axis=1)[None] / 4.0     # least-squares gradient
    amp = noise_amplification(pts, np.arange(1, 9)[None], np.array([0]), w, [(1, 0), (0, 1)])
    assert 1.0 < amp[0] < 1.5 < MAX_AMPLIFICATION          # Σ|cos(jπ/4)| / 4 = 1.21


def test_mesh_boundary_and_normals_are_used_for_meshes():
    """A mesh's boundary comes from its edges (no gap test) and its vertex normals are
    used by default; an open square mesh gets Neumann rows exactly on its rim."""
    import trimesh
    n = 40
    g = np.stack(np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n)), -1).reshape(-1, 2)
    faces = []
    for i in range(n - 1):
        for j in range(n - 1):
            a = i * n + j
            faces += [[a, a + 1, a + n + 1], [a, a + n + 1, a + n]]
    mesh = trimesh.Trimesh(np.c_[g, np.zeros(len(g))], faces, process=False)
    from o3d_meshless.sampling.adapters import mesh_boundary
    rim = mesh_boundary(mesh)
    assert rim.sum() == 4 * (n - 1)
    op = om.LaplaceBeltrami().fit(mesh)
    np.testing.assert_array_equal(op.diagnostics_["boundary_mask"], rim)
    np.testing.assert_allclose(np.abs(op.normals_[:, 2]), 1.0)


def test_far_side_neighbours_of_a_thin_part_are_dropped():
    """A flat ellipsoid about one spacing thick: the plain k nearest of the top reach the
    bottom; with the mesh no stencil of the top couples to the bottom, and as a vertex
    cloud with the same normals given (no mesh edges) the sheet split keeps them apart
    too (cloud_sheets; before it, over 100 couplings)."""
    import trimesh
    from o3d_meshless.sampling.adapters import mesh_normals
    ico = trimesh.creation.icosphere(subdivisions=5)
    disc = trimesh.Trimesh(ico.vertices * [1.0, 1.0, 0.03], ico.faces, process=False)
    inner = np.hypot(disc.vertices[:, 0], disc.vertices[:, 1]) < 0.9   # away from the rim
    top, bottom = inner & (disc.vertices[:, 2] > 0), inner & (disc.vertices[:, 2] < 0)

    def couplings(op):
        L = op.L_.tocoo()
        return int(((top[L.row] & bottom[L.col]) & (L.data != 0)).sum())

    plain = knn(np.asarray(disc.vertices), 16).indices
    assert int((top[:, None] & bottom[plain]).sum()) > 100
    assert couplings(om.LaplaceBeltrami().fit(disc)) == 0
    assert couplings(om.LaplaceBeltrami(normals=mesh_normals(disc)).fit(disc.vertices)) == 0


def test_wrapped_neighbourhoods_get_normals_from_fewer_neighbours():
    """A thin tube one spacing in radius: 16 neighbours wrap around it and 16 % of the
    PCA + height-fit normals are more than 45° off; from the 8 nearest, 2 %."""
    from o3d_meshless.sampling.frames import estimated_frames, is_planar, pca_frames
    rng = np.random.default_rng(2)
    t = rng.uniform(0, 2 * np.pi, 500)
    p = np.c_[0.05 * np.cos(t), 0.05 * np.sin(t), rng.uniform(0, 4, 500)]   # r/h = 1
    radial = np.c_[np.cos(t), np.sin(t), 0 * t]
    nb = knn(p, 16)
    plain, _, _, flatness = pca_frames(nb.points, nb.indices, return_flatness=True)
    wrapped = ~is_planar(nb.points, np.arange(len(p)), nb.indices)
    np.testing.assert_array_equal(wrapped, flatness > 0.2)       # kernel = NumPy check
    assert wrapped.mean() > 0.5
    before = np.abs((plain[:, 2] * radial).sum(1))
    frames, status, refined = estimated_frames(nb.points, nb.indices)
    after = np.abs((frames[:, 2] * radial).sum(1))
    assert (before < np.cos(np.pi / 4)).mean() > 0.1
    assert (after < np.cos(np.pi / 4)).mean() < 0.04
    np.testing.assert_array_equal(after[~refined], before[~refined])


def test_largest_gap_kernel_against_numpy():
    from o3d_meshless.sampling.boundary import largest_gap
    rng = np.random.default_rng(4)
    p = rng.normal(size=(300, 3))
    nb = knn(p, 10)
    frames = np.ascontiguousarray(np.linalg.qr(rng.normal(size=(300, 3, 3)))[0].transpose(0, 2, 1))
    gap, bis = largest_gap(nb.points, np.arange(300), nb.indices, frames)
    off = p[nb.indices] - p[:, None]
    ang = np.sort(np.arctan2(np.einsum("nkc,nc->nk", off, frames[:, 1]),
                             np.einsum("nkc,nc->nk", off, frames[:, 0])), axis=1)
    gaps = np.diff(ang, axis=1, append=ang[:, :1] + 2 * np.pi)
    np.testing.assert_allclose(gap, gaps.max(1), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(bis, axis=1), 1.0)
    with pytest.raises(ValueError, match="neighbors"):
        largest_gap(nb.points, np.arange(300), nb.indices + 300, frames)
    with pytest.raises(ValueError, match="bases"):
        largest_gap(nb.points, np.arange(300), nb.indices, frames[:10])


def test_normals_argument_and_mesh_inputs_reject_bad_values():
    p = np.random.default_rng(9).normal(size=(500, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    with pytest.raises(ValueError, match="`normals`"):
        om.LaplaceBeltrami(normals=np.ones((499, 3))).fit(p)
    with pytest.raises(ValueError, match="`normals`"):
        om.LaplaceBeltrami(normals=np.ones((500, 2))).fit(p)
    zero = p.copy()
    zero[7] = 0.0
    with pytest.raises(ValueError, match="non-zero"):
        om.SurfaceGradient(normals=zero).fit(p)
    bad = p.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="`normals`"):
        om.LaplaceBeltrami(normals=bad).fit(p)
    with pytest.raises(ValueError, match="`normals`"):
        om.LaplaceBeltrami(normals="mesh").fit(p)
    # given normals (any sign) are used as they are: the sphere's exact ones
    signs = np.where(np.random.default_rng(1).uniform(size=500) < 0.5, -1.0, 1.0)
    op = om.LaplaceBeltrami(normals=p * signs[:, None]).fit(p)
    np.testing.assert_allclose(np.abs((op.normals_ * p).sum(1)), 1.0, atol=1e-12)


def test_mesh_helpers_reject_faces_out_of_range():
    import trimesh
    from o3d_meshless.sampling.adapters import mesh_boundary, mesh_normals
    m = trimesh.creation.icosphere(subdivisions=1)
    broken = trimesh.Trimesh(m.vertices[:30], m.faces, process=False, validate=False)
    for helper in (mesh_normals, mesh_boundary):
        with pytest.raises(ValueError, match="faces"):
            helper(broken)
    assert mesh_normals(np.zeros((4, 3))) is None and mesh_boundary(np.zeros((4, 3))) is None
    # a vertex in no face gets NaN (estimated later), not a zero normal
    loose = trimesh.Trimesh(np.vstack([m.vertices, [[5.0, 5, 5]]]), m.faces, process=False)
    n = mesh_normals(loose)
    assert np.isnan(n[-1]).all() and np.isfinite(n[:-1]).all()


def test_a_density_jump_is_not_a_boundary():
    """The closed ellipsoid thinned to one point in ten for x > 0: the sparse points next
    to the dense side see only dense points among their 2k nearest (34 were taken for
    boundary points, and modes 1-30 were 0.88 % off instead of 0.31 %); the look among
    the 6k nearest finds the sparse side."""
    from o3d_meshless.testing import random_ellipsoid
    p = random_ellipsoid(20000, seed=0)
    keep = (p[:, 0] <= 0) | (np.random.default_rng(0).random(len(p)) < 0.1)
    s = om.prepare(p[keep], progress=False)
    assert s.diagnostics["boundary_rows"] == 0
