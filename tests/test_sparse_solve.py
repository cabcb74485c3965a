"""Orderings of the sparse symmetric factorisations (operators.sparse_solve)."""
import sys

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import SuperLU

import o3d_meshless as om
from o3d_meshless.operators import spectra
from o3d_meshless.operators.sparse_solve import (CholeskyFactor, PermutedLU, cholesky,
                                                factor_symmetric,
                                                dissection_order, has_cholesky, symmetric_lu)
from o3d_meshless.testing import random_sphere


@pytest.fixture(scope="module")
def pencil():
    op = om.LaplaceBeltrami(form="weak", progress=False).fit(random_sphere(3000, seed=1))
    return op.K_.tocsc(), op.M_.tocsc()


def test_nested_dissection_solves_the_same_system(pencil):
    pytest.importorskip("pymetis")
    K, M = pencil
    A = K + M
    perm = dissection_order(A)
    assert np.array_equal(np.sort(perm), np.arange(A.shape[0]))
    lu = symmetric_lu(A, dissection=True)
    assert isinstance(lu, PermutedLU)
    b = np.random.default_rng(0).standard_normal((A.shape[0], 3))
    x = lu.solve(b)
    assert np.allclose(A @ x, b, atol=1e-9)
    assert np.allclose(x[:, 1], symmetric_lu(A).solve(b[:, 1]), atol=1e-9)


def test_without_pymetis_the_minimum_degree_ordering_is_used(pencil, monkeypatch):
    K, M = pencil
    monkeypatch.setitem(sys.modules, "pymetis", None)      # import fails
    assert dissection_order(K + M) is None
    lu = symmetric_lu(K + M, dissection=True)
    assert isinstance(lu, SuperLU)


def test_spectrum_with_dissection_equals_the_default(pencil, monkeypatch):
    pytest.importorskip("pymetis")
    K, M = pencil
    base = spectra.eigenpairs(K, M, 12, symmetric=True)[0]
    monkeypatch.setattr(spectra, "DISSECTION_MIN", 0)      # order this small one too
    nd = spectra.eigenpairs(K, M, 12, symmetric=True)[0]
    assert np.allclose(nd[1:], base[1:], rtol=1e-10)


# -- CHOLMOD's Cholesky (optional cholespy) -------------------------------------------

def test_cholesky_solves_the_system_with_and_without_dissection(pencil):
    pytest.importorskip("cholespy")
    K, M = pencil
    A = (K + M / M.sum()).tocsc()
    b = np.random.default_rng(0).standard_normal((A.shape[0], 3))
    for dissection in (False, True):
        factor = cholesky(A, dissection=dissection)
        assert isinstance(factor, CholeskyFactor)
        x = factor.solve(b)
        assert np.abs(A @ x - b).max() < 1e-8 * np.abs(b).max()
        assert np.allclose(factor.solve(b[:, 0]), x[:, 0], atol=1e-12)   # 1-D as well
        assert np.allclose(factor.solve(np.asfortranarray(b)), x, atol=1e-12)


def test_cholesky_of_unsorted_indices_is_still_right(pencil):
    # cholespy reads the indices as sorted: unsorted ones gave a wrong factor silently
    pytest.importorskip("cholespy")
    K, M = pencil
    A = (K + M / M.sum()).tocsc()
    shuffled = A.copy()
    rng = np.random.default_rng(1)
    for j in range(A.shape[1]):
        lo, hi = shuffled.indptr[j], shuffled.indptr[j + 1]
        order = lo + rng.permutation(hi - lo)
        shuffled.indices[lo:hi] = shuffled.indices[order].copy()
        shuffled.data[lo:hi] = shuffled.data[order].copy()
    shuffled.has_sorted_indices = False
    b = rng.standard_normal(A.shape[0])
    x = cholesky(shuffled).solve(b)
    assert np.abs(A @ x - b).max() < 1e-8 * np.abs(b).max()


def test_cholesky_of_an_indefinite_matrix_is_none(pencil):
    pytest.importorskip("cholespy")
    K, M = pencil
    assert cholesky((K - 20.0 * M).tocsc()) is None        # σ inside the spectrum


def test_without_cholespy_there_is_no_cholesky(pencil, monkeypatch):
    K, M = pencil
    monkeypatch.setitem(sys.modules, "cholespy", None)      # import fails
    assert not has_cholesky()
    assert cholesky(K + M) is None


def test_spectrum_with_cholesky_equals_the_lu_one(pencil, monkeypatch):
    pytest.importorskip("cholespy")
    K, M = pencil
    used = []
    real = spectra.cholesky

    def spy(A, **options):
        used.append(A.shape)
        return real(A, **options)

    monkeypatch.setattr(spectra, "cholesky", spy)
    vals, vecs, _ = spectra.eigenpairs(K, M, 12, symmetric=True)
    assert used == [K.shape]                                # the Cholesky path ran
    monkeypatch.setattr(spectra, "has_cholesky", lambda: False)
    lu_vals, lu_vecs, _ = spectra.eigenpairs(K, M, 12, symmetric=True)
    assert len(used) == 1                                   # and here it did not
    assert np.allclose(vals[1:], lu_vals[1:], rtol=1e-10)
    gram = vecs.T @ (M @ lu_vecs)                           # the same eigenspaces
    assert np.allclose(np.abs(np.linalg.svd(gram[:4, :4])[1]), 1.0, atol=1e-6)


def test_spectrum_falls_back_to_lu_when_cholesky_fails(pencil, monkeypatch):
    K, M = pencil
    monkeypatch.setattr(spectra, "has_cholesky", lambda: True)
    monkeypatch.setattr(spectra, "cholesky", lambda A, **options: None)   # not definite
    vals = spectra.eigenpairs(K, M, 12, symmetric=True)[0]
    monkeypatch.setattr(spectra, "has_cholesky", lambda: False)
    assert np.allclose(vals[1:], spectra.eigenpairs(K, M, 12, symmetric=True)[0][1:],
                       rtol=1e-10)


def test_factor_symmetric_takes_cholesky_only_when_told_definite(pencil):
    pytest.importorskip("cholespy")
    K, M = pencil
    A = (M + 0.01 * K).tocsc()                       # a heat step: positive definite
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    definite = factor_symmetric(A, definite=True)
    assert isinstance(definite, CholeskyFactor)
    assert isinstance(factor_symmetric(A), SuperLU)
    assert np.allclose(definite.solve(b), factor_symmetric(A).solve(b), rtol=1e-9, atol=1e-12)
    # complex (the connection Laplacian's heat step) stays with SuperLU
    assert isinstance(factor_symmetric(A.astype(complex), definite=True), SuperLU)
    # an empty row (an excluded point) still decouples
    E = sparse.csc_matrix(A)
    E = sparse.csc_matrix(E.multiply((np.arange(A.shape[0]) != 5)[:, None]
                                     * (np.arange(A.shape[0]) != 5)[None, :]))
    E.eliminate_zeros()
    x = factor_symmetric(E, definite=True).solve(b)
    assert x[5] == pytest.approx(b[5])
