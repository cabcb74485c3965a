"""The symmetric weak form (``form="weak"``): structure, accuracy, real inputs.

Structure (symmetry, sign pattern, K·1 = 0, PSD, one zero per piece) holds by
construction and is checked exactly; accuracy against analytic spectra (sphere
``l(l+1)``, the ellipsoid reference, Neumann disc/hemisphere) and convergence order are
measured; real scans must give no negative eigenvalue and M-orthonormal modes.
"""
from pathlib import Path

import numpy as np
import pytest
from scipy import linalg

import o3d_meshless as om
from o3d_meshless.operators import assembly
from o3d_meshless.testing import (disc_neumann_eigenvalues, fibonacci_sphere,
                                  hemisphere_neumann_eigenvalues, observed_order, random_disc,
                                  random_ellipsoid, random_hemisphere, random_sphere,
                                  random_torus, sphere_eigenvalue_errors, torus_eigenvalues)


DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _structure(K, M, excluded=None):
    if excluded is not None and excluded.any():
        # outliers excluded: empty rows and columns, no mass; the rest as everywhere
        for A in (K, M):
            assert abs(A.tocsr()[excluded]).sum() == 0 and abs(A.tocsc()[:, excluded]).sum() == 0
        keep = np.flatnonzero(~excluded)
        K, M = K.tocsr()[keep][:, keep], M.tocsr()[keep][:, keep]
    K = K.tocsr()
    scale = abs(K).max()
    assert abs(K - K.T).max() <= 1e-12 * scale
    off = K.copy()
    off.setdiag(0)
    assert off.max() <= 0                                # nonpositive couplings
    assert np.abs(K @ np.ones(K.shape[0])).max() <= 1e-12 * scale
    # the mass: symmetric, rows summing to positive areas, strictly diagonally dominant
    # (positive definite); diagonal when it is lumped
    assert abs(M - M.T).max() == 0
    m = np.asarray(M.sum(axis=1)).ravel()
    off = np.asarray(abs(M).sum(axis=1)).ravel() - M.diagonal()
    assert (m > 0).all() and (M.diagonal() > off).all()


def test_structure_and_null_space():
    """Symmetric to round-off, PSD (smallest eigenvalue ≥ −1e-10 λ_max), one zero per
    connected piece: two separate spheres give exactly two."""
    p = random_sphere(700, seed=3)
    two = np.vstack([p, p * 0.5 + [5.0, 0, 0]])
    for pts, pieces in ((p, 1), (two, 2)):
        K, M = om.laplace_beltrami(pts, form="weak")
        _structure(K, M)
        vals = linalg.eigh(K.toarray(), M.toarray(), eigvals_only=True)
        assert vals[0] >= -1e-10 * vals[-1]
        assert np.count_nonzero(vals < 1e-9 * vals[-1]) == pieces


def test_sphere_targets_and_convergence():
    """Unit sphere, 16 000 points: i.i.d. E2(1) ≤ 2e-3, E2(6) ≤ 1e-2; Fibonacci
    E2(1) ≤ 1e-3, E2(6) ≤ 1e-2 (robust-laplacian: ~6e-2 on i.i.d.). The lumped mass's
    second-order error shows as an observed order ≥ 1.5 between 4 000 and 16 000 i.i.d.
    points; the default (averaged mass) removes that term: at 16 000
    points E2(2..6) are 3-6× smaller (measured 1.6e-4 … 6.7e-4 against 4.6e-4 … 4.1e-3)
    and E2(1) is the sampling's noise floor, as for lumped. M-orthonormal eigenvectors."""
    errors = {}
    for n in (4000, 16000):
        result = om.spectrum(random_sphere(n), 49, mass="lumped")
        errors[n] = sphere_eigenvalue_errors(result.values)
        assert result.report.n_negative == 0 and result.report.symmetric
        assert result.report.orthogonality_defect <= 1e-8
    assert errors[16000][0] <= 2e-3 and errors[16000][5] <= 1e-2, errors[16000]
    order = observed_order(errors[4000], errors[16000], 4000, 16000)
    assert (order[1:] >= 1.5).all(), order
    default = om.spectrum(random_sphere(16000), 49)
    assert default.report.n_negative == 0 and default.report.orthogonality_defect <= 1e-8
    averaged = sphere_eigenvalue_errors(default.values)
    assert averaged[0] <= 2e-3 and (averaged[1:] < errors[16000][1:] / 2.5).all(), \
        (averaged, errors[16000])
    fib = sphere_eigenvalue_errors(om.spectrum(fibonacci_sphere(16000), 49).values)
    assert fib[0] <= 1e-3 and fib[5] <= 1e-3, fib


def test_ellipsoid_reference():
    """20 000 i.i.d. area-uniform points on the (1, 0.6, 0.3) ellipsoid: modes 1–30
    within 0.5 % on average of the converged reference (issue target 1 %)."""
    path = DATA / "ellipsoid_lb_eigenvalues.txt"
    if not path.is_file():
        pytest.skip("needs ../shared/data/ellipsoid_lb_eigenvalues.txt")
    ref = np.loadtxt(path)[:31]
    vals = om.spectrum(random_ellipsoid(20000), 31).values
    rel = np.abs(vals[1:] / ref[1:] - 1)
    assert rel.mean() <= 5e-3 and rel.max() <= 2e-2, rel


@pytest.mark.parametrize("shape", ["disc", "hemisphere"])
def test_open_surfaces_neumann(shape):
    """Open boundaries get the natural (Neumann) condition: 10 000 i.i.d. points, first
    10 nonzero eigenvalues within 2.5 % (disc: Bessel j'_{m,n}²; hemisphere: l(l+1),
    harmonics even in z)."""
    if shape == "disc":
        p, ref = random_disc(10000), disc_neumann_eigenvalues(10)
    else:
        p, ref = random_hemisphere(10000), np.array([2, 2, 6, 6, 6, 12, 12, 12, 12, 20.0])
    vals = om.spectrum(p, 11).values
    assert abs(vals[0]) < 1e-8
    assert np.abs(vals[1:] / ref - 1).max() < 0.025


@pytest.mark.parametrize("shape", ["disc", "hemisphere"])
def test_sampled_rim_neumann_is_second_order(shape):
    """With points on the rim (as a mesh's boundary vertices or a scan's outermost points
    lie), the Neumann spectrum has no first-order boundary error: 10 000 points, modes
    1-20, the default (averaged) mass within 0.05 % on average (measured 0.021 / 0.020 %),
    at least 4× better than the lumped one (0.141 / 0.126 %); at 5000 points about twice
    the error (measured 0.044 / 0.051 %)."""
    sample, exact = ((random_disc, disc_neumann_eigenvalues) if shape == "disc" else
                     (random_hemisphere, hemisphere_neumann_eigenvalues))
    ref = exact(20)
    error = {}
    for n, mass in ((10000, None), (10000, "lumped"), (5000, None)):
        vals = om.spectrum(sample(n, rim=True), 21, mass=mass).values
        assert abs(vals[0]) < 1e-8
        error[n, mass] = np.abs(vals[1:] / ref - 1).mean()
    assert error[10000, None] < 5e-4 and error[10000, None] < error[10000, "lumped"] / 4
    assert error[5000, None] > 1.5 * error[10000, None], error
    assert len(sample(1000, seed=None, rim=True)) > 1000     # any seed NumPy takes


def test_coincident_copies_keep_the_spectrum():
    """Every point twice: the copies are tied, the low spectrum is the single cloud's,
    with the lumped and with the averaged mass."""
    p = random_sphere(1500, seed=4)
    for mass in ("lumped", "averaged"):
        single = om.spectrum(p, 9, mass=mass).values
        op = om.LaplaceBeltrami(form="weak", mass=mass).fit(np.vstack([p, p]))
        _structure(op.K_, op.M_)
        doubled = linalg.eigh(op.K_.toarray(), op.mass_.toarray(), eigvals_only=True)[:9]
        assert np.allclose(doubled, single, atol=1e-8, rtol=1e-8), mass
        assert abs(op.M_.sum() - 4 * np.pi) < 0.05 * 4 * np.pi
        assert abs(op.mass_.sum() - op.M_.sum()) < 1e-12 * op.M_.sum()


def test_options_that_belong_to_the_strong_form_are_refused():
    p = random_sphere(300)
    with pytest.raises(ValueError, match="`order`.*form='strong'"):
        om.LaplaceBeltrami(form="weak", order=3).fit(p)
    with pytest.raises(ValueError, match="`method`"):
        om.laplace_beltrami(p, form="weak", method="clsgsp")
    with pytest.raises(ValueError, match="`form`"):
        om.LaplaceBeltrami(form="mixed").fit(p)
    # a stencil option without `form` selects the strong form in spectrum()
    assert om.spectrum(p, 4, order=3).report.symmetric is False
    assert om.spectrum(p, 4).report.symmetric is True


@pytest.mark.parametrize("mass", ["lumped", "averaged"])
@pytest.mark.parametrize("name", ["bun000.ply", "bun_zipper.ply", "cow.obj"])
def test_real_inputs_have_no_negative_eigenvalue(name, mass):
    """Real inputs (the raw open range scan, the bunny with holes, the cow with its
    pinch vertex), with either mass: 50 modes, none negative, orthonormal to 1e-8 in the
    pencil's mass."""
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"needs ../shared/data/{name}")
    from o3d_meshless.io.read import read_geometry

    geometry = read_geometry(path)
    op = om.LaplaceBeltrami(form="weak", mass=mass).fit(geometry)
    _structure(op.K_, op.M_, op.diagnostics_["outlier_mask"])
    result = op.spectrum(50)
    assert result.report.n_negative == 0
    assert result.report.orthogonality_defect <= 1e-8
    assert result.values[0] >= -1e-10 * result.values[-1]


def test_voronoi_cells_refuse_bad_conormals():
    """The boundary cut's conormals are checked before the compiled kernel sees them."""
    from o3d_meshless.operators.assembly import voronoi_cells

    s = om.prepare(random_sphere(300))
    nb, frames = s.neighborhoods, s.frames
    for bad in (np.zeros((299, 2)), np.zeros((300, 3)), np.full((300, 2), np.nan)):
        with pytest.raises(ValueError, match="`conormals`"):
            voronoi_cells(nb, frames, conormals=bad)
    # zero conormals cut nothing: the same cells as without
    a0, _, d0 = voronoi_cells(nb, frames)
    a1, _, d1 = voronoi_cells(nb, frames, conormals=np.zeros((300, 2)))
    assert np.array_equal(a0, a1) and abs(d0 - d1).max() == 0


# ---------------------------------------------------------------------------
# mass="averaged": arc-length cells and the mean of lumped and consistent mass
# ---------------------------------------------------------------------------


def _mean_error(values, ref):
    return float(np.abs(values[1:len(ref) + 1] / ref - 1).mean())


@pytest.mark.parametrize("shape", ["sphere", "torus", "ellipsoid"])
def test_averaged_mass_is_more_accurate_on_smooth_closed_surfaces(shape):
    """Modes 1–30, i.i.d. points: the averaged mass is at least 2.5× more accurate than
    the lumped default (measured at 8 000 points: sphere 0.30 → 0.05 %, torus r = 0.2
    0.22 → 0.077 %; ellipsoid at 20 000 points 0.10 → 0.013 %, issue target ≤ 0.07 %)."""
    if shape == "sphere":
        p = random_sphere(8000)
        ref = np.array([l * (l + 1) for l in range(1, 6) for _ in range(2 * l + 1)][:30], float)
    elif shape == "torus":
        p, ref = random_torus(8000, r=0.2), torus_eigenvalues(31, r=0.2)[1:]
    else:
        path = DATA / "ellipsoid_lb_eigenvalues.txt"
        if not path.is_file():
            pytest.skip("needs ../shared/data/ellipsoid_lb_eigenvalues.txt")
        p, ref = random_ellipsoid(20000), np.loadtxt(path)[1:31]
    errors = {}
    for mass in ("lumped", "averaged"):
        op = om.LaplaceBeltrami(form="weak", mass=mass).fit(p)
        result = op.spectrum(len(ref) + 1)
        assert result.report.n_negative == 0
        assert result.report.orthogonality_defect <= 1e-8
        errors[mass] = _mean_error(result.values, ref)
    assert errors["averaged"] <= errors["lumped"] / 2.5, errors
    if shape == "ellipsoid":
        assert errors["averaged"] <= 7e-4, errors


def test_averaged_mass_structure_and_cap():
    """``B`` is symmetric, keeps the areas (row sums), and is strictly diagonally
    dominant with a positive diagonal, hence positive definite; cells made artificially
    small get their correction capped and keep that property."""
    from o3d_meshless.operators.weak import averaged_mass

    op = om.LaplaceBeltrami(form="weak", mass="averaged").fit(random_sphere(3000, seed=2))
    K, areas, points = op.K_, op.M_.diagonal(), op.points_
    for scale in (1.0, None):
        a = areas.copy()
        if scale is None:                       # every third cell 20× too small
            a[::3] /= 20
        B, capped = averaged_mass(K, points, a)
        assert (capped > 0) == (scale is None)
        assert abs(B - B.T).max() <= 1e-15 * a.max()
        assert np.allclose(np.asarray(B.sum(axis=1)).ravel(), a, rtol=1e-12, atol=0)
        off = abs(B).sum(axis=1).A1 - abs(B.diagonal())
        assert (B.diagonal() > 0).all() and (B.diagonal() - off >= 0.09 * a).all()
        assert linalg.eigvalsh(B.toarray())[0] > 0
    with pytest.raises(ValueError, match="same n"):
        averaged_mass(K, points[:-1], areas)
    with pytest.raises(ValueError, match="`areas`.*finite"):
        averaged_mass(K, points, np.where(np.arange(len(areas)) == 3, np.nan, areas))


def test_arc_length_cells_measure_the_sphere():
    """Arc-length placement: exact great-circle distances on the sphere, and cell areas
    that add up to 4π more closely than chord-length ones on a thin torus (where the
    chord's shortening shows)."""
    from o3d_meshless.operators.assembly import chart_distance

    p = random_sphere(500, seed=1)
    frames = om.LaplaceBeltrami(form="weak", normals=p).fit(p).frames_
    rows, cols = np.arange(499), np.arange(1, 500)
    great_circle = np.arccos(np.clip(np.einsum("ij,ij->i", p[rows], p[cols]), -1, 1))
    near = great_circle < 1.0
    arc = chart_distance(p, frames, rows, cols, arc=True)
    assert np.allclose(arc[near], great_circle[near], rtol=1e-9)
    chord = chart_distance(p, frames, rows, cols)
    assert (chord[near] < great_circle[near]).all()

    torus = random_torus(20000, r=0.1)
    area = 4 * np.pi ** 2 * 0.1
    deficit = {m: abs(om.LaplaceBeltrami(form="weak", mass=m).fit(torus).M_.sum() / area - 1)
               for m in ("lumped", "averaged")}
    assert deficit["averaged"] < deficit["lumped"] / 5, deficit


def test_mass_option_is_checked():
    p = random_sphere(300)
    with pytest.raises(ValueError, match="`mass`.*form='weak'"):
        om.LaplaceBeltrami(mass="averaged").fit(p)
    with pytest.raises(ValueError, match="`mass`"):
        om.LaplaceBeltrami(form="weak", mass="consistent").fit(p)
    op = om.LaplaceBeltrami(form="weak", mass="lumped").fit(p)
    assert op.mass_ is op.M_ and op.diagnostics_["mass_capped_rows"] == 0
    assert op.mass_kind_ == "lumped"
    # None: averaged, on closed and open surfaces
    assert om.LaplaceBeltrami(form="weak").fit(p).mass_kind_ == "averaged"
    open_op = om.LaplaceBeltrami(form="weak").fit(random_hemisphere(500))
    assert open_op.mass_kind_ == "averaged" and open_op.sampling_.boundary.any()
    # a refit in the strong form drops the weak form's matrices (nothing stale is used)
    open_op.set_params(form="strong").fit(p)
    assert not any(hasattr(open_op, a) for a in ("K_", "mass_", "mass_kind_"))
    K, B = om.laplace_beltrami(p, form="weak", mass="averaged")   # the pencil, as asked
    assert B.count_nonzero() == K.count_nonzero()
    assert np.allclose(linalg.eigh(K.toarray(), B.toarray(), eigvals_only=True)[:4],
                       om.spectrum(p, 4, mass="averaged").values, atol=1e-9)


def test_torus_reference_spectrum():
    """The separated 1-D solve: converged in ``n_theta``, and a thin torus far from its
    axis is nearly flat (``m²/R² + j²/r²`` within 2 %)."""
    a, b = torus_eigenvalues(20, n_theta=1000), torus_eigenvalues(20, n_theta=4000)
    assert abs(a[0]) < 1e-9 and np.abs(a[1:] / b[1:] - 1).max() < 1e-5
    R, r = 20.0, 1.0
    flat = np.sort([(m / R) ** 2 + (j / r) ** 2 for m in range(-12, 13) for j in range(-3, 4)])
    assert np.abs(torus_eigenvalues(20, R=R, r=r)[1:] / flat[1:20] - 1).max() < 0.02


def test_steep_cells_stay_at_chord_length():
    """60 points on the unit sphere: every cell's neighbours rise ~0.23 rad, above
    ARC_MAX_ELEVATION, so mass='averaged' measures every cell at chord length and K and
    the areas equal the chord-length ones exactly; with 2000 points no cell is steep and
    the arc-length cells are larger (the chord is short on a curved surface)."""
    from o3d_meshless.sampling.sampled_surface import prepare
    from o3d_meshless.operators.weak import ARC_MAX_ELEVATION, steep_cells, voronoi_stiffness

    for n, k, all_steep in ((60, 8, True), (2000, 16, False)):
        s = prepare(fibonacci_sphere(n), k=k)
        nb, frames = s.neighborhoods, s.frames
        K0, a0, _, chord0 = voronoi_stiffness(nb, frames)
        K1, a1, _, chord1 = voronoi_stiffness(nb, frames, arc=True)
        assert not chord0.any()
        if all_steep:
            assert chord1.all()
            assert abs(K1 - K0).max() == 0 and np.array_equal(a1, a0)
        else:
            assert not chord1.any() and (a1 > a0).all()
            # the elevation test itself: the cell neighbours of 2000 points rise ~0.04 rad
            _, _, dual = assembly.voronoi_cells(nb, frames)
            assert not steep_cells(nb.points, frames, dual).any()
            tilted = frames.copy()
            tilted[:, 2] = frames[:, 0]          # "normal" in the tangent plane: steep
            assert steep_cells(nb.points, tilted, dual).all()
    assert 0 < ARC_MAX_ELEVATION < np.pi / 2


def test_default_mass_on_the_shipped_spot():
    """Spot (2930 vertices, closed): the default weak form takes the averaged mass, keeps
    the under-resolved cells (ears, horns, udder) at chord length, and its spectrum is
    clean: no negative eigenvalue, mass-orthonormal modes."""
    op = om.LaplaceBeltrami(form="weak").fit(om.read_geometry(om.sample_path("spot")))
    assert op.mass_kind_ == "averaged"
    assert 0 < op.diagnostics_["chord_cells"] < 0.2 * len(op.points_)
    result = op.spectrum(20)
    assert result.report.n_negative == 0 and result.report.orthogonality_defect < 1e-10
    assert abs(result.values[0]) < 1e-8 * result.values[1]


def test_cells_of_a_subset_and_elevations_on_the_sphere():
    """voronoi_cells(rows=) gives exactly the full pass's cells for those rows (and no
    other row), refuses rows that are not increasing indices; chord_elevation on the
    unit sphere is |x_j − x_i| and arcsin(chord / 2) with the exact normals."""
    from o3d_meshless.operators import assembly
    from o3d_meshless.sampling.sampled_surface import prepare

    s = prepare(random_hemisphere(2000), k=16)
    nb, frames = s.neighborhoods, s.frames
    full_areas, full_open, full_dual = assembly.voronoi_cells(nb, frames,
                                                              conormals=s.conormals)
    rows = np.flatnonzero(s.boundary | (np.arange(len(nb.points)) % 7 == 0))
    areas, is_open, dual = assembly.voronoi_cells(nb, frames, conormals=s.conormals,
                                                  rows=rows)
    assert np.array_equal(areas, full_areas[rows]) and np.array_equal(is_open, full_open[rows])
    assert abs(dual[rows] - full_dual[rows]).max() == 0
    assert dual.nnz == full_dual[rows].nnz
    for bad in ([3, 1], [-1, 2], [0, len(nb.points)], [[0, 1]]):
        with pytest.raises(ValueError, match="`rows`"):
            assembly.voronoi_cells(nb, frames, rows=np.array(bad))

    p = random_sphere(500)
    exact = np.zeros((len(p), 3, 3))
    exact[:, 2] = p                                      # only the normal row is used
    i, j = np.arange(500), (np.arange(500) + 1) % 500
    chord, elevation = assembly.chord_elevation(p, exact, i, j)
    np.testing.assert_allclose(chord, np.linalg.norm(p[j] - p[i], axis=1), rtol=1e-14)
    np.testing.assert_allclose(elevation, np.arcsin(chord / 2), atol=1e-13)
