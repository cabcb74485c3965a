"""The geometry-toolkit subcommands (geodesic, curvature, hks, smooth) in-process."""
import numpy as np
import pytest

from o3d_meshless.io.read import load_npz
from o3d_meshless.testing import fibonacci_sphere

from cli_runner import run

N = 1500


@pytest.fixture(scope="module")
def sphere(tmp_path_factory):
    path = tmp_path_factory.mktemp("geo") / "sphere.npy"
    np.save(path, fibonacci_sphere(N))
    return path


def test_geodesic_is_the_great_circle_distance(sphere, tmp_path, capsys):
    out = tmp_path / "d.npz"
    code, text, err = run(["geodesic", sphere, "--source", "0", "--out", out, "--ply",
                           tmp_path / "d.ply", "-q"], capsys)
    assert code == 0, err
    data = load_npz(out)
    p = fibonacci_sphere(N)
    exact = np.arccos(np.clip(p @ p[0], -1, 1))
    far = exact > 0.1
    assert np.median(np.abs(data["distance"] - exact)[far] / exact[far]) < 0.02
    assert "sources" in text and (tmp_path / "d.ply").is_file()


def test_geodesic_source_out_of_range_exits_2_naming_the_flag(sphere, capsys):
    code, _, err = run(["geodesic", sphere, "--source", str(N + 5)], capsys)
    assert code == 2 and "`--source`" in err and len(err.strip().splitlines()) == 1


def test_curvature_of_the_unit_sphere(sphere, tmp_path, capsys):
    out = tmp_path / "c.npz"
    code, text, err = run(["curvature", sphere, "--out", out, "--png", tmp_path / "c.png"],
                          capsys)
    assert code == 0, err
    data = load_npz(out)
    assert np.median(data["mean_curvature"]) == pytest.approx(1.0, abs=0.02)
    assert np.median(data["gaussian_curvature"]) == pytest.approx(1.0, abs=0.04)
    assert (tmp_path / "c.png").stat().st_size > 1000 and "H (mean)" in text


def test_hks_decreases_with_time_towards_one_over_the_area(sphere, tmp_path, capsys):
    out = tmp_path / "h.npz"
    code, _, err = run(["hks", sphere, "--modes", "40", "--times", "0.05,0.5,5",
                        "--out", out, "-q"], capsys)
    assert code == 0, err
    hks = load_npz(out)["hks"]
    assert hks.shape == (N, 3) and (np.diff(hks.mean(axis=0)) < 0).all()
    assert hks[:, 2].mean() == pytest.approx(1 / (4 * np.pi), rel=0.02)


def test_smooth_moves_noisy_points_back_towards_the_sphere(tmp_path, capsys):
    p = fibonacci_sphere(N)
    noisy = p + 0.01 * np.random.default_rng(0).normal(size=p.shape)
    src = tmp_path / "noisy.npy"
    np.save(src, noisy)
    out = tmp_path / "s.npz"
    code, _, err = run(["smooth", src, "--k", "40", "--out", out, "-q"], capsys)
    assert code == 0, err
    q = load_npz(out)["points"]
    before = np.sqrt(np.mean((np.linalg.norm(noisy, axis=1) - 1) ** 2))
    after = np.sqrt(np.mean((np.linalg.norm(q, axis=1) - 1) ** 2))
    assert after < before / 2


def test_smooth_a_field(sphere, tmp_path, capsys):
    out = tmp_path / "f.npz"
    code, _, err = run(["smooth", sphere, "--field", "z", "--out", out, "-q"], capsys)
    assert code == 0, err
    data = load_npz(out)
    assert data["smoothed"].shape == (N,) and np.abs(data["smoothed"] - data["field"]).max() < 0.1
