"""Orderings of the sparse symmetric factorisations (operators.sparse_solve)."""
import sys

import numpy as np
import pytest
from scipy.sparse.linalg import SuperLU

import o3d_meshless as om
from o3d_meshless.operators import spectra
from o3d_meshless.operators.sparse_solve import PermutedLU, dissection_order, symmetric_lu
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
