"""File-fault matrix: every reader × every way a file goes bad.

Each broken file must be refused with a ValueError that names the file (the CLI then
exits 2 with one line), or, where nothing in the file says it is incomplete, be read
with a warning; never read silently as zeros, skipped lines or uninitialised memory.
"""
import io
import pickle
import warnings

import numpy as np
import pytest

from o3d_meshless import as_points, read_geometry
from o3d_meshless.cli import main

N = 60


def _points():
    rng = np.random.default_rng(3)
    p = rng.normal(size=(N, 3))
    return p / np.linalg.norm(p, axis=1)[:, None]


def _good_files(folder):
    """One well-formed file per reader, written by the library that owns the format."""
    import open3d as o3d
    import trimesh

    p = _points()
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p))
    files = {}
    for name, kw in [("bin.ply", {}), ("asc.ply", {"write_ascii": True}),
                     ("bin.pcd", {}), ("asc.pcd", {"write_ascii": True})]:
        files[name] = folder / name
        o3d.io.write_point_cloud(str(files[name]), pcd, **kw)
    files["plain.xyz"] = folder / "plain.xyz"
    np.savetxt(files["plain.xyz"], p)
    files["plain.xyzn"] = folder / "plain.xyzn"
    np.savetxt(files["plain.xyzn"], np.c_[p, p])
    files["plain.pts"] = folder / "plain.pts"
    files["plain.pts"].write_text(f"{N}\n" + "".join(f"{a:.17g} {b:.17g} {c:.17g}\n" for a, b, c in p))
    mesh = trimesh.creation.icosphere(1)
    for ext in ("obj", "off"):
        files[f"mesh.{ext}"] = folder / f"mesh.{ext}"
        mesh.export(files[f"mesh.{ext}"])
    files["arr.npy"] = folder / "arr.npy"
    np.save(files["arr.npy"], p)
    return files


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return _good_files(tmp_path_factory.mktemp("good"))


READERS = ["bin.ply", "asc.ply", "bin.pcd", "asc.pcd", "plain.xyz", "plain.xyzn",
           "plain.pts", "mesh.obj", "mesh.off", "arr.npy"]


def _npy_bytes(arr, **kw):
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


def _with_nan(name, data):
    """The file with one coordinate replaced by NaN, in the file's own encoding."""
    if name == "arr.npy":
        p = _points()
        p[5, 1] = np.nan
        return _npy_bytes(p)
    if name in ("bin.ply", "bin.pcd"):
        return None                                  # covered by the writer test below
    lines = data.split(b"\n")
    # the sixth line from the end holds numbers in every text format used here
    words = lines[-6].split()
    words[1] = b"nan"
    lines[-6] = b" ".join(words)
    return b"\n".join(lines)


def _with_bad_number(name, data):
    if name in ("bin.ply", "bin.pcd", "arr.npy"):
        return None
    lines = data.split(b"\n")
    words = lines[-6].split()
    words[1] = b"0.5x"
    lines[-6] = b" ".join(words)
    return b"\n".join(lines)


def _lying_header(name, data):
    """Headers (where the format has one) promising more points than the file holds."""
    promise = {"bin.ply": (b"element vertex 60", b"element vertex 99"),
               "asc.ply": (b"element vertex 60", b"element vertex 99"),
               "bin.pcd": (b"POINTS 60", b"POINTS 99"),
               "asc.pcd": (b"POINTS 60", b"POINTS 99"),
               "plain.pts": (b"60\n", b"99\n")}.get(name)
    if promise is None:
        return None
    return data.replace(promise[0], promise[1], 1)


FAULTS = {
    "empty": lambda name, data: b"",
    "half": lambda name, data: data[: len(data) // 2],
    "garbage": lambda name, data: bytes(np.random.default_rng(7).integers(0, 256, 700,
                                                                          dtype=np.uint8)),
    "pickle": lambda name, data: pickle.dumps({"points": [1, 2, 3]}),
    "nan": _with_nan,
    "bad_number": _with_bad_number,
    "lying_header": _lying_header,
}


def _write_fault(good, tmp_path, name, fault):
    data = good[name].read_bytes()
    broken = FAULTS[fault](name, data)
    if broken is None:
        pytest.skip(f"{fault} does not apply to {name}")
    path = tmp_path / f"{fault}_{name}"
    path.write_bytes(broken)
    return path


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("name", READERS)
def test_broken_files_are_refused_naming_the_file(good, tmp_path, name, fault):
    path = _write_fault(good, tmp_path, name, fault)
    if fault == "half" and name in ("plain.xyz", "plain.xyzn", "mesh.obj"):
        # no header says how many points there are: a cut at a line end reads the
        # complete lines; a cut inside a line is refused or warned about
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                got = as_points(read_geometry(path))
            except ValueError as err:
                assert path.name in str(err)
                return
        assert any("line break" in str(w.message) for w in caught)
        assert 0 < len(got) < N + 50 and np.isfinite(got).all()
        return
    with pytest.raises(ValueError) as err:
        as_points(read_geometry(path))
    assert path.name in str(err.value) or "`geometry` must be finite" in str(err.value)


def test_good_files_read_exactly(good):
    p = _points()
    for name in READERS[:7] + ["arr.npy"]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = as_points(read_geometry(good[name]))
        tol = 1e-6 if name.endswith(("ply", "pcd")) else 1e-15   # Open3D writes float32 / %g
        np.testing.assert_allclose(got, p, rtol=0, atol=tol, err_msg=name)


def test_binary_ply_with_nan_is_refused(tmp_path):
    from o3d_meshless.io.read import save_ply

    p = _points()
    p[4, 2] = np.nan
    path = tmp_path / "nan.ply"
    save_ply(path, np.nan_to_num(p))
    # write the NaN in place in the binary body (save_ply itself refuses NaN points)
    data = bytearray(path.read_bytes())
    body = data.index(b"end_header\n") + len(b"end_header\n")
    row = (len(data) - body) // N
    data[body + 4 * row + 16: body + 4 * row + 24] = np.float64(np.nan).tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="finite"):
        as_points(read_geometry(path))


def test_pts_without_a_count_line_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "nocount.pts"
    path.write_text("1 2 3\n4 5 6\n7 8 9\n")
    with pytest.raises(ValueError, match=r"number of points.*name the file \.xyz"):
        read_geometry(path)


def test_xyz_lines_open3d_would_skip_are_refused(tmp_path):
    path = tmp_path / "skips.xyz"
    path.write_text("1 2 3\n4 5 6\nx 8 9\n1 1 1\n")    # Open3D drops the third line
    with pytest.raises(ValueError, match="skips.xyz.*cannot be read"):
        read_geometry(path)


@pytest.mark.parametrize("name", ["asc.ply", "plain.pts", "bin.pcd"])
@pytest.mark.parametrize("fault", ["half", "lying_header", "bad_number"])
def test_cli_exits_2_with_one_line_on_broken_files(good, tmp_path, capsys, name, fault):
    path = _write_fault(good, tmp_path, name, fault)
    code = main(["laplacian", str(path), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("o3d-meshless: error:") and len(err.splitlines()) == 1
    assert "Traceback" not in err
