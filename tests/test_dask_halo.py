"""The distributed spectrum's building blocks: halo products on blocks kept per part, the
Rayleigh–Ritz step, and the claim that no n-row block reaches the client while LOBPCG runs.

The synchronous scheduler runs the graphs (the cluster runs are in ``test_dask.py``).
"""
import numpy as np
import pytest
from scipy import sparse

dask = pytest.importorskip("dask")

from o3d_meshless.dask import DaskSurface                      # noqa: E402
from o3d_meshless.dask import _block_lobpcg, _spectrum          # noqa: E402
from o3d_meshless.dask._halo import located, part_plan, used_columns  # noqa: E402
from o3d_meshless.testing import random_sphere                  # noqa: E402


@pytest.fixture(autouse=True)
def _synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


def _toy_parts(n=60, n_parts=3, seed=0, symmetric=True):
    """Random sparse K and B cut into row blocks of a shuffled ordering, as parts."""
    rng = np.random.default_rng(seed)
    A = sparse.random(n, n, density=0.08, random_state=seed, format="csr")
    K = (A + A.T) if symmetric else A
    B = sparse.diags(rng.uniform(1, 2, n)) + 0.1 * (A + A.T)
    K, B = K.tocsr(), B.tocsr()
    owned = np.array_split(rng.permutation(n), n_parts)
    owned = [np.sort(o) for o in owned]
    parts, used_k, used_b = [], [], []
    for rows in owned:
        ops = {"owned_ids": rows}
        for name, M in (("K", K), ("B", B)):
            sub = M[rows]
            used = np.unique(sub.indices)
            remap = np.full(n, -1)
            remap[used] = np.arange(len(used))
            ops[name] = sparse.csr_matrix((sub.data, remap[sub.indices], sub.indptr),
                                          shape=(len(rows), len(used)))
            ops[name + "_ids"] = used
        parts.append(dask.delayed(ops))
        used_k.append(ops["K_ids"])
        used_b.append(ops["B_ids"])
    return K, B, owned, parts, used_k, used_b


def halo_plans(owned, used_k, used_b):
    """The parts' plans made in this process with every part a candidate (the brute-force
    twin of what ``HaloProducts`` makes on the workers): ``(plans, sends)``,
    ``sends[(q, p)]`` the rows of part ``q``'s block that part ``p`` needs."""
    ops = [{"owned_ids": o, "K_ids": k, "B_ids": b} for o, k, b in zip(owned, used_k, used_b)]
    plans, sends = [], {}
    for p, op in enumerate(ops):
        found = [located(used_columns(op), other) for other in ops]
        plans.append(part_plan(op, list(range(len(ops))), *found))
        for q, (sel, rows) in enumerate(found):
            if len(sel):
                sends[(q, p)] = rows
    return plans, sends


def product(pencil, which, X):
    """``A X`` through the pencil's halo products for an ``(n,)`` or ``(n, c)`` array
    held here, cut into the parts' rows."""
    import operator

    X2 = np.asarray(X, dtype=np.float64).reshape(pencil.n, -1)
    blocks = [dask.delayed(np.ascontiguousarray(X2[own])) for own in pencil.owned]
    pick = 0 if which == "K" else 1
    Y = pencil.gather([dask.delayed(operator.getitem)(kb, pick)
                       for kb in pencil.halo.times(blocks)])
    return Y[:, 0] if np.ndim(X) == 1 else Y


def test_halo_plans_send_each_part_the_rows_it_uses():
    K, B, owned, parts, used_k, used_b = _toy_parts()
    plans, sends = halo_plans(owned, used_k, used_b)
    for p, plan in enumerate(plans):
        used = np.union1d(used_k[p], used_b[p])
        assert np.array_equal(used[plan["k_cols"]], used_k[p])
        assert np.array_equal(used[plan["b_cols"]], used_b[p])
        got = np.full(plan["size"], -1)
        for q, sel in plan["sources"]:
            got[sel] = owned[q][sends[(q, p)]]     # what q sends, as input indices
        assert np.array_equal(got, used)          # every used column, from its owner
    with pytest.raises(ValueError, match="cover"):
        halo_plans([owned[0]], used_k[:1], used_b[:1])


@pytest.mark.parametrize("symmetrise", [set(), {"K"}, {"K", "B"}])
def test_products_on_blocks_equal_the_assembled_matrices(symmetrise):
    K, B, owned, parts, _, _ = _toy_parts(symmetric=False)
    pencil = _spectrum.DistributedPencil(list(dask.persist(*parts)), K.shape[0])
    X = np.random.default_rng(1).standard_normal((K.shape[0], 3))
    pencil.symmetrise = symmetrise
    for name, M in (("K", K), ("B", B)):
        want = 0.5 * (M + M.T) @ X if name in symmetrise else M @ X
        assert np.allclose(product(pencil, name, X), want, rtol=0, atol=1e-13)
    assert np.allclose(product(pencil, "K", X[:, 0]), product(pencil, "K", X)[:, 0])
    # the probe reads the asymmetry |Kx − Kᵀx| / |Kx| of the rows, x made on the workers
    x = pencil.gather(pencil.random_blocks(0))
    want = np.linalg.norm(K @ x - K.T @ x) / np.linalg.norm(K @ x)
    assert pencil.asymmetry("K") == pytest.approx(want, rel=1e-12)
    assert pencil.symmetrise == symmetrise                  # the probe restores it


def test_ritz_drops_dependent_directions():
    rng = np.random.default_rng(2)
    n, m = 40, 3
    A = rng.standard_normal((n, n))
    K = A @ A.T
    S = rng.standard_normal((n, 5))
    S = np.hstack([S, S[:, :2] * 3.0])           # two exact copies: G_B is singular
    theta, C = _block_lobpcg.ritz(S.T @ K @ S, S.T @ S, m)
    assert np.allclose(C.T @ (S.T @ S) @ C, np.eye(m), atol=1e-10)
    Q = np.linalg.qr(S[:, :5])[0]
    assert np.allclose(theta, np.linalg.eigvalsh(Q.T @ K @ Q)[:m], rtol=1e-10)
    with pytest.raises(np.linalg.LinAlgError):
        _block_lobpcg.ritz(S.T @ K @ S, S.T @ S, 6)     # 5 independent directions only


def test_lobpcg_sends_the_client_only_small_matrices(monkeypatch):
    """While the iteration runs, every array computed back to the client is a Gram matrix
    or a vector of norms: none has n rows."""
    p = random_sphere(3000, seed=4)
    surf = DaskSurface(p, n_parts=3)
    largest = []
    real = _spectrum.DistributedPencil.compute
    run = {"in_lobpcg": False}

    def watched(tasks):
        out = real(tasks)
        if run["in_lobpcg"]:
            largest.append(max(np.asarray(a).shape[0] for item in out for a in item))
        return out

    real_lobpcg = _spectrum.lobpcg_modes

    def lobpcg(*args, **kwargs):
        run["in_lobpcg"] = True
        try:
            return real_lobpcg(*args, **kwargs)
        finally:
            run["in_lobpcg"] = False

    monkeypatch.setattr(_spectrum.DistributedPencil, "compute", staticmethod(watched))
    monkeypatch.setattr(_spectrum, "lobpcg_modes", lobpcg)
    vals, vecs = surf.spectrum(6, coarse_points=1500)
    assert largest and max(largest) <= 3 * 14     # 3m with m = 6 + 8 buffer vectors
    assert np.allclose(vals[1:4], 2.0, rtol=2e-2)
    assert vecs.shape == (3000, 6)


def test_lobpcg_restarts_without_directions_when_the_basis_degenerates(monkeypatch):
    """A Rayleigh–Ritz step that finds the basis degenerate is redone without the
    directions P, and the iteration still converges to the same modes."""
    p = random_sphere(3000, seed=5)
    calls = {"n": 0, "raised": False}
    real = _block_lobpcg.ritz

    def flaky(gram_k, gram_b, m):
        calls["n"] += 1
        if calls["n"] == 4 and gram_k.shape[0] > 2 * m:   # a basis with P in it
            calls["raised"] = True
            raise np.linalg.LinAlgError("the LOBPCG basis lost rank")
        return real(gram_k, gram_b, m)

    ref = DaskSurface(p, n_parts=2).spectrum(6, coarse_points=1500)
    monkeypatch.setattr(_block_lobpcg, "ritz", flaky)
    got = DaskSurface(p, n_parts=2).spectrum(6, coarse_points=1500)
    assert calls["raised"] and calls["n"] > 4
    assert np.allclose(got.values, ref.values, rtol=0, atol=1e-9 * ref.values[-1])


def test_kept_vectors_never_bring_index_lists_to_the_client(monkeypatch):
    """With ``vectors="dask"`` the halo plans are made on the workers from the parts
    that can own each part's columns, and no per-point index list is fetched here."""
    p = random_sphere(12000, seed=6)
    surf = DaskSurface(p, n_parts=12)

    def refuse(self):
        raise AssertionError("an n-point index list was fetched to the client")

    monkeypatch.setattr(_spectrum.DistributedPencil, "owned", property(refuse))
    candidates = surf._neighbouring_parts(2)
    assert any(len(c) < 12 for c in candidates)         # not every pair is a neighbour
    result = surf.spectrum(6, coarse_points=1500, vectors="dask")
    assert np.allclose(result.values[1:4], 2.0, rtol=2e-2)
    assert result.vectors.shape == (12000, 6)
