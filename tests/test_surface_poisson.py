"""Surface Poisson ``Δ_S u = f`` (o3d_meshless.toolkit.surface_poisson) against analytic solutions.

* closed unit sphere, spherical harmonics ``Y`` with ``Δ_S Y = −l(l+1) Y``: the error
  (relative, M-weighted L2) and its observed order from 2 000 to 8 000 i.i.d. points;
* open surfaces with Dirichlet values on the detected boundary points: the upper
  hemisphere (``u = xy``), a flat disc (``x² + y²`` reproduced to round-off; a harmonic);
  the natural condition on the hemisphere (``xy`` has zero normal derivative at the rim);
* several pieces, non-mean-zero ``f``, pinned points on a closed surface, the strong form;
* the closed bunny (``../shared/data/bunny.off``), compared with LaPy's FEM solution when
  LaPy is installed; the cow with its pinch vertex;
* bad inputs.
"""
import warnings
from pathlib import Path

import numpy as np
import pytest

from o3d_meshless.operators.laplacian import LaplaceBeltrami
from o3d_meshless.toolkit.surface_poisson import SurfacePoissonResult, solve_surface_poisson

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not (DATA / "bunny.off").is_file(),
                                reason=f"real inputs not found in {DATA}")


def sphere(n, seed=0):
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def hemisphere(n, seed=0):
    p = sphere(2 * n, seed)
    return p[p[:, 2] > 0]


def disc(n, seed=1):
    q = np.random.default_rng(seed).uniform(-1, 1, size=(int(n * 4 / np.pi), 2))
    q = q[(q ** 2).sum(axis=1) < 1]
    return np.c_[q, np.zeros(len(q))]


def rel_error(sol, exact):
    m = sol.operator.M_.diagonal()
    return float(np.sqrt(m @ (sol.u - exact) ** 2 / (m @ exact ** 2)))


def order(e_coarse, e_fine, n_coarse, n_fine):
    """Observed order in the spacing h ∝ n^(−1/2)."""
    return float(np.log(e_coarse / e_fine) / np.log(np.sqrt(n_fine / n_coarse)))


HARMONICS = {                      # name: (Y(p), l)
    "xy (l=2)": (lambda p: p[:, 0] * p[:, 1], 2),
    "xyz (l=3)": (lambda p: p[:, 0] * p[:, 1] * p[:, 2], 3),
}


@pytest.fixture(scope="module")
def sphere_operators():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return {n: LaplaceBeltrami(form="weak", k=32).fit(sphere(n)) for n in (2000, 8000)}


# ----------------------------------------------------------------------- closed surfaces

@pytest.mark.parametrize("name", HARMONICS)
def test_sphere_harmonic_converges(sphere_operators, name):
    Y, l = HARMONICS[name]
    errors = {}
    for n, op in sphere_operators.items():
        exact = Y(op.points_)
        with warnings.catch_warnings():
            warnings.simplefilter("error")               # f is mean-zero: no warning
            sol = solve_surface_poisson(op, -l * (l + 1) * exact)
        assert isinstance(sol, SurfacePoissonResult)
        assert sol.n_pieces == 1 and sol.boundary.size == 0 and sol.rows == "symmetric"
        assert sol.residual < 1e-10
        m = op.M_.diagonal()
        assert abs(m @ sol.u) < 1e-12 * m.sum()          # M-mean-zero
        assert abs(sol.f_mean[0]) < 1e-2 * np.abs(exact).max()
        errors[n] = rel_error(sol, exact)
    p = order(errors[2000], errors[8000], 2000, 8000)
    print(f"\nsphere {name}: rel. L2 error 2k {errors[2000]:.2e}, 8k {errors[8000]:.2e}, "
          f"observed order {p:.2f}")
    assert errors[8000] < 4e-3
    assert p >= 1.5


def test_mean_of_f_is_removed_with_a_warning(sphere_operators):
    op = sphere_operators[2000]
    p = op.points_
    xy = p[:, 0] * p[:, 1]
    with pytest.warns(RuntimeWarning, match="zero mean"):
        sol = solve_surface_poisson(op, 1.0 - 6 * xy)
    m = op.M_.diagonal()
    assert sol.f_mean[0] == pytest.approx(1.0 - 6 * (m @ xy) / m.sum(), rel=1e-9)
    assert rel_error(sol, xy) < 0.02                    # solves Δu = f − mean(f)


def test_each_piece_is_mean_zero():
    a, b = sphere(1500, 1), sphere(1000, 2) * 0.5 + [3.0, 0, 0]
    pts = np.r_[a, b]
    exact = np.r_[a[:, 0] * a[:, 1], (b[:, 1] * b[:, 2]) * 0.25]   # xy on each sphere
    f = np.r_[-6 * a[:, 0] * a[:, 1], -6 * exact[1500:] / 0.25]    # radius 0.5: ×4
    sol = solve_surface_poisson(pts, f)
    assert sol.n_pieces == 2 and sol.f_mean.shape == (2,)
    m = sol.operator.M_.diagonal()
    for piece in range(2):
        sel = sol.labels == piece
        assert abs(m[sel] @ sol.u[sel]) < 1e-12
    assert rel_error(sol, exact) < 0.02


def test_pinned_points_on_a_closed_surface(sphere_operators):
    op = sphere_operators[2000]
    exact = op.points_[:, 0] * op.points_[:, 1]
    sol = solve_surface_poisson(op, -6 * exact, boundary=[0, 5], boundary_values=exact)
    assert sol.rows == "own-cell" and sol.boundary.tolist() == [0, 5]
    assert sol.u[[0, 5]] == pytest.approx(exact[[0, 5]])
    assert rel_error(sol, exact) < 0.02


def test_strong_form():
    p = sphere(2000)
    exact = p[:, 0] * p[:, 1]
    sol = solve_surface_poisson(p, -6 * exact, form="strong")
    assert sol.form == "strong" and sol.rows == "strong" and sol.residual < 1e-10
    assert rel_error(sol, exact) < 0.01
    top = hemisphere(2000)
    exact = top[:, 0] * top[:, 1]
    sol = solve_surface_poisson(top, -6 * exact, boundary_values=exact, form="strong")
    assert rel_error(sol, exact) < 0.02


# ------------------------------------------------------------------------- open surfaces

def test_hemisphere_dirichlet_converges():
    errors = {}
    for n in (2000, 8000):
        top = hemisphere(n)
        exact = top[:, 0] * top[:, 1]
        op = LaplaceBeltrami(form="weak", k=32).fit(top)
        # values only at the detected boundary points: NaN elsewhere is fine
        values = np.full(len(top), np.nan)
        rim = op.sampling_.diagnostics["boundary_mask"]
        values[rim] = exact[rim]
        sol = solve_surface_poisson(op, -6 * exact, boundary_values=values)
        assert sol.rows == "own-cell" and sol.n_pieces == 1
        assert np.array_equal(sol.boundary, np.flatnonzero(rim))
        assert top[sol.boundary, 2].max() < 0.1                # the rim, z ≈ 0
        assert np.array_equal(sol.u[sol.boundary], exact[sol.boundary])
        assert sol.residual < 1e-10
        errors[len(top)] = rel_error(sol, exact)
    (n1, e1), (n2, e2) = sorted(errors.items())
    p = order(e1, e2, n1, n2)
    print(f"\nhemisphere xy, Dirichlet: rel. L2 error {n1} pts {e1:.2e}, {n2} pts {e2:.2e}, "
          f"observed order {p:.2f}")
    assert e2 < 1e-3
    assert p >= 1.5


def test_disc_reproduces_quadratics_and_harmonics():
    p = disc(2000)
    x, y = p[:, 0], p[:, 1]
    sol = solve_surface_poisson(p, 4.0, boundary_values=x * x + y * y)
    assert np.abs(sol.u - (x * x + y * y)).max() < 1e-10    # own-cell rows: exact
    h = np.exp(x) * np.sin(y)
    sol = solve_surface_poisson(sol.operator, 0.0, boundary_values=h)
    assert rel_error(sol, h) < 2e-3


def test_hemisphere_natural_condition():
    top = hemisphere(2000)
    exact = top[:, 0] * top[:, 1]                 # zero normal derivative at z = 0
    with pytest.warns(RuntimeWarning, match="open-boundary points were detected"):
        sol = solve_surface_poisson(top, -6 * exact)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = solve_surface_poisson(sol.operator, -6 * exact, boundary="natural")
    assert np.array_equal(sol.u, again.u) and sol.boundary.size == 0
    # first order only: the cells end at the outermost points, O(h) inside the rim
    # (measured 3.0e-2, 1.6e-2, 5.4e-3 at 2k, 8k, 32k points)
    assert rel_error(sol, exact) < 0.04


# ----------------------------------------------------------------------------- real data

@needs_data
def test_closed_bunny():
    from o3d_meshless.io.read import read_geometry

    mesh = read_geometry(DATA / "bunny.off")
    op = LaplaceBeltrami(form="weak", k=32).fit(mesh)
    v = op.points_
    c, size = v.mean(axis=0), np.ptp(v, axis=0).max()
    f = np.sin(3 * (v[:, 0] - c[0]) / size) + (v[:, 1] - c[1]) / size
    m = op.M_.diagonal()
    f -= (m @ f) / m.sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = solve_surface_poisson(op, f)
    assert np.isfinite(sol.u).all() and sol.n_pieces == 1 and sol.boundary.size == 0
    assert sol.residual < 1e-10 and abs(sol.f_mean[0]) < 1e-12
    assert abs(m @ sol.u) < 1e-12 * np.abs(sol.u).max() * m.sum()
    # the discrete equation K u = −M f holds (the residual, recomputed)
    assert np.abs(op.K_ @ sol.u + m * f).max() < 1e-10 * np.abs(m * f).max()

    lapy = pytest.importorskip("lapy")
    from scipy import sparse
    from scipy.sparse.linalg import splu

    faces = np.asarray(mesh.faces)
    fem = lapy.Solver(lapy.TriaMesh(v, faces), lump=False)
    area = np.asarray(fem.mass.sum(axis=1)).ravel()
    fb = f - (area @ f) / area.sum()
    n = len(v)
    bordered = sparse.bmat([[fem.stiffness, sparse.csr_matrix(area[:, None])],
                            [sparse.csr_matrix(area[None, :]), None]], format="csc")
    ref = splu(bordered).solve(np.r_[-(fem.mass @ fb), 0.0])[:n]
    ref -= (m @ ref) / m.sum()
    diff = np.sqrt(m @ (sol.u - ref) ** 2 / (m @ ref ** 2))
    corr = np.corrcoef(sol.u, ref)[0, 1]
    print(f"\nbunny.off: meshless vs LaPy FEM Poisson: rel. L2 difference {diff:.2e}, "
          f"correlation {corr:.5f}")
    assert diff < 0.06 and corr > 0.995


@needs_data
def test_cow_with_its_pinch_vertex():
    from o3d_meshless.io.read import read_geometry

    mesh = read_geometry(DATA / "cow.obj")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # operator notes, if any
        op = LaplaceBeltrami(form="weak", k=32).fit(mesh)
    v = op.points_
    f = (v[:, 0] - v[:, 0].mean()) * (v[:, 2] - v[:, 2].mean())
    m = op.M_.diagonal()
    f -= (m @ f) / m.sum()
    sol = solve_surface_poisson(op, f, boundary="natural")
    assert np.isfinite(sol.u).all() and sol.residual < 1e-10
    for piece in range(sol.n_pieces):
        sel = sol.labels == piece
        assert abs(m[sel] @ sol.u[sel]) < 1e-10 * np.abs(sol.u).max() * m.sum()


# ---------------------------------------------------------------------------- bad inputs

@pytest.fixture(scope="module")
def small():
    p = sphere(400, 3)
    return LaplaceBeltrami(form="weak", k=32).fit(p)


@pytest.fixture(scope="module")
def small_open():
    return LaplaceBeltrami(form="weak", k=32).fit(hemisphere(400, 3))


@pytest.mark.parametrize("f, match", [
    (np.zeros(3), r"`f` must have shape \(400,\)"),
    (np.zeros((400, 2)), r"`f` must have shape \(400,\)"),
    (np.r_[np.nan, np.zeros(399)], r"`f` must be finite.*index 0"),
    (np.array(["a"] * 400), r"`f` must be real numbers"),
    (np.ones(400, dtype=bool), r"`f` must be real numbers"),
    (None, r"`f` must be real numbers"),
])
def test_bad_f(small, f, match):
    with pytest.raises(ValueError, match=match):
        solve_surface_poisson(small, f)


@pytest.mark.parametrize("kwargs, match", [
    (dict(boundary_values=np.zeros(400)), r"no open-boundary point was detected.*`boundary`"),
    (dict(boundary=[0, 1]), r"`boundary_values` is None"),
    (dict(boundary=[0, 400], boundary_values=0.0), r"`boundary` indices must be in 0 <= i < 400"),
    (dict(boundary=[-1], boundary_values=0.0), r"`boundary` indices.*negative"),
    (dict(boundary=np.ones(3, dtype=bool), boundary_values=0.0), r"`boundary` as a mask must have shape \(400,\)"),
    (dict(boundary=[0.5], boundary_values=0.0), r"`boundary` must be None .*'natural'"),
    (dict(boundary="dirichlet"), r"`boundary` must be one of 'natural'"),
    (dict(boundary="natural", boundary_values=0.0), r"`boundary_values` cannot be used with boundary='natural'"),
    (dict(boundary=[3], boundary_values=np.zeros(5)), r"`boundary_values` must have shape \(400,\)"),
    (dict(boundary=[3], boundary_values=np.full(400, np.nan)), r"`boundary_values` must be finite at the 1 boundary points.*index 3"),
    (dict(form="weird"), r"`form` must be one of 'strong', 'weak'"),
    (dict(form="strong"), r"fitted with form='weak' but form='strong'.*pass form='weak'"),
    (dict(k=20), r"cannot be applied to a fitted LaplaceBeltrami"),
])
def test_bad_arguments(small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve_surface_poisson(small, 0.0, **kwargs)


def test_bad_arguments_open(small_open):
    n = small_open.points_.shape[0]
    values = np.full(n, np.nan)
    with pytest.raises(ValueError, match=r"`boundary_values` must be finite at the \d+ "
                                         r"boundary points"):
        solve_surface_poisson(small_open, 0.0, boundary_values=values)


def test_bad_options_and_geometry():
    p = sphere(300)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['kk'\].*`?k`?"):
        solve_surface_poisson(p, 0.0, kk=3)
    with pytest.raises(ValueError, match=r"unfitted LaplaceBeltrami"):
        solve_surface_poisson(LaplaceBeltrami(form="weak"), 0.0)
    with pytest.raises(ValueError, match=r"`geometry`"):
        solve_surface_poisson(np.zeros((10, 2)), 0.0)
    with pytest.raises(ValueError, match=r"`method`.*form='weak' has none"):
        solve_surface_poisson(p, 0.0, method="moments")
