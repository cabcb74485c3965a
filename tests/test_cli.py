"""The o3d-meshless command: each subcommand in-process through ``main([...])``."""
import re

import numpy as np
import pytest

from o3d_meshless import __version__
from o3d_meshless.cli import evaluate_expression
from o3d_meshless.io.read import load_npz
from o3d_meshless.testing import fibonacci_sphere

from cli_runner import run

N = 2000
ROW = re.compile(r"^\s*(\d+)\s+([-+]?\d\.\d+e[-+]\d+)\s*$")


@pytest.fixture(scope="module")
def sphere_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    p = fibonacci_sphere(N)
    np.save(d / "sphere.npy", p)
    np.savetxt(d / "sphere.xyz", p)
    np.save(d / "field.npy", p[:, 0] ** 2)
    return d


def eigen_rows(out):
    return np.array([float(m.group(2)) for m in map(ROW.match, out.splitlines()) if m])


# ---------------------------------------------------------------------------
# no operator needed
# ---------------------------------------------------------------------------


def test_version_and_help(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.strip() == f"o3d-meshless {__version__}"
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for sub in ("spectrum", "gradient", "laplacian", "info"):
        assert sub in out
    code, out, _ = run(["spectrum", "--help"], capsys)
    assert code == 0 and "--show-modes" in out and "--modes" in out


def test_usage_errors_exit_2(capsys):
    code, _, err = run([], capsys)
    assert code == 2 and "required" in err
    code, _, err = run(["spectrum", "--show-modes", "a,b"], capsys)
    assert code == 2 and "--show-modes" in err
    code, _, err = run(["spectrum", "--workers", "0"], capsys)
    assert code == 2 and "--workers" in err


def test_info(sphere_files, capsys):
    code, out, err = run(["info", sphere_files / "sphere.xyz"], capsys)
    assert code == 0, err
    lines = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    lines = {k.strip(): v.strip() for k, v in lines.items()}
    assert lines["points"] == f"{N} (3-D)"
    assert lines["normals"] == "no"
    assert lines["duplicates"].startswith("0 point(s)")
    assert "median nearest-neighbour distance" in lines["spacing"]
    # median spacing of N points on the unit sphere ~ sqrt(4 pi / N)
    med = float(re.search(r"distance ([0-9.e-]+)", lines["spacing"]).group(1))
    assert 0.5 * np.sqrt(4 * np.pi / N) < med < 1.5 * np.sqrt(4 * np.pi / N)
    bbox_min = [float(v) for v in lines["bbox min"].strip("()").split(",")]
    bbox_max = [float(v) for v in lines["bbox max"].strip("()").split(",")]
    assert np.allclose(bbox_min, -1, atol=0.01) and np.allclose(bbox_max, 1, atol=0.01)


def test_info_counts_duplicates_and_normals(tmp_path, capsys):
    p = fibonacci_sphere(200)
    np.save(tmp_path / "dup.npy", np.hstack([np.vstack([p, p[:7]]), np.vstack([p, p[:7]])]))
    code, out, err = run(["info", tmp_path / "dup.npy"], capsys)
    assert code == 0, err
    assert re.search(r"duplicates\s*: 7 point\(s\)", out)
    assert re.search(r"normals\s*: yes", out)


def test_info_on_shipped_sample(capsys):
    code, out, _ = run(["info"], capsys)
    assert code == 0
    assert "shipped sample" in out
    assert re.search(r"points\s*: 8171 \(3-D\)", out)


@pytest.mark.parametrize("argv, message", [
    (["info", "does_not_exist.ply"], "no such file"),
    (["spectrum", "does_not_exist.xyz"], "no such file"),
    (["info", "{tmp}/bad.txt"], "unsupported extension"),
    (["info", "{tmp}/wrong.npy"], "shape"),
])
def test_bad_input_clean_error(tmp_path, capsys, argv, message):
    (tmp_path / "bad.txt").write_text("hello")
    np.save(tmp_path / "wrong.npy", np.zeros((10, 4)))
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert err.startswith("o3d-meshless: error: ") and message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_verbose_error_shows_traceback(capsys):
    code, _, err = run(["info", "does_not_exist.ply", "-v"], capsys)
    assert code == 2 and "Traceback" in err and "o3d-meshless: error:" in err


def test_logging_handler_removed_after_run(capsys):
    import logging

    logger = logging.getLogger("o3d_meshless")
    before = list(logger.handlers), logger.level
    run(["info", "-v"], capsys)
    assert (list(logger.handlers), logger.level) == before


def test_expression_field():
    p = fibonacci_sphere(50)
    assert np.allclose(evaluate_expression("x", p), p[:, 0])
    assert np.allclose(evaluate_expression("sin(3*x) + y**2 - 2", p),
                       np.sin(3 * p[:, 0]) + p[:, 1] ** 2 - 2)
    assert np.allclose(evaluate_expression("r", p), np.linalg.norm(p - p.mean(0), axis=1))
    assert np.allclose(evaluate_expression("pi", p), np.pi)
    for bad in ("__import__('os')", "x.real", "open('f')", "[x]", "x if y else z", "q"):
        with pytest.raises(ValueError, match="not allowed"):
            evaluate_expression(bad, p)
    with pytest.raises(ValueError, match="not a valid expression"):
        evaluate_expression("x +", p)
    with pytest.raises(ValueError, match="NaN or inf"):
        evaluate_expression("log(x - 5)", p)


# ---------------------------------------------------------------------------
# with the operators
# ---------------------------------------------------------------------------


def test_spectrum_unit_sphere(sphere_files, tmp_path, capsys):
    out_npz, png, ply = tmp_path / "modes.npz", tmp_path / "modes.png", tmp_path / "modes.ply"
    code, out, err = run(["spectrum", sphere_files / "sphere.npy", "--modes", 9,
                          "--out", out_npz, "--png", png, "--ply", ply,
                          "--workers", 2, "--show-modes", "1,2,3,4"], capsys)
    assert code == 0, err
    vals = eigen_rows(out)
    assert len(vals) == 9
    # unit sphere: l(l+1) with multiplicity 2l+1
    assert abs(vals[0]) < 0.05
    assert np.allclose(vals[1:4], 2.0, rtol=0.05)
    assert np.allclose(vals[4:9], 6.0, rtol=0.05)
    assert re.search(r"^negative eigenvalues: 0 of 9$", out, re.M)
    assert re.search(r"^largest \|imag\|: ", out, re.M)
    assert re.search(r"^M-orthogonality defect max\|V\^T M V - I\|: ", out, re.M)
    assert "spurious" not in out and "SPURIOUS" not in err
    assert "weak form" in out            # the default: symmetric, orthonormal modes
    defect = float(re.search(r"^M-orthogonality defect max\|V\^T M V - I\|: (\S+)$", out,
                             re.M).group(1))
    assert defect <= 1e-8
    assert re.search(r"^timings\s*: .*total [0-9.]+ s", out, re.M)

    saved = load_npz(out_npz)
    for key in ("eigenvalues", "eigenvectors", "points", "normals", "K", "M"):
        assert key in saved, key
    assert str(saved["form"]) == "weak"
    K = saved["K"]
    assert abs(K - K.T).max() == 0
    assert np.allclose(saved["eigenvalues"], vals, rtol=1e-5, atol=1e-6)
    assert saved["eigenvectors"].shape == (N, 9)
    assert saved["points"].shape == (N, 3) and saved["normals"].shape == (N, 3)
    assert saved["K"].shape == (N, N) and saved["M"].shape == (N, N)
    assert int(saved["spectrum_n_negative"]) == 0
    assert float(saved["spectrum_max_imag"]) >= 0
    assert 0 <= float(saved["spectrum_orthogonality_defect"]) < 2
    # eigenvectors orthonormal in the pencil's mass: on this closed sphere the averaged
    # one, saved as "mass" beside the cell areas M
    assert str(saved["mass_kind"]) == "averaged" and "averaged mass" in out
    V, B = saved["eigenvectors"], saved["mass"]
    assert np.allclose(np.asarray(B.sum(axis=1)).ravel(), saved["M"].diagonal())
    assert np.abs(V.T @ (B @ V) - np.eye(9)).max() < 1e-8
    # normals oriented outward (mst) for the picture
    assert (np.einsum("ij,ij->i", saved["normals"], saved["points"]) > 0).mean() > 0.99

    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10000
    header = ply.read_bytes()[:2000].split(b"end_header")[0].decode()
    assert "element vertex 2000" in header and "property double lb_mode_8" in header
    assert "property double nx" in header and "property uchar red" in header


def test_spectrum_quiet_prints_only_results(sphere_files, capsys):
    code, out, err = run(["spectrum", sphere_files / "sphere.xyz", "--modes", 4, "-q"], capsys)
    assert code == 0, err
    assert len(eigen_rows(out)) == 4
    assert "points, k =" not in out and err == ""


def test_spectrum_too_many_modes_is_clean_error(tmp_path, capsys):
    np.save(tmp_path / "tiny.npy", fibonacci_sphere(40))
    code, _, err = run(["spectrum", tmp_path / "tiny.npy", "--modes", 100], capsys)
    assert code == 2 and err.startswith("o3d-meshless: error:")


def test_spectrum_show_modes_out_of_range(sphere_files, capsys):
    code, _, err = run(["spectrum", sphere_files / "sphere.npy", "--modes", 5,
                        "--show-modes", "1,7"], capsys)
    assert code == 2 and "--show-modes" in err


def test_gradient_coordinate_function(sphere_files, tmp_path, capsys):
    out_npz, ply = tmp_path / "grad.npz", tmp_path / "grad.ply"
    code, out, err = run(["gradient", sphere_files / "sphere.npy", "--field", "z",
                          "--out", out_npz, "--ply", ply, "--png", tmp_path / "g.png"], capsys)
    assert code == 0, err
    assert re.search(r"^\|grad f\|\s*: min [-0-9.e+]+, mean [-0-9.e+]+, max [-0-9.e+]+$", out, re.M)
    saved = load_npz(out_npz)
    p, g = saved["points"], saved["gradient"]
    # grad_S z on the unit sphere = e_z - z p
    exact = np.array([0.0, 0.0, 1.0]) - p[:, 2:3] * p
    assert np.median(np.linalg.norm(g - exact, axis=1)) < 1e-2
    assert np.allclose(saved["grad_norm"], np.linalg.norm(g, axis=1))
    assert (tmp_path / "g.png").stat().st_size > 0
    assert b"property double grad_norm" in ply.read_bytes()[:2000]


def test_gradient_field_from_npy_and_expression(sphere_files, capsys):
    code, out_a, err = run(["gradient", sphere_files / "sphere.npy", "--field",
                            sphere_files / "field.npy", "-q"], capsys)
    assert code == 0, err
    code, out_b, err = run(["gradient", sphere_files / "sphere.npy", "--field", "x**2", "-q"],
                           capsys)
    assert code == 0, err
    pick = lambda s: [ln for ln in s.splitlines() if ln.startswith(("f ", "|grad"))]  # noqa
    assert pick(out_a) == pick(out_b)


def test_gradient_bad_field(sphere_files, tmp_path, capsys):
    np.save(tmp_path / "short.npy", np.zeros(7))
    code, _, err = run(["gradient", sphere_files / "sphere.npy", "--field",
                        tmp_path / "short.npy"], capsys)
    assert code == 2 and f"({N},)" in err
    code, _, err = run(["gradient", sphere_files / "sphere.npy", "--field", "os.system"], capsys)
    assert code == 2 and "not allowed" in err


def test_laplacian(sphere_files, tmp_path, capsys):
    out_npz = tmp_path / "L.npz"
    code, out, err = run(["laplacian", sphere_files / "sphere.npy", "--field", "z",
                          "--out", out_npz], capsys)
    assert code == 0, err
    assert re.search(rf"^L\s*: {N} x {N}, \d+ non-zeros", out, re.M)
    area = float(re.search(r"^area \(trace M\)\s*: ([0-9.e+-]+)", out, re.M).group(1))
    assert area == pytest.approx(4 * np.pi, rel=0.05)
    saved = load_npz(out_npz)
    L, M = saved["L"], saved["M"]
    assert L.shape == (N, N) and M.shape == (N, N)
    assert saved["M"].diagonal().sum() == pytest.approx(area, rel=1e-5)
    # -Delta z = 2 z on the unit sphere
    z = saved["points"][:, 2]
    assert np.median(np.abs(saved["Lf"] - 2 * z)) < 0.05


def test_spectrum_on_shipped_sample(tmp_path, capsys):
    code, out, err = run(["spectrum", "--modes", 6, "--png", tmp_path / "bunny.png"], capsys)
    assert code == 0, err
    assert "No INPUT given: using the shipped sample" in out
    vals = eigen_rows(out)
    assert len(vals) == 6 and abs(vals[0]) < 1e-3 * vals[1] and np.all(np.diff(vals) > -1e-8)
    assert (tmp_path / "bunny.png").stat().st_size > 10000


def test_spectrum_strong_form_reports_guard(sphere_files, capsys):
    """--form strong (or any stencil flag) gives the pointwise operator's spectrum and
    the guard's counts."""
    for flags in (["--form", "strong"], ["--order", "2"]):
        code, out, err = run(["spectrum", sphere_files / "sphere.npy", "--modes", 9,
                              *flags], capsys)
        assert code == 0, err
        vals = eigen_rows(out)
        assert np.allclose(vals[1:4], 2.0, rtol=0.05)
        assert "strong form, method taylor" in out
        assert re.search(r"^guard rows\s*: \d+ of 2000", out, re.M)
        assert re.search(r"^failed rows\s*: \d+", out, re.M)
    code, out, err = run(["spectrum", sphere_files / "sphere.npy", "--form", "weak",
                          "--order", "3"], capsys)
    assert code == 2 and "--order" in err and "--form strong" in err


def test_spectrum_reports_boundary_and_repaired_rows(tmp_path, capsys):
    """An open disc: the CLI says how many boundary points got Neumann rows and how many
    rows were replaced, and no eigenvalue is negative."""
    rng = np.random.default_rng(0)
    r, t = np.sqrt(rng.uniform(size=3000)), rng.uniform(0, 2 * np.pi, 3000)
    np.save(tmp_path / "disc.npy", np.c_[r * np.cos(t), r * np.sin(t), np.zeros(3000)])
    code, out, _ = run(["spectrum", str(tmp_path / "disc.npy"), "--modes", "6", "--form",
                        "strong"], capsys)
    assert code == 0
    boundary = int(re.search(r"boundary points\s*: (\d+)", out).group(1))
    assert 50 < boundary < 300
    assert re.search(r"nonnegative rows\s*: \d+", out)
    assert "negative eigenvalues: 0 of 6" in out


def test_outputs_appear_together_or_not_at_all(tmp_path, capsys, monkeypatch):
    """Outputs are written to temporary files and renamed at the end: a failing run
    leaves no new file and keeps the previous ones; the input is never overwritten and
    an output folder that does not exist is refused before any work."""
    rng = np.random.default_rng(0)
    p = rng.normal(size=(800, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    src = tmp_path / "s.npy"
    np.save(src, p)
    out, ply = tmp_path / "r.npz", tmp_path / "r.ply"
    code, text, _ = run(["spectrum", str(src), "--modes", "4", "--out", str(out),
                         "--ply", str(ply)], capsys)
    assert code == 0 and out.is_file() and ply.is_file()
    assert f"wrote {out}" in text and f"wrote {ply}" in text
    before = out.read_bytes()
    # without --force an existing output stops the run before any work
    code, _, err = run(["spectrum", str(src), "--modes", "4", "--out", str(out)], capsys)
    assert code == 2 and "--force" in err and out.read_bytes() == before
    # --png into a missing folder: refused first, nothing new, previous outputs intact
    code, _, err = run(["spectrum", str(src), "--modes", "4", "--out", str(out), "--force",
                        "--png", str(tmp_path / "missing" / "x.png")], capsys)
    assert code == 2 and "does not exist" in err
    assert out.read_bytes() == before
    code, _, err = run(["spectrum", str(src), "--ply", str(src)], capsys)
    assert code == 2 and "is the input file" in err
    # a failure after .npz and .ply were written (the picture fails) removes their
    # temporary files and keeps the old ones
    def boom(*args, **kwargs):
        raise ValueError("picture failed")

    monkeypatch.setattr("o3d_meshless.plot.render_fields", boom)
    code, _, err = run(["gradient", str(src), "--field", "x", "--out", str(out), "--force",
                        "--ply", str(ply), "--png", str(tmp_path / "g.png")], capsys)
    assert code == 2 and "picture failed" in err
    assert out.read_bytes() == before and not (tmp_path / "g.png").exists()
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]


@pytest.mark.parametrize("case", ["empty npy", "lying npy", "garbage obj", "sin3",
                                  "long field", "huge workers"])
def test_bad_files_and_fields_exit_2_with_one_line(tmp_path, capsys, case):
    p = np.random.default_rng(0).normal(size=(300, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    good = tmp_path / "good.npy"
    np.save(good, p)
    argv = ["gradient", str(good), "--field", "x"]
    if case == "empty npy":
        (tmp_path / "e.npy").write_bytes(b"")
        argv[1] = str(tmp_path / "e.npy")
    elif case == "lying npy":
        data = bytearray(good.read_bytes())
        data = data.replace(b"(300, 3)", b"(10**11,3)".replace(b"10**11", b"99999999999"))
        (tmp_path / "l.npy").write_bytes(bytes(data))
        argv[1] = str(tmp_path / "l.npy")
    elif case == "garbage obj":
        (tmp_path / "g.obj").write_bytes(b"v 1 2\nf 1 2 3 4 5\nv a b c\nf 9 9 9\n")
        argv[1] = str(tmp_path / "g.obj")
    elif case == "sin3":
        argv[3] = "sin(x, y, z)"
    elif case == "long field":
        argv[3] = "+".join(["x"] * 30000)
    elif case == "huge workers":
        argv += ["--workers", "99999999999"]
    code, _, err = run(argv, capsys)
    if case == "huge workers":            # clamped to the usable cores: it just runs
        assert code == 0, err
        return
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("o3d-meshless: error:"), err


def test_spectrum_averaged_mass(sphere_files, tmp_path, capsys):
    """``--mass averaged`` reaches the weak form and ``--out`` saves the pencil's mass;
    with the strong form it is refused naming the flag."""
    from scipy import linalg

    out_npz = tmp_path / "modes.npz"
    code, out, err = run(["spectrum", sphere_files / "sphere.npy", "--modes", 9,
                          "--mass", "averaged", "--out", out_npz], capsys)
    assert code == 0, err
    assert "averaged mass" in out
    saved = load_npz(out_npz)
    assert str(saved["mass_kind"]) == "averaged"
    K, B = saved["K"].toarray(), saved["mass"].toarray()
    assert np.allclose(linalg.eigh(K, B, eigvals_only=True)[:9], saved["eigenvalues"],
                       rtol=1e-6, atol=1e-8)
    code, out, err = run(["spectrum", sphere_files / "sphere.npy", "--mass", "averaged",
                          "--form", "strong"], capsys)
    assert code == 2 and "--mass" in err
