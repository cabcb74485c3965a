"""Findings of the fault and security probe of issue 26: expressions cannot write into
arrays, batch outputs are checked before any job runs, non-regular outputs are refused,
OFF/OBJ headers are checked, every failure is one line and exit 2, ``load_npz`` bounds
what it inflates, a closed pipe ends quietly, and Open3D's C++ noise stays hidden."""
import errno
import io
import os
import pickle
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from o3d_meshless import as_points, read_geometry
from o3d_meshless.cli import evaluate_expression, main
from o3d_meshless.io.read import load_npz, save_npz
from o3d_meshless.testing import fibonacci_sphere

from cli_runner import run


def one_error_line(err):
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("o3d-meshless: error:") \
        and "Traceback" not in err


@pytest.fixture
def cloud(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, fibonacci_sphere(200))
    return path


# --- 1. expressions ----------------------------------------------------------------

@pytest.mark.parametrize("expr", ["sin(x, x)", "minimum(x, 0, x)", "arctan2(y, x, x)",
                                  "abs(x, y)", "sqrt()"])
def test_a_function_given_an_extra_argument_is_refused_and_writes_nothing(expr):
    points = fibonacci_sphere(50)
    before = points.copy()
    with pytest.raises(ValueError, match="takes exactly"):
        evaluate_expression(expr, points)
    np.testing.assert_array_equal(points, before)


def test_expressions_never_modify_the_callers_points():
    points = fibonacci_sphere(50)
    before = points.copy()
    got = evaluate_expression("minimum(x, y) + arctan2(y, x) - sin(z)", points)
    np.testing.assert_allclose(got, np.minimum(before[:, 0], before[:, 1])
                               + np.arctan2(before[:, 1], before[:, 0]) - np.sin(before[:, 2]))
    np.testing.assert_array_equal(points, before)


def test_cli_refuses_an_output_argument_in_field(cloud, tmp_path, capsys):
    code, _, err = run(["gradient", cloud, "--field", "sin(x, x)", "-q",
                        "--out", tmp_path / "g.npz"], capsys)
    assert code == 2 and one_error_line(err) and "sin() takes exactly 1 argument" in err
    assert not (tmp_path / "g.npz").exists()


def test_a_400_digit_literal_is_one_line(cloud, capsys):
    code, _, err = run(["gradient", cloud, "--field", "1" * 400, "-q"], capsys)
    assert code == 2 and one_error_line(err) and "too large for a float" in err


# --- 2. batch outputs checked up front ----------------------------------------------

def test_two_inputs_with_one_stem_are_refused_before_any_job(tmp_path, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        np.save(tmp_path / folder / "t.npy", fibonacci_sphere(200))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = run(["gradient", tmp_path / "a" / "t.npy", tmp_path / "b" / "t.npy",
                          "--out-dir", out_dir, "--json"], capsys)
    assert code == 2 and one_error_line(err) and "would be written for both" in err
    assert out == "" and list(out_dir.iterdir()) == []


def test_an_output_that_is_another_input_is_refused_before_any_job(tmp_path, monkeypatch,
                                                                    capsys):
    import open3d as o3d

    monkeypatch.chdir(tmp_path)
    np.save("t.npy", fibonacci_sphere(200))
    o3d.io.write_point_cloud("t.ply", o3d.geometry.PointCloud(
        o3d.utility.Vector3dVector(fibonacci_sphere(300))))
    before = (tmp_path / "t.ply").read_bytes()
    code, out, err = run(["gradient", "t.npy", "t.ply", "--ply", "{stem}.ply"], capsys)
    assert code == 2 and one_error_line(err) and "is the input 't.ply' of this batch" in err
    assert out == "" and (tmp_path / "t.ply").read_bytes() == before


# --- 3. outputs that are not regular files ------------------------------------------

def test_a_fifo_given_as_output_is_refused_and_kept(cloud, tmp_path, capsys):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    code, _, err = run(["gradient", cloud, "--out", fifo, "-q"], capsys)
    assert code == 2 and one_error_line(err) and "not a regular file" in err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_device_node_given_as_output_is_refused_and_kept(cloud, tmp_path, capsys):
    node = tmp_path / "null.ply"
    try:                                   # a private copy of /dev/null (needs root)
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("creating a device node needs root")
    code, _, err = run(["gradient", cloud, "--ply", node, "-q"], capsys)
    assert code == 2 and one_error_line(err) and "not a regular file" in err
    assert stat.S_ISCHR(os.lstat(node).st_mode)


# --- 4. OFF / OBJ header consistency ------------------------------------------------

def _off(vertices, faces, counts=None):
    counts = counts or f"{len(vertices)} {len(faces)} 0"
    return "OFF\n" + counts + "\n" + "".join(f"{a} {b} {c}\n" for a, b, c in vertices) \
        + "".join(f"3 {a} {b} {c}\n" for a, b, c in faces)


TETRA_V = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]
TETRA_F = [(0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)]


@pytest.mark.parametrize("counts, why", [
    ("-2 -1 0", "non-negative integers"),
    ("4 400000 0", "declares 4 vertices and 400000 faces"),
    ("3 4 0", "declares 3 vertices and 4 faces"),
    ("4", "non-negative integers"),
])
def test_off_counts_that_disagree_with_the_data_are_refused(tmp_path, counts, why):
    path = tmp_path / "m.off"
    path.write_text(_off(TETRA_V, TETRA_F, counts))
    with pytest.raises(ValueError, match=why) as err:
        read_geometry(path)
    assert "m.off" in str(err.value)


@pytest.mark.parametrize("face", [(0, 1, 7), (0, -1, 2)])
def test_off_face_indices_outside_the_vertices_are_refused(tmp_path, face):
    path = tmp_path / "m.off"
    path.write_text(_off(TETRA_V, TETRA_F[:3] + [face]))
    with pytest.raises(ValueError, match="each in 0..3") as err:
        read_geometry(path)
    assert "m.off" in str(err.value)


def test_a_consistent_off_still_reads(tmp_path):
    path = tmp_path / "m.off"
    path.write_text("# a comment\n" + _off(TETRA_V, TETRA_F))
    geom = read_geometry(path)
    np.testing.assert_array_equal(as_points(geom), np.asarray(TETRA_V, dtype=float))
    assert len(geom.faces) == 4


@pytest.mark.parametrize("face, why", [("f 0 1 2", "face index 0: OBJ vertex indices start"),
                                       ("f 1 2 9", "face index 9: the file has 4 vertices"),
                                       ("f -1 -2 -7", "face index -7")])
def test_obj_face_indices_outside_the_vertices_are_refused(tmp_path, face, why):
    path = tmp_path / "m.obj"
    path.write_text("".join(f"v {a} {b} {c}\n" for a, b, c in TETRA_V) + face + "\n")
    with pytest.raises(ValueError, match=why) as err:
        read_geometry(path)
    assert "m.obj" in str(err.value)


def test_obj_relative_indices_still_read(tmp_path):
    path = tmp_path / "m.obj"
    path.write_text("".join(f"v {a} {b} {c}\n" for a, b, c in TETRA_V) + "f -1 -2 -3\n")
    assert read_geometry(path).faces.tolist() == [[3, 2, 1]]


# --- 5. one line and exit 2 ----------------------------------------------------------

def _unwritable_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return folder
    (folder / "probe").unlink()            # root writes anyway; /sys refuses even root
    try:
        open("/sys/o3d_meshless_probe", "wb").close()
    except OSError:
        return "/sys"
    os.unlink("/sys/o3d_meshless_probe")
    pytest.skip("no folder here refuses new files")


def test_an_unwritable_output_folder_is_refused_before_the_work(cloud, tmp_path, capsys):
    folder = _unwritable_folder(tmp_path)
    code, out, err = run(["gradient", cloud, "--out", f"{folder}/g.npz"], capsys)
    assert code == 2 and one_error_line(err) and "cannot write in the folder" in err
    assert "timings" not in out                                     # nothing computed


def test_a_full_disk_at_the_end_is_one_line(cloud, tmp_path, monkeypatch, capsys):
    from o3d_meshless.io import atomic

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(atomic.os, "replace", full)
    code, _, err = run(["gradient", cloud, "--out", tmp_path / "g.npz", "-q"], capsys)
    assert code == 2 and one_error_line(err) and "No space left on device" in err
    assert list(tmp_path.glob("*g.npz*")) == []                    # temporary file removed


def test_memory_error_without_a_message_is_one_line(cloud, monkeypatch, capsys):
    from o3d_meshless.io import read as om_io

    def no_memory(*_):
        raise MemoryError()
    monkeypatch.setattr(om_io, "read_geometry", no_memory)
    code, _, err = run(["gradient", cloud, "-q"], capsys)
    assert code == 2 and one_error_line(err) and "out of memory (no detail)" in err


def test_a_solver_that_gives_up_is_one_line(cloud, monkeypatch, capsys):
    from scipy.sparse.linalg import ArpackNoConvergence

    from o3d_meshless.io import read as om_io

    def gives_up(*_):
        raise ArpackNoConvergence("ARPACK error -1: No convergence", np.zeros(0),
                                  np.zeros((0, 0)))
    monkeypatch.setattr(om_io, "read_geometry", gives_up)
    code, _, err = run(["spectrum", cloud, "-q"], capsys)
    assert code == 2 and one_error_line(err) and "ArpackNoConvergence: ARPACK error" in err


def _ply_header(count, body=b"", fmt="ascii"):
    return (f"ply\nformat {fmt} 1.0\nelement vertex {count}\nproperty float x\n"
            "property float y\nproperty float z\nend_header\n").encode() + body


@pytest.mark.parametrize("fmt", ["ascii", "binary_little_endian"])
def test_a_header_declaring_2_to_the_40_vertices_is_one_line(tmp_path, capsys, fmt):
    path = tmp_path / "huge.ply"
    path.write_bytes(_ply_header(2 ** 40, b"0 0 0\n" if fmt == "ascii" else bytes(12), fmt))
    code, _, err = run(["info", path], capsys)
    assert code == 2 and one_error_line(err) and "promises 1099511627776 vertices" in err


def test_open3d_runtime_errors_become_a_clean_value_error(tmp_path, monkeypatch):
    import open3d as o3d

    def fails(_):
        raise RuntimeError("\x1b[1;31m[Open3D Error] (bool ReadPointCloudFromPLY(...)) "
                           "/src/FilePLY.cpp:243: Total size of property x is wrong.\x1b[0;m")
    path = tmp_path / "p.ply"
    path.write_bytes(_ply_header(1, b"0 0 0\n"))
    monkeypatch.setattr(o3d.t.io, "read_point_cloud", fails)
    with pytest.raises(ValueError) as err:
        read_geometry(path)
    assert str(err.value) == ("`path` " + repr(str(path)) + " could not be read (Total size "
                              "of property x is wrong.)")


# --- 6. load_npz ---------------------------------------------------------------------

def test_load_npz_refuses_a_zip_bomb_without_inflating_it(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    n = 300 << 20                                     # 300 MiB of zeros, ~0.3 MB zipped
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("a.npy", "w") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": "|u1", "fortran_order": False, "shape": (n,)})
            for _ in range(n >> 24):
                fh.write(bytes(1 << 24))
    assert path.stat().st_size < 3 << 20

    def never(*_a, **_k):
        raise AssertionError("a member was opened")
    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    with pytest.raises(ValueError, match="max_bytes"):
        load_npz(path)


def test_load_npz_max_bytes_lets_genuine_data_through(tmp_path):
    path = save_npz(tmp_path / "z.npz", zeros=np.zeros(1000))
    assert load_npz(path, max_bytes=10 ** 4)["zeros"].shape == (1000,)
    with pytest.raises(ValueError, match="max_bytes"):
        load_npz(path, max_bytes=100)
    with pytest.raises(ValueError, match="`max_bytes` must be"):
        load_npz(path, max_bytes=-1)


def test_load_npz_refuses_a_raw_pickle_member(tmp_path):
    path = tmp_path / "p.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.npy", pickle.dumps({"x": [1, 2]}))
    with pytest.raises(ValueError, match="magic string"):
        load_npz(path)


def test_load_npz_refuses_a_header_claiming_2_to_the_40_floats(tmp_path):
    path = tmp_path / "h.npz"
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        member, {"descr": "<f8", "fortran_order": False, "shape": (2 ** 40,)})
    member.write(bytes(16))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.npy", member.getvalue())
    with pytest.raises(ValueError, match="promises shape"):
        load_npz(path)


def test_load_npz_refuses_a_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "x.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.ones(3))
    with pytest.raises(ValueError, match="not an .npz file"):
        load_npz(path)


def test_load_npz_returns_writable_arrays_in_their_order(tmp_path):
    a = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    got = load_npz(save_npz(tmp_path / "o.npz", a=a, s="text"))
    np.testing.assert_array_equal(got["a"], a)
    assert got["a"].flags.writeable and str(got["s"]) == "text"


# --- 7. a closed pipe ----------------------------------------------------------------

def test_a_closed_stdout_ends_quietly(cloud, monkeypatch, capsys):
    class Closed(io.StringIO):
        def write(self, _):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
    monkeypatch.setattr(sys, "stdout", Closed())
    code = main(["info", str(cloud), str(cloud)])
    assert code == 141 and capsys.readouterr().err == ""


def test_info_piped_into_a_closed_reader_exits_without_a_traceback(tmp_path):
    # `true` exits without reading: every write of the command meets a closed pipe
    paths = []
    for i in range(2):
        paths.append(tmp_path / f"c{i}.npy")
        np.save(paths[-1], fibonacci_sphere(100 + i))
    proc = subprocess.run(f"{sys.executable} -m o3d_meshless info "
                          + " ".join(str(p) for p in paths) + " | true",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert proc.stderr == ""


# --- 8. Open3D's C++ messages ---------------------------------------------------------

def test_rply_noise_stays_off_stderr(tmp_path, capfd):
    path = tmp_path / "bad.ply"
    path.write_text("not a ply file\n")
    code = main(["info", str(path)])
    err = capfd.readouterr().err
    assert code == 2 and one_error_line(err)
    assert "Wrong magic number" in err              # kept, inside our one line
