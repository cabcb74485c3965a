"""The method registry: every built-in spec is complete, and a toy fifth method defined
here (a plain unweighted first-order least-squares gradient, NumPy only) works through
stencil_weights, every operator and the CLI without touching any other module."""
import numpy as np
import pytest

import o3d_meshless as om
from o3d_meshless.cli import main
from o3d_meshless.stencils import METHODS, MethodSpec, register_method, unregister_method
from o3d_meshless.testing import fibonacci_sphere

TOY = "toy_lsq1"


def _unit(c, d):
    return tuple(int(a == c) for a in range(d))


def toy_kernel(points, neighbors, centers, bases, *, order, targets, weight_power=-1.0,
               bounds=False, n_threads=1):
    """Unweighted least squares of f_j − f_0 ≈ ∇f · x_j on local coordinates."""
    off = points[neighbors] - points[centers][:, None, :]
    local = off if bases is None else np.einsum("mkD,mdD->mkd", off, bases[centers])
    pinv = np.linalg.pinv(local)                       # (m, d, k)
    s = np.linalg.svd(local, compute_uv=False)
    w = np.full((len(centers), neighbors.shape[1], len(targets)), np.nan)
    for t, target in enumerate(targets):
        items = target.items() if isinstance(target, dict) else [(tuple(target), 1.0)]
        if all(sum(m) == 1 for m, _ in items):          # first derivatives only
            w[:, :, t] = sum(coef * pinv[:, list(m).index(1), :] for m, coef in items)
    rcond = s[:, -1] / s[:, 0]
    diag = np.column_stack([rcond, np.full(len(centers), np.nan),
                            np.full(len(centers), np.nan), (s > 1e-12 * s[:, :1]).sum(1)])
    return w, diag, np.zeros(len(centers), dtype=np.intc)


TOY_SPEC = MethodSpec(
    name=TOY, title="plain first-order least squares (test)", kernel=toy_kernel,
    n_unknowns=lambda order, dim: dim,
    monomials=lambda order, dim: tuple(_unit(c, dim) for c in range(dim)),
    max_order=1, weighted=False)


@pytest.fixture
def toy():
    register_method(TOY_SPEC)
    yield TOY_SPEC
    unregister_method(TOY)


@pytest.mark.parametrize("name", list(METHODS))
def test_every_built_in_spec_is_complete(name):
    spec = METHODS[name]
    assert spec.name == name and spec.title and callable(spec.kernel)
    assert spec.diagnostics[0] == "rcond" and spec.diagnostics[-1] == "rank"
    for order in range(1, spec.max_order + 1):
        assert spec.n_unknowns(order, 2) >= 1 and len(spec.monomials(order, 2)) >= 2
    assert set(spec.diagnostic_dtypes) <= set(spec.diagnostics)


def test_built_in_methods_cannot_be_replaced_by_accident_or_removed():
    with pytest.raises(ValueError, match="already registered"):
        register_method(METHODS["taylor"])
    with pytest.raises(ValueError, match="built-in"):
        unregister_method("taylor")
    with pytest.raises(ValueError, match="`spec` must be a MethodSpec"):
        register_method("taylor")


def test_toy_method_through_stencil_weights(toy):
    off = np.random.default_rng(0).normal(size=(12, 2))
    w = om.stencil_weights(off, method=TOY, order=1)
    f = off @ np.array([2.0, -3.0])
    assert w[(1, 0)] @ f == pytest.approx(2.0) and w[(0, 1)] @ f == pytest.approx(-3.0)
    assert w.method == TOY and w.diagnostics["rank"] == 2
    with pytest.raises(ValueError, match="`order` must be <= 1|`order`.*1"):
        om.stencil_weights(off, method=TOY, order=2)
    with pytest.raises(ValueError, match="`weights` must be None"):
        om.stencil_weights(off, method=TOY, order=1, weights=2)
    with pytest.raises(ValueError, match="`centre` applies to method 'orthopoly' only"):
        om.stencil_weights(off, method=TOY, order=1, centre="interpolate")


def test_toy_method_through_scattered_derivatives(toy):
    p = np.random.default_rng(1).uniform(size=(400, 3))
    op = om.ScatteredDerivatives(method=TOY, order=1).fit(p)
    g = op.gradient(p @ np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, np.tile([1.0, 2.0, 3.0], (400, 1)), atol=1e-9)
    assert op.diagnostics_["n_rank_deficient"] == 0 and op.L_ is None
    with pytest.raises(ValueError, match="second derivatives need `order` >= 2"):
        op.hessian(p[:, 0])


def test_toy_method_through_surface_operators(toy):
    p = fibonacci_sphere(3000)
    f = p[:, 2]
    exact = np.c_[np.zeros(3000), np.zeros(3000), np.ones(3000)] - f[:, None] * p
    g = om.SurfaceGradient(method=TOY, order=1).fit(p).apply(f)
    g_ref = om.SurfaceGradient().fit(p).apply(f)
    err, err_ref = (np.abs(x - exact).max() for x in (g, g_ref))
    assert err < 0.05 and err_ref < 0.05                 # first order: O(h), h ≈ 0.06
    div = om.Divergence(method=TOY, order=1).fit(p).apply(exact)
    assert np.median(np.abs(div + 2 * f)) < 0.1         # div_S ∇_S z = −2z on the sphere
    with pytest.raises(ValueError, match=r"LaplaceBeltrami needs `order` >= 2.*toy_lsq1"):
        om.LaplaceBeltrami(method=TOY).fit(p)


def test_toy_method_through_the_cli(toy, tmp_path, capsys):
    path = tmp_path / "sphere.npy"
    np.save(path, fibonacci_sphere(800))
    out = tmp_path / "g.npz"
    code = main(["gradient", str(path), "--method", TOY, "--order", "1", "--out", str(out),
                 "-q"])
    assert code == 0, capsys.readouterr().err
    assert out.is_file()


def test_unknown_method_lists_the_registered_ones():
    with pytest.raises(ValueError, match=r"`method` must be one of .*'taylor'.*'lsgsp'"):
        om.stencil_weights(np.ones((6, 2)), method="nope")


@pytest.mark.parametrize("name", list(METHODS))
def test_every_registered_method_works_through_every_operator(name):
    """The contract over the registry: gradient, divergence, Laplacian (where the method
    has second derivatives) on a sphere, and scattered planar derivatives."""
    spec = METHODS[name]
    p = fibonacci_sphere(2000)
    f = p[:, 2]
    exact = np.c_[np.zeros(2000), np.zeros(2000), np.ones(2000)] - f[:, None] * p
    k = max(30, spec.default_neighbours(2, 2, spec.check_options({})))
    g = om.SurfaceGradient(method=name, k=k).fit(p).apply(f)
    assert np.median(np.linalg.norm(g - exact, axis=1)) < 0.02, name
    div = om.Divergence(method=name, k=k).fit(p).apply(exact)
    assert np.median(np.abs(div + 2 * f)) < 0.1, name
    if spec.max_order >= 2:
        L = om.LaplaceBeltrami(method=name, k=k).fit(p).L_
        assert np.median(np.abs(L @ f - 2 * f)) < 0.05, name
    q = np.random.default_rng(0).uniform(size=(600, 2))
    order = min(2, spec.max_order) if spec.fixed_order is None else spec.fixed_order
    sd = om.ScatteredDerivatives(method=name, order=order).fit(q)
    np.testing.assert_allclose(sd.gradient(q @ np.array([1.5, -2.0])),
                               np.tile([1.5, -2.0], (600, 1)), atol=1e-6, err_msg=name)
