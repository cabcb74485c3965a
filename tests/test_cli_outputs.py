"""Issue 26: one output model and one versioned JSON schema for every subcommand.

Default names carry the command, nothing is overwritten without --force, outputs keep
the input's faces, normals, colours and columns, column names are stable, unreachable
geodesic points are NaN everywhere, --json records follow their schema and keep the
warnings, batches name their inputs and end with a summary, and --up/--view take
negative values."""
import json
import re

import numpy as np
import pytest

from o3d_meshless.cli import main
from o3d_meshless.cli.messages import cli_words
from o3d_meshless.cli.schema import SCHEMAS, check_record
from o3d_meshless.io.read import load_npz, read_geometry, save_ply
from o3d_meshless.testing import fibonacci_sphere

from cli_runner import run

DATA = "/work/shared/data"
COMMANDS = sorted(SCHEMAS)
# small and fast options per command (the defaults would do, only slower)
FAST = {"spectrum": ["--modes", "6"], "hks": ["--modes", "30", "--n-times", "5"],
        "smooth": ["--k", "30", "--iterations", "1"], "geodesic": ["--source", "0"]}


def records(out):
    return [json.loads(line) for line in out.splitlines()]


def ply_header(path):
    head = path.read_bytes()[:4000]
    return head[:head.index(b"end_header")].decode()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder of small inputs: an .npy sphere, a PLY mesh (faces), a PCD with normals
    and a column, an OFF mesh."""
    import shutil

    import trimesh

    folder = tmp_path_factory.mktemp("inputs")
    np.save(folder / "sphere.npy", fibonacci_sphere(500))
    shutil.copy(f"{DATA}/bun_zipper_res4.ply", folder / "bunny4.ply")
    shutil.copy(f"{DATA}/bun0.pcd", folder / "bun0.pcd")
    ico = trimesh.creation.icosphere(subdivisions=3)           # 642 vertices
    ico.export(folder / "ico.off")
    return folder


# --- the JSON schema, one test per command -------------------------------------------

@pytest.mark.parametrize("command", COMMANDS)
def test_json_of_every_command_follows_its_schema(command, inputs, capsys):
    code, out, err = run([command, inputs / "bunny4.ply", "--json", *FAST.get(command, [])],
                         capsys)
    assert code == 0, err
    (record,) = records(out)
    assert check_record(record) == []
    assert record["schema"] == f"o3d-meshless/{command}/1" and record["n_points"] == 453

    def keys(value):
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from keys(item)
        elif isinstance(value, list):
            for item in value:
                yield from keys(item)
    # identifiers, not display labels ("|grad f|", "H (mean)", "HKS t=431")
    assert all(re.fullmatch(r"[a-z_][a-z0-9_]*", k) for k in keys(record)), record


def test_the_schema_check_finds_labels_and_missing_keys(inputs, capsys):
    code, out, _ = run(["gradient", inputs / "sphere.npy", "--json"], capsys)
    record = records(out)[0]
    assert check_record(record) == []
    record["|grad f|"] = record.pop("grad_norm")
    del record["options"]["k"]
    problems = check_record(record)
    assert "missing key grad_norm" in problems and "unexpected key |grad f|" in problems
    assert "missing option k" in problems


def test_a_failed_input_has_an_error_record(inputs, tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    code, out, _ = run(["curvature", bad, inputs / "sphere.npy", "--json"], capsys)
    first, second = records(out)
    assert code == 2 and "error" in first and check_record(first) == []
    assert check_record(second) == [] and second["n_points"] == 500


def test_hks_reports_all_its_times_and_names_columns_by_time(inputs, tmp_path, capsys):
    ply = tmp_path / "h.ply"
    code, out, err = run(["hks", inputs / "sphere.npy", "--modes", "20", "--times",
                          "0.01,0.1,1", "--json", "--ply", ply], capsys)
    assert code == 0, err
    record = records(out)[0]
    assert record["times"] == [0.01, 0.1, 1.0] and len(record["hks"]) == 3
    assert record["columns"] == ["hks_t0.01", "hks_t0.1", "hks_t1"]
    assert record["options"]["times"] == [0.01, 0.1, 1.0]
    cloud = read_geometry(ply)
    assert {"hks_t0.01", "hks_t0.1", "hks_t1"} <= set(cloud.point)
    # a column named by its time is a valid --field
    code, out, err = run(["gradient", ply, "--field", "hks_t0.1", "--json"], capsys)
    assert code == 0, err
    assert records(out)[0]["field"]["max"] > 0


# --- one output model ------------------------------------------------------------------

def test_default_names_carry_the_command(inputs, tmp_path, capsys):
    for command in ("gradient", "curvature"):
        code, _, err = run([command, inputs / "sphere.npy", "--out-dir", tmp_path, "--ply",
                            "-q"], capsys)
        assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "sphere.curvature.npz", "sphere.curvature.ply", "sphere.gradient.npz",
        "sphere.gradient.ply"]
    assert str(load_npz(tmp_path / "sphere.curvature.npz")["command"]) == "curvature"
    code, _, err = run(["gradient", inputs / "sphere.npy", "--out-dir", tmp_path, "--out",
                        "{stem}-{command}.data", "-q"], capsys)
    assert code == 0, err
    assert load_npz(tmp_path / "sphere-gradient.data")["gradient"].shape == (500, 3)


def test_an_existing_output_stops_the_run_before_any_work_unless_force(inputs, tmp_path,
                                                                       capsys, monkeypatch):
    out = tmp_path / "g.npz"
    out.write_bytes(b"keep me")

    def no_reading(path):
        raise AssertionError("the input was read although the output exists")

    with monkeypatch.context() as m:
        m.setattr("o3d_meshless.io.read.read_geometry", no_reading)
        code, text, err = run(["gradient", inputs / "sphere.npy", "--out", out], capsys)
    assert code == 2 and text == "" and len(err.splitlines()) == 1
    assert "exists" in err and "--force" in err and out.read_bytes() == b"keep me"
    code, _, err = run(["gradient", inputs / "sphere.npy", "--out", out, "--force", "-q"],
                       capsys)
    assert code == 0, err
    assert load_npz(out)["gradient"].shape == (500, 3)


def test_a_ply_from_a_mesh_keeps_its_faces(inputs, tmp_path, capsys):
    import trimesh

    for name in ("bunny4.ply", "ico.off"):
        ply = tmp_path / f"{name}.ply"
        code, _, err = run(["curvature", inputs / name, "--ply", ply, "-q"], capsys)
        assert code == 0, err
        mesh = trimesh.load(ply, process=False)
        source = trimesh.load(inputs / name, process=False)
        assert isinstance(mesh, trimesh.Trimesh)
        np.testing.assert_array_equal(mesh.faces, source.faces)
    # the PLY mesh's own columns come along too
    assert "property double confidence" in ply_header(tmp_path / "bunny4.ply.ply")


def test_smooth_keeps_normals_colours_and_columns(tmp_path, capsys):
    rng = np.random.default_rng(1)
    points = fibonacci_sphere(600)
    noisy = points * (1 + 0.01 * rng.standard_normal((600, 1)))
    colors = rng.integers(0, 256, size=(600, 3)).astype(np.uint8)
    src = save_ply(tmp_path / "scan.ply", noisy, {"intensity": rng.random(600)},
                   normals=points, colors=colors)
    out = tmp_path / "smoothed.ply"
    code, _, err = run(["smooth", src, "--k", "30", "--ply", out, "-q"], capsys)
    assert code == 0, err
    back = read_geometry(out)
    np.testing.assert_array_equal(back.point["colors"].numpy(), colors)
    np.testing.assert_allclose(back.point["normals"].numpy(), points, atol=1e-12)
    assert {"intensity", "displacement"} <= set(back.point)


def test_outputs_chain_result_columns_and_colours_are_replaced(inputs, tmp_path, capsys):
    first, second, third = (tmp_path / f"{n}.ply" for n in ("grad", "again", "smooth"))
    code, _, err = run(["gradient", inputs / "sphere.npy", "--field", "x", "--ply", first,
                        "-q"], capsys)
    assert code == 0, err
    # the input's grad_0..2 do not clash with the new grad; its colours (an earlier
    # result's) give way to the new colouring, but smooth (no colouring) keeps them
    code, _, err = run(["gradient", first, "--field", "y", "--ply", second, "-q"], capsys)
    assert code == 0, err
    code, _, err = run(["smooth", first, "--k", "30", "--ply", third, "-q"], capsys)
    assert code == 0, err
    colours = [read_geometry(p).point["colors"].numpy() for p in (first, second, third)]
    assert (colours[0] != colours[1]).any() and (colours[0] == colours[2]).all()
    again = read_geometry(second).point
    np.testing.assert_allclose(again["field"].numpy().ravel(), fibonacci_sphere(500)[:, 1])


def test_smooth_field_keeps_the_columns_name(inputs, tmp_path, capsys):
    modes = tmp_path / "modes.ply"
    code, _, err = run(["spectrum", inputs / "sphere.npy", "--modes", "4", "--ply", modes,
                        "-q"], capsys)
    assert code == 0, err
    out, npz = tmp_path / "s.ply", tmp_path / "s.npz"
    code, text, err = run(["smooth", modes, "--field", "lb_mode_1", "--k", "30",
                           "--ply", out, "--out", npz, "--json"], capsys)
    assert code == 0, err
    assert records(text)[0]["field_name"] == "lb_mode_1"
    back = read_geometry(out)
    assert {"lb_mode_1", "lb_mode_1_smoothed", "lb_mode_2"} <= set(back.point)
    assert str(load_npz(npz)["field_name"]) == "lb_mode_1"


def test_unreachable_geodesic_points_are_nan_everywhere(tmp_path, capsys):
    two = np.vstack([fibonacci_sphere(300), fibonacci_sphere(300) + [5.0, 0, 0]])
    np.save(tmp_path / "two.npy", two)
    out, ply = tmp_path / "d.npz", tmp_path / "d.ply"
    code, text, err = run(["geodesic", tmp_path / "two.npy", "--source", "0", "--out", out,
                           "--ply", ply], capsys)
    assert code == 0, err
    assert re.search(r"unreachable\s*: 300 points .*NaN in --out and --ply", text)
    d = load_npz(out)["distance"]
    assert np.isnan(d[300:]).all() and np.isfinite(d[:300]).all()
    column = read_geometry(ply).point["geodesic_distance"].numpy().ravel()
    assert np.isnan(column[300:]).all() and np.isfinite(column[:300]).all()
    code, text, err = run(["geodesic", tmp_path / "two.npy", "--source", "0,5", "--json"],
                          capsys)
    record = records(text)[0]
    assert record["n_unreachable"] == 300 and record["sources"] == [0, 5]
    assert record["t"] > 0 and record["options"]["source"] == [0, 5]


def test_spectrum_out_help_says_what_is_saved_and_how_to_read_it(inputs, tmp_path, capsys):
    assert main(["spectrum", "-h"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in ("stiffness K", "cell areas M", "'mass'", "o3d_meshless.load_npz"):
        assert words in text
    out = tmp_path / "w.npz"
    code, _, err = run(["spectrum", inputs / "sphere.npy", "--modes", "4", "--out", out,
                        "-q"], capsys)
    assert code == 0, err
    saved = load_npz(out)
    assert saved["K"].shape == saved["M"].shape == saved["mass"].shape == (500, 500)


# --- warnings, batches, arguments ------------------------------------------------------

def test_json_keeps_the_warnings_and_still_prints_them(inputs, capsys):
    # bun0.pcd at k = 16: two Laplacian rows stay inconsistent (a library warning)
    code, out, err = run(["laplacian", inputs / "bun0.pcd", "--json"], capsys)
    assert code == 0, err
    (warning,) = records(out)[0]["warnings"]
    assert "Laplacian rows" in warning and f"warning: {warning}" in err
    code, out, err = run(["laplacian", inputs / "bun0.pcd", "--json", "-q"], capsys)
    assert records(out)[0]["warnings"] == [warning] and err == ""


def test_warnings_name_the_cli_flags_not_the_python_api(inputs, capsys):
    code, out, err = run(["laplacian", inputs / "bun0.pcd", "--json", "-q"], capsys)
    (warning,) = records(out)[0]["warnings"]
    assert "--form weak" in warning and "--k" in warning and "failed_row column" in warning
    assert "form='weak'" not in warning and "diagnostics_" not in warning
    # the spectrum's library warning, as the CLI would show it
    library = ("stencils that failed (see diagnostics_['failed_mask']). Try normals from "
               "the mesh (give the geometry with normals; normals='auto' uses them), a "
               "larger `k`, or method='clsgsp'")
    said = cli_words(library, {"k": "--k", "method": "--method"})
    assert said == ("stencils that failed (see the failed_row column of --ply (1 = that "
                    "row)). Try normals from the mesh (an INPUT that has normals), a "
                    "larger `--k`, or --method clsgsp")


def test_failed_rows_are_a_ply_column(inputs, tmp_path, capsys):
    ply = tmp_path / "L.ply"
    code, _, err = run(["laplacian", inputs / "bun0.pcd", "--ply", ply, "-q"], capsys)
    assert code == 0, err
    failed = read_geometry(ply).point["failed_row"].numpy().ravel()
    assert failed.sum() == 2 and set(np.unique(failed)) == {0.0, 1.0}


@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_a_batch_names_each_input_and_ends_with_a_summary(inputs, tmp_path, capsys, quiet):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    files = [inputs / "sphere.npy", bad, inputs / "bunny4.ply"]
    code, out, err = run(["info", *files, *quiet], capsys)
    assert code == 2 and err.count("o3d-meshless: error:") == 1
    headers = re.findall(r"^==> (.*) <==$", out, re.M)
    assert headers == [str(f) for f in files]
    assert out.rstrip().splitlines()[-1] == "o3d-meshless: 2 ok, 1 failed (3 inputs)"


def test_json_batch_prints_only_json_lines_and_the_summary_on_stderr(inputs, capsys):
    code, out, err = run(["info", inputs / "sphere.npy", inputs / "bun0.pcd", "--json"],
                         capsys)
    assert code == 0 and [r["n_points"] for r in records(out)] == [500, 397]
    assert err.strip() == "o3d-meshless: 2 ok, 0 failed (2 inputs)"


def test_out_dir_is_created_and_a_refused_batch_leaves_none(inputs, tmp_path, capsys):
    target = tmp_path / "new" / "deeper"
    code, _, err = run(["info", inputs / "sphere.npy", "--out-dir", target, "-q"], capsys)
    assert code == 0, err
    assert (target / "sphere.info.npz").is_file()
    refused = tmp_path / "other" / "dir"
    code, _, err = run(["gradient", inputs / "sphere.npy", inputs / "bun0.pcd", "--out-dir",
                        refused, "--png", "fixed.png"], capsys)
    assert code == 2 and "{stem}" in err and not (tmp_path / "other").exists()
    code, _, err = run(["gradient", inputs / "sphere.npy", "--out-dir", refused,
                        "--out", inputs / "sphere.npy"], capsys)
    assert code == 2 and "input file" in err and not (tmp_path / "other").exists()


def test_field_lists_the_columns_and_takes_stem(inputs, tmp_path, capsys):
    code, _, err = run(["gradient", inputs / "bun0.pcd", "--field", "lb_mode_99"], capsys)
    assert code == 2 and len(err.splitlines()) == 1
    assert "not a column" in err and "curvature" in err and "not allowed" not in err
    folder = tmp_path / "in"
    folder.mkdir()
    for n in (300, 400):
        points = fibonacci_sphere(n)
        np.save(folder / f"s{n}.npy", points)
        np.save(folder / f"s{n}_f.npy", points[:, 2] * 2)      # one field per input
    code, out, err = run(["gradient", folder / "s300.npy", folder / "s400.npy", "--field",
                          folder / "{stem}_f.npy", "--json"], capsys)
    assert code == 0, err
    assert [r["options"]["field"] for r in records(out)] == [
        str(folder / "s300_f.npy"), str(folder / "s400_f.npy")]
    assert all(r["field"]["max"] == pytest.approx(2.0, abs=0.02) for r in records(out))


def test_up_and_view_take_negative_values(inputs, tmp_path, capsys, monkeypatch):
    seen = {}

    def fake_render(points, fields, path, **kw):
        seen.update(kw)

    monkeypatch.setattr("o3d_meshless.plot.render_fields", fake_render)
    code, _, err = run(["curvature", inputs / "sphere.npy", "--png", tmp_path / "c.png",
                        "--up", "-y", "--view", "-10,30", "-q"], capsys)
    assert code == 0, err
    assert seen["up"] == "-y" and seen["view"] == (-10.0, 30.0)
    code, _, err = run(["curvature", inputs / "sphere.npy", "--up", "-w"], capsys)
    assert code == 2 and "--up" in err


# --- the overwrite test ---------------------------------------------------------------

def test_every_command_on_every_input_into_one_folder(inputs, tmp_path, capsys):
    """4 inputs x 8 subcommands into one --out-dir: 32 distinct outputs, nothing
    overwritten, and one JSON line per input that a script reads without knowing the
    command."""
    files = sorted(inputs.iterdir())
    out_dir = tmp_path / "results"
    lines = []
    for command in COMMANDS:
        code, out, err = run([command, *files, "--out-dir", out_dir, "--json", "-q",
                              *FAST.get(command, [])], capsys)
        assert code == 0, err
        lines += out.splitlines()
    written = sorted(p.name for p in out_dir.iterdir())
    assert len(written) == len(files) * len(COMMANDS) == len(lines)
    assert written == sorted(f"{f.stem}.{c}.npz" for f in files for c in COMMANDS)
    for line in lines:
        record = json.loads(line)
        assert check_record(record) == []
        stem = record["input"].split("/")[-1].rsplit(".", 1)[0]
        assert record["outputs"] == [str(out_dir / f"{stem}.{record['command']}.npz")]
    # a second run refuses before any work and keeps every file
    before = {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()}
    code, out, err = run(["curvature", *files, "--out-dir", out_dir, "--json"], capsys)
    assert code == 2 and out == "" and "--force" in err
    assert {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()} == before
