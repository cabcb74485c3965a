"""Smoke test: the example scripts run as a user would run them and write their outputs."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run_example(name, outdir):
    env = dict(os.environ)
    # the package from this checkout, whether or not it is installed
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), "--outdir", str(outdir)],
                          cwd=outdir, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _nonempty(path, magic=None):
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert len(data) > 1000
    if magic is not None:
        assert data.startswith(magic)


def test_open3d_scan_spectrum(tmp_path):
    pytest.importorskip("open3d")
    out = run_example("open3d_scan_spectrum.py", tmp_path)
    assert "mode  1: lambda" in out
    _nonempty(tmp_path / "scan_modes.png", b"\x89PNG")
    _nonempty(tmp_path / "scan_modes.ply", b"ply")
    header = (tmp_path / "scan_modes.ply").read_bytes()[:4000]
    assert b"lb_mode_1" in header and b"red" in header


def test_trimesh_pipeline(tmp_path):
    pytest.importorskip("trimesh")
    out = run_example("trimesh_pipeline.py", tmp_path)
    assert "|grad f|" in out
    _nonempty(tmp_path / "mesh_gradient.png", b"\x89PNG")
    _nonempty(tmp_path / "mesh_gradient.ply", b"ply")
    header = (tmp_path / "mesh_gradient.ply").read_bytes()[:4000]
    assert b"grad_norm" in header and b"element face" in header


def test_geometry_toolkit(tmp_path):
    pytest.importorskip("open3d")
    out = run_example("geometry_toolkit.py", tmp_path)
    assert "geodesic: max distance" in out and "Poisson:" in out
    _nonempty(tmp_path / "geometry_toolkit.png", b"\x89PNG")
