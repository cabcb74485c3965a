"""Spectrum quality report: negative eigenvalues, imaginary parts, M-orthogonality."""
import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import o3d_meshless as om
from o3d_meshless import cli
from o3d_meshless.cli import commands as cli_text
from o3d_meshless.operators import spectra
from o3d_meshless.operators.spectra import (SpectrumReport, SpectrumResult, eigenpairs,
                                  spectrum_report)
from o3d_meshless.testing import fibonacci_sphere


@pytest.fixture(scope="module")
def sphere_op():
    p = np.random.default_rng(0).normal(size=(2000, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    return om.LaplaceBeltrami().fit(p)


def negative_operator(n):
    """Upper bidiagonal (not symmetric) with eigenvalues 0, 1, 2, ... and one −5."""
    d = np.arange(n, dtype=float)
    d[n // 2] = -5.0
    return sp.diags([d, np.full(n - 1, 0.01)], [0, 1], format="csr"), sp.identity(n, format="csr")


# ---------------------------------------------------------------------------
# the report itself
# ---------------------------------------------------------------------------


def test_public_names():
    assert om.SpectrumReport is SpectrumReport and om.SpectrumResult is SpectrumResult
    assert om.spectrum_report is spectrum_report
    for name in ("SpectrumReport", "SpectrumResult", "spectrum_report"):
        assert name in om.__all__ and name in spectra.__all__


def test_report_of_sphere(sphere_op):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # no warning on a good cloud
        result = sphere_op.spectrum(4)
    r = result.report
    assert isinstance(r, SpectrumReport) and r is sphere_op.spectrum_report_
    assert r.n_modes == 4 and r.n_negative == 0
    assert abs(r.min_real) < 1e-8
    assert r.max_imag < 1e-6 and sphere_op.max_imag_ == r.max_imag
    assert r.orthogonality_defect < 0.1
    assert r.trustworthy
    # the defect is max |V^T M V - I| of the returned vectors
    V, m = result.vectors, sphere_op.M_.diagonal()
    assert r.orthogonality_defect == pytest.approx(np.abs(V.T @ (m[:, None] * V) - np.eye(4)).max())
    text = str(r)
    assert text.splitlines()[0] == "negative eigenvalues: 0 of 4"
    assert re.search(r"^largest \|imag\|: ", text, re.M)
    assert re.search(r"^M-orthogonality defect max\|V\^T M V - I\|: \d\.\de[-+]\d\d", text, re.M)
    assert 2 <= len(text.splitlines()) <= 3


def test_unpacking_and_attributes(sphere_op):
    result = om.spectrum(sphere_op, n_modes=3)
    vals, vecs = result
    assert isinstance(result, SpectrumResult) and isinstance(result, tuple) and len(result) == 2
    assert result.values is vals and result.vectors is vecs
    assert vals is sphere_op.eigenvalues_ and vecs is sphere_op.eigenvectors_
    assert result.report is sphere_op.spectrum_report_ and result.report.n_modes == 3
    assert om.spectrum(sphere_op, n_modes=3)[0].shape == (3,)
    back = pickle.loads(pickle.dumps(result))
    assert isinstance(back, SpectrumResult) and back.report == result.report
    assert np.array_equal(back.values, vals)
    assert "SpectrumResult(" in repr(result)


@pytest.mark.parametrize("n", [300, 700])      # dense and shift-invert paths
def test_negative_eigenvalue_counted_and_warned(n):
    L, M = negative_operator(n)
    with pytest.warns(RuntimeWarning, match="SPURIOUS MODES") as rec:
        vals, vecs, report = eigenpairs(L, M, 10)
    spurious = [w for w in rec if "SPURIOUS" in str(w.message)]
    assert len(spurious) == 1                     # one warning per problem
    msg = str(spurious[0].message)
    assert "1 of 10" in msg and "-5" in msg and "failed_mask" in msg
    assert "clsgsp" in msg and "`k`" in msg and "normals" in msg
    assert vals[0] == pytest.approx(-5.0) and np.allclose(vals[1:], np.arange(9))
    assert report.n_negative == 1 and report.min_real == pytest.approx(-5.0)
    assert not report.trustworthy
    assert "1 of 10" in str(report) and "SPURIOUS" in str(report)


def test_negative_through_spectrum_result():
    # the module function returns what the estimator returns, warning included
    L, M = negative_operator(700)
    op = om.LaplaceBeltrami()
    op.L_, op.M_ = L, M
    with pytest.warns(RuntimeWarning, match="SPURIOUS MODES"):
        vals, vecs = result = om.spectrum(op, n_modes=6)
    assert result.report.n_negative == 1 and op.spectrum_report_ is result.report
    assert not op.spectrum_report_.trustworthy


def test_tolerance_and_imaginary_parts():
    eye = np.eye(4)
    # a computed zero of -1e-12 is not negative; trustworthy with small imag
    r = spectrum_report(np.array([-1e-12, 2, 2, 6], dtype=complex), eye, np.ones(4))
    assert r.n_negative == 0 and r.trustworthy and r.max_imag == 0.0
    assert r.negative_tol == pytest.approx(6e-8)
    # large imaginary parts make it untrustworthy, without negatives
    r = spectrum_report(np.array([0, 2 + 0.5j, 2 - 0.5j, 6]), eye, sp.identity(4))
    assert r.n_negative == 0 and r.max_imag == 0.5 and not r.trustworthy
    assert "large" in str(r)


def test_complex_pair_gives_orthogonal_real_vectors():
    # a rotation block (eigenvalues 1 ± i) among real eigenvalues: the pair contributes
    # Re v and Im v, not the same real part twice
    n = 700
    L = sp.lil_matrix(sp.diags(np.arange(n, dtype=float) + 2.0))
    L[0, 0], L[0, 1], L[1, 0], L[1, 1] = 1.0, 1.0, -1.0, 1.0
    with pytest.warns(RuntimeWarning, match="imaginary parts"):
        vals, vecs, report = eigenpairs(L.tocsr(), sp.identity(n, format="csr"), 4)
    assert np.allclose(vals, [1, 1, 4, 5])
    assert report.max_imag == pytest.approx(1.0) and not report.trustworthy
    assert report.orthogonality_defect < 1e-8
    assert np.linalg.matrix_rank(vecs[:, :2]) == 2


# ---------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------


def test_cli_formatting_marks_negative_rows():
    vals = np.array([-5.0, 0.0, 1.0, 2.0])
    report = spectrum_report(vals, np.eye(4), np.ones(4))
    lines = cli_text._spectrum_lines(vals, report)
    assert lines[1].endswith(cli_text.SPURIOUS_MARK)
    assert not any(line.endswith(cli_text.SPURIOUS_MARK) for line in lines[2:])
    assert lines[-3].startswith("negative eigenvalues: 1 of 4")
    warn = "\n".join(cli_text._spurious_warning_lines(report))
    assert "NOT modes of the surface" in warn and "--k" in warn and "clsgsp" in warn


def test_cli_prints_report(tmp_path, capsys):
    np.save(tmp_path / "s.npy", fibonacci_sphere(800))
    code = cli.main(["spectrum", str(tmp_path / "s.npy"), "--modes", "4", "--workers", "1",
                     "--out", str(tmp_path / "s.npz")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert re.search(r"^negative eigenvalues: 0 of 4$", out, re.M)
    assert re.search(r"^largest \|imag\|: ", out, re.M)
    assert re.search(r"^M-orthogonality defect", out, re.M)
    assert "max |imag|" not in out and "SPURIOUS" not in err
    with np.load(tmp_path / "s.npz") as z:
        assert int(z["spectrum_n_negative"]) == 0
        assert float(z["spectrum_max_imag"]) >= 0
        assert float(z["spectrum_orthogonality_defect"]) >= 0


@pytest.mark.parametrize("quiet", [False, True])
def test_cli_warns_loudly_on_negative(tmp_path, capsys, monkeypatch, quiet):
    np.save(tmp_path / "s.npy", fibonacci_sphere(700))
    L, M = negative_operator(700)

    def fake_fit(self, geometry):
        self.L_, self.M_, self.mass_kind_ = L, M, "lumped"
        self.diagnostics_ = {"guard_rows": 0, "failed_rows": 3}
        return self

    monkeypatch.setattr(om.LaplaceBeltrami, "fit", fake_fit)
    argv = ["spectrum", str(tmp_path / "s.npy"), "--modes", "8"] + (["-q"] if quiet else [])
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.endswith(cli_text.SPURIOUS_MARK)]
    assert len(rows) == 1 and rows[0].split()[:2] == ["0", "-5.000000e+00"]
    assert re.search(r"^negative eigenvalues: 1 of 8", out, re.M)
    # one loud block on stderr (not also the library's one-line warning)
    assert err.count("SPURIOUS MODES") == 1
    assert "NOT modes of the surface" in err and "--method clsgsp" in err
    assert all(line.startswith("o3d-meshless: warning: ") for line in err.splitlines()
               if "SPURIOUS" in line or "NOT modes" in line)


def test_zero_eigenvalues_count_connected_pieces():
    """Two separate spheres: two zero eigenvalues, reported, and the report says why."""
    p = np.random.default_rng(7).normal(size=(3000, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    q = np.vstack([p[:1500], p[1500:] + [5.0, 0, 0]])
    result = om.spectrum(q, n_modes=5)
    assert result.report.n_zero == 2 and result.report.n_negative == 0
    assert "2 separate pieces" in str(result.report)


def test_negative_eigenvalues_finds_them_dense_and_by_sweep():
    from o3d_meshless.operators.negative_modes import negative_eigenvalues
    for n in (300, 6000):                      # dense, then the shift-invert sweep
        d = np.linspace(1.0, 50.0, n)
        d[n // 3] = -5.0
        L = sp.diags(d, format="csr")
        M = sp.diags(np.full(n, 1.0 / n), format="csr")          # unit area
        neg = negative_eigenvalues(L, M)
        assert len(neg) == 1 and abs(neg[0].real + 5.0) < 1e-8
        L2 = sp.diags(np.abs(d), format="csr")
        assert negative_eigenvalues(L2, M).size == 0


def test_large_stencils_warn_that_the_solve_will_be_slow(monkeypatch):
    import o3d_meshless.operators.spectra as spectra
    monkeypatch.setattr(spectra, "SLOW_SOLVE_POINTS", 1000)
    monkeypatch.setattr(spectra, "SLOW_SOLVE_NNZ_PER_ROW", 20)
    p = fibonacci_sphere(1500)
    op = om.LaplaceBeltrami(k=30).fit(p)
    with pytest.warns(RuntimeWarning, match="entries per row"):
        op.spectrum(4)
    small = om.LaplaceBeltrami(k=12).fit(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        small.spectrum(4)


def test_the_eigensolve_reports_its_solves_to_the_progress_bar(monkeypatch):
    from o3d_meshless import _progress
    from o3d_meshless.testing import random_sphere

    notes, stages = [], []
    real_call = _progress.Stages.__call__
    monkeypatch.setattr(_progress.Stages, "note", lambda self, text: notes.append(text))

    def call(self, name):
        stages.append(name)
        return real_call(self, name)

    monkeypatch.setattr(_progress.Stages, "__call__", call)
    import o3d_meshless as om

    om.spectrum(random_sphere(6000, seed=0), 10, progress=False)
    assert "factorising" in stages and "Lanczos" in stages
    assert notes and notes[-1].endswith("solves") and int(notes[-1].split()[0]) >= 10


def test_a_stage_bar_keeps_its_clock_running():
    import time

    from o3d_meshless._progress import Stages

    st = Stages(1, desc="test", progress=True)
    redraws = []
    real = st._bar.refresh
    st._bar.refresh = lambda *a, **k: (redraws.append(1), real(*a, **k))
    with st("long stage"):
        time.sleep(1.3)                    # no update() call: only the ticker redraws
        st.note("3 solves")
        assert st._bar.postfix == "long stage, 3 solves"
    st.close()
    assert len(redraws) >= 2
