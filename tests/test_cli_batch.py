"""The CLI for scripts: several inputs, --out-dir with {stem}, --json (one line per
input), input columns as --field, -q, suffixes kept, errors that name the flag."""
import json

import numpy as np
import pytest

from o3d_meshless.io.read import load_npz, sample_path
from o3d_meshless.testing import fibonacci_sphere

from cli_runner import run


def lines(out):
    """The records of --json: one JSON object per line."""
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def spheres(tmp_path_factory):
    folder = tmp_path_factory.mktemp("batch")
    for n in (600, 900):
        np.save(folder / f"sphere{n}.npy", fibonacci_sphere(n))
    return folder


def test_batch_over_the_shipped_samples_with_json_and_out_dir(tmp_path, capsys):
    samples = [sample_path("bunny"), sample_path("spot")]
    code, out, err = run(["spectrum", *samples, "--modes", "4", "--json", "--out-dir",
                          tmp_path], capsys)
    assert code == 0, err
    records = lines(out)
    assert [r["input"] for r in records] == [str(s) for s in samples]
    for r in records:
        assert r["report"]["n_negative"] == 0 and len(r["eigenvalues"]) == 4
        stem = r["input"].split("/")[-1][:-4]
        assert r["outputs"] == [str(tmp_path / f"{stem}.spectrum.npz")]
        assert load_npz(r["outputs"][0])["eigenvalues"].shape == (4,)


def test_a_glob_runs_every_match_and_stem_names_the_outputs(spheres, tmp_path, capsys):
    code, out, err = run(["laplacian", str(spheres / "*.npy"), "--out-dir", tmp_path,
                          "--ply", "{stem}_area.ply", "--json"], capsys)
    assert code == 0, err
    records = lines(out)
    assert len(records) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "sphere600.laplacian.npz", "sphere600_area.ply", "sphere900.laplacian.npz",
        "sphere900_area.ply"]
    assert records[0]["area"] == pytest.approx(4 * np.pi, rel=0.02)


def test_one_output_name_for_several_inputs_is_refused_before_any_work(spheres, tmp_path,
                                                                        capsys):
    code, out, err = run(["gradient", spheres / "sphere600.npy", spheres / "sphere900.npy",
                          "--png", tmp_path / "g.png"], capsys)
    assert code == 2 and "--png" in err and "{stem}" in err
    assert not list(tmp_path.iterdir()) and out == ""


def test_a_failing_input_does_not_stop_the_others(spheres, tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    code, out, err = run(["info", bad, spheres / "sphere600.npy", "--json"], capsys)
    assert code == 2 and err.count("o3d-meshless: error:") == 1
    records = lines(out)
    assert "error" in records[0] and records[1]["n_points"] == 600


def test_field_names_a_column_of_the_input(tmp_path, capsys):
    ply = tmp_path / "modes.ply"
    code, _, err = run(["spectrum", sample_path("spot"), "--modes", "3", "--ply", ply, "-q"],
                       capsys)
    assert code == 0, err
    code, out, err = run(["gradient", ply, "--field", "lb_mode_1", "--json"], capsys)
    assert code == 0, err
    record = json.loads(out)
    assert record["grad_norm"]["max"] > 0 and record["field"]["min"] < 0 < record["field"]["max"]


def test_quiet_prints_results_only(spheres, capsys):
    code, out, err = run(["laplacian", spheres / "sphere600.npy", "-q"], capsys)
    assert code == 0 and err == ""
    assert "guard rows" not in out and "timings" not in out and "points," not in out
    assert out.startswith("L ")


def test_out_keeps_the_suffix_given(spheres, tmp_path, capsys):
    target = tmp_path / "result.data"
    code, _, err = run(["gradient", spheres / "sphere600.npy", "--out", target, "-q"], capsys)
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == ["result.data"]
    assert load_npz(target)["gradient"].shape == (600, 3)


def test_errors_name_the_command_line_flag(spheres, capsys):
    code, _, err = run(["laplacian", spheres / "sphere600.npy", "--k", "2"], capsys)
    assert code == 2 and "`--k`" in err and "LaplaceBeltrami" not in err
