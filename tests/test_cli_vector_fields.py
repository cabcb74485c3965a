"""The tangent-vector-field subcommands (logmap, transport) in-process (issue 27)."""
import json

import numpy as np
import pytest

from o3d_meshless.cli.schema import check_record
from o3d_meshless.io.read import load_npz
from o3d_meshless.testing import fibonacci_sphere

from cli_runner import run

N = 1500


@pytest.fixture(scope="module")
def sphere(tmp_path_factory):
    path = tmp_path_factory.mktemp("vf") / "sphere.npy"
    np.save(path, fibonacci_sphere(N))
    return path


def test_logmap_radius_is_the_great_circle_distance(sphere, tmp_path, capsys):
    out = tmp_path / "l.npz"
    code, text, err = run(["logmap", sphere, "--source", "3", "--out", out, "--ply",
                           tmp_path / "l.ply", "--png", tmp_path / "l.png", "-q"], capsys)
    assert code == 0, err
    data = load_npz(out)
    p = fibonacci_sphere(N)
    exact = np.arccos(np.clip(p @ p[3], -1, 1))
    far = (exact > 0.1) & (exact < 2.5)
    r = np.hypot(*data["logmap"].T)
    assert np.median(np.abs(r - exact)[far] / exact[far]) < 0.01
    # the direction: the unit vector towards each point in the source's frame
    d = p - (p @ p[3])[:, None] * p[3]
    frame = data["frame"]
    want = np.arctan2(d @ frame[1], d @ frame[0])
    got = np.arctan2(data["logmap"][:, 1], data["logmap"][:, 0])
    assert np.median(np.degrees(np.abs(np.angle(np.exp(1j * (got - want)))))[far]) < 1.0
    assert data["u_axis"].shape == (N, 3)
    assert (tmp_path / "l.ply").is_file() and (tmp_path / "l.png").stat().st_size > 1000


def test_transport_keeps_the_length_and_stays_tangent(sphere, tmp_path, capsys):
    out = tmp_path / "t.npz"
    code, text, err = run(["transport", sphere, "--source", "0", "--vector", "1,0,0",
                           "--out", out, "--png", tmp_path / "t.png", "-q"], capsys)
    assert code == 0, err
    data = load_npz(out)
    V = data["vectors"]
    assert np.allclose(np.linalg.norm(V, axis=1), np.linalg.norm(data["source_vectors"][0]))
    assert np.abs(np.einsum("ij,ij->i", V, data["normals"])).max() < 1e-12
    assert (tmp_path / "t.png").stat().st_size > 1000


@pytest.mark.parametrize("command, extra", [("logmap", []),
                                            ("transport", ["--source", "0,5"])])
def test_json_follows_the_schema(sphere, capsys, command, extra):
    code, out, err = run([command, sphere, "--json", *extra], capsys)
    assert code == 0, err
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert check_record(record) == []
    assert record["schema"] == f"o3d-meshless/{command}/1" and record["n_points"] == N


@pytest.mark.parametrize("argv, flag", [
    (["logmap", "--source", str(N + 5)], "`--source`"),
    (["logmap", "--source", "0,1"], "`--source`"),
    (["transport", "--source", "0,0"], "`--source`"),
    (["transport", "--source", "-1"], "`--source`"),
])
def test_bad_sources_exit_2_naming_the_flag(sphere, capsys, argv, flag):
    code, _, err = run([argv[0], sphere, *argv[1:]], capsys)
    assert code == 2 and flag in err and len(err.strip().splitlines()) == 1


def test_a_bad_vector_is_refused_by_the_parser(sphere, capsys):
    code, _, err = run(["transport", sphere, "--vector", "1,0"], capsys)
    assert code == 2 and "X,Y,Z" in err


def test_outputs_are_named_after_the_command(sphere, tmp_path, capsys, monkeypatch):
    import shutil

    monkeypatch.chdir(tmp_path)
    src = tmp_path / "ball.npy"
    shutil.copy(sphere, src)
    code, _, err = run(["logmap", src, "--out", "--ply", "-q"], capsys)
    assert code == 0, err
    assert (tmp_path / "ball.logmap.npz").is_file() and (tmp_path / "ball.logmap.ply").is_file()
    code, _, err = run(["logmap", src, "--out", "-q"], capsys)      # no --force: refused
    assert code == 2 and "--force" in err
