"""The automatic up beyond the six axes (issue 26): an ``up`` given as any 3-vector, a
shape stored tilted by an arbitrary rotation stood on its own base, a chair (thin legs,
taller than wide) stood on its legs, a room scanned from inside drawn floor down."""
from pathlib import Path

import numpy as np
import pytest

from o3d_meshless.plot import auto_up, auto_view, render_fields
from o3d_meshless.plot.view import _camera, _check_up
from test_view_choice import (ROTATIONS, _box_faces, _cylinder, _signed_axis, statue,
                              statue_front_scan)


# ----------------------------------------------------------------------------- shapes (z up)
def chair(seed=0, n=6000):
    """Four thin legs (0.45 high), a 0.5 x 0.5 seat and a back rising to 1.1 flush with
    the rear legs: taller than wide. Points by area, outward normals."""
    rng = np.random.default_rng(seed)
    parts = []
    area = {"leg": 4 * 2 * np.pi * 0.02 * 0.45, "seat": 2 * 0.25 + 4 * 0.5 * 0.04,
            "back": 2 * 0.5 * 0.6 + 2 * 0.6 * 0.04 + 2 * 0.5 * 0.04}
    per = n / sum(area.values())
    for x in (-0.22, 0.22):
        for y in (-0.22, 0.22):
            parts.append(_cylinder(0.02, 0.0, 0.45, int(per * area["leg"] / 4), rng, (x, y)))
    parts.append(_box_faces((-0.25, -0.25, 0.45), (0.25, 0.25, 0.49), int(per * area["seat"]),
                            rng))
    parts.append(_box_faces((-0.25, -0.25, 0.49), (0.25, -0.21, 1.1), int(per * area["back"]),
                            rng))
    return np.vstack([p for p, _ in parts]), np.vstack([q for _, q in parts])


def room_raycast(seed=0, ceiling=True):
    """A 5 x 4 x 2.6 room with a table, scanned by rays from (2.5, 1.3, 1.5): 200 degrees
    around (the wall behind the scanner unseen), from 55 degrees below to 35 degrees
    above the horizon (a strip of the ceiling; none with ``ceiling=False``). Returns
    the hit points and their normals facing the scanner."""
    import open3d as o3d

    rng = np.random.default_rng(seed)
    scene = o3d.t.geometry.RaycastingScene()
    for lo, hi in (((0, 0, -0.1), (5, 4, 0)), ((-0.1, 0, 0), (0, 4, 2.6)),
                   ((5, 0, 0), (5.1, 4, 2.6)), ((0, 4, 0), (5, 4.1, 2.6)),
                   ((0, -0.1, 0), (5, 0, 2.6)), ((0, 0, 2.6), (5, 4, 2.7)),
                   ((2.8, 2.4, 0.72), (4.2, 3.3, 0.76)),              # table top
                   ((2.85, 2.45, 0), (2.9, 2.5, 0.72)), ((4.1, 2.45, 0), (4.15, 2.5, 0.72)),
                   ((2.85, 3.2, 0), (2.9, 3.25, 0.72)), ((4.1, 3.2, 0), (4.15, 3.25, 0.72))):
        box = o3d.t.geometry.TriangleMesh.create_box(*(np.subtract(hi, lo)))
        scene.add_triangles(box.translate(np.asarray(lo, float)))
    eye = np.array([2.5, 1.3, 1.5])
    top = 35.0 if ceiling else 10.0
    az = np.radians(rng.uniform(-10.0, 190.0, 30000))
    el = np.radians(rng.uniform(-55.0, top, 30000))
    d = np.column_stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    rays = np.hstack([np.tile(eye, (len(d), 1)), d]).astype(np.float32)
    hit = scene.cast_rays(o3d.core.Tensor(rays))
    t = hit["t_hit"].numpy()
    ok = np.isfinite(t)
    p = eye + d[ok] * t[ok, None]
    nrm = hit["primitive_normals"].numpy()[ok].astype(float)
    nrm *= -np.sign(np.einsum("ij,ij->i", nrm, d[ok]))[:, None]       # towards the scanner
    p += rng.normal(scale=0.003, size=p.shape)
    if not ceiling:
        keep = p[:, 2] < 2.55
        p, nrm = p[keep], nrm[keep]
    return p, nrm


def random_rotations(k, seed):
    """``k`` random rotations (uniform, QR of Gaussian matrices, det +1)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        q, r = np.linalg.qr(rng.normal(size=(3, 3)))
        q *= np.sign(np.diag(r))
        out.append(q if np.linalg.det(q) > 0 else -q)
    return out


def _angle(up, R, true_up=(0.0, 0.0, 1.0)):
    """Degrees between the chosen up (of the shape turned by R) and the shape's own up."""
    from o3d_meshless.plot.upright import _unit

    u = R.T @ _unit(up)
    return float(np.degrees(np.arccos(np.clip(u @ np.asarray(true_up), -1.0, 1.0))))


# ----------------------------------------------------------------------------- up: any vector
def test_up_accepts_any_vector():
    assert _check_up((0, 2, 0)) == "y" and _check_up("0,0,-3") == "-z"
    v = _check_up("0,1,0.3")
    assert isinstance(v, tuple) and np.isclose(np.linalg.norm(v), 1.0)
    assert np.allclose(v, np.array([0, 1, 0.3]) / np.linalg.norm([0, 1, 0.3]))
    for bad in ((0, 0, 0), (np.nan, 1, 0), (1, 2), "up", "1,x,2"):
        with pytest.raises(ValueError, match="`up`"):
            _check_up(bad)
    # the camera keeps the given vector vertical on the screen
    up = (0.3, -0.2, 1.0)
    right, upward, toward = _camera((0.0, 40.0), up)
    assert np.allclose(upward, np.asarray(up) / np.linalg.norm(up))
    assert np.isclose(np.cross(right, upward) @ toward, 1.0)      # right-handed, orthonormal


def test_render_with_a_vector_up():
    p, n = statue()
    R = random_rotations(1, seed=3)[0]
    up = tuple(R @ [0.0, 0.0, 1.0])
    fig = render_fields(p @ R.T, {"z": p[:, 2]}, normals=n @ R.T, up=up)
    assert np.allclose(fig.o3d_view["up"], up)
    with pytest.raises(ValueError, match="`up`"):
        render_fields(p, {"z": p[:, 2]}, up=(0.0, 0.0, 0.0))


def test_cli_up_takes_a_vector_and_negative_axes():
    from o3d_meshless.cli import _join_negative_values, build_parser

    parser = build_parser()

    def up(*argv):
        return parser.parse_args(["spectrum", "x.ply", *_join_negative_values(list(argv))]).up

    assert up("--up", "-y") == "-y" and up("--up=-x") == "-x" and up("--up", "auto") == "auto"
    assert np.allclose(up("--up", "0,1,0.3"), np.array([0, 1, 0.3]) / np.hypot(1, 0.3))
    assert np.allclose(up("--up=-0.2,1,0"), np.array([-0.2, 1, 0]) / np.hypot(1, 0.2))
    assert np.allclose(up("--up", "-0.2,1,0"), np.array([-0.2, 1, 0]) / np.hypot(1, 0.2))
    assert np.allclose(up("--up", "-.5,1e-1,2"), np.array([-0.5, 0.1, 2]) / np.linalg.norm([-0.5, 0.1, 2]))
    with pytest.raises(SystemExit):
        up("--up", "0,0,0")


# ----------------------------------------------------------------------------- tilted shapes
TILTED = {"statue": lambda: statue(), "statue, no normals": lambda: (statue()[0], None),
          "chair": lambda: chair(), "chair, no normals": lambda: (chair()[0], None),
          "room scan": lambda: room_raycast(),
          "room scan, no ceiling": lambda: room_raycast(ceiling=False)}


@pytest.mark.parametrize("name", list(TILTED))
def test_a_shape_stored_tilted_stands_on_its_own_base(name):
    p, n = TILTED[name]()
    for R in random_rotations(3, seed=11):
        up = auto_up(p @ R.T, None if n is None else n @ R.T)
        assert not isinstance(up, str), (name, up)           # not one of the axes
        assert _angle(up, R) < 10.0, (name, up, _angle(up, R))


def test_axis_aligned_shapes_keep_axis_names():
    for make in (statue, statue_front_scan, chair):
        p, n = make()
        assert auto_up(p, n) == "z" and auto_up(p) == "z"


# ----------------------------------------------------------------------------- chair, room
def test_a_chair_stands_on_its_legs():
    p, n = chair()
    for R in ROTATIONS[::3]:                                 # axis-aligned orientations
        up, view = auto_view(p @ R.T, n @ R.T)
        assert _angle(up, R) < 1e-6, (R.tolist(), up)
    for seed in range(1, 4):                                 # other samples, no normals
        assert auto_up(chair(seed)[0]) == "z"


@pytest.mark.parametrize("ceiling", [True, False])
def test_a_room_scanned_from_inside_has_its_floor_down(ceiling):
    p, n = room_raycast(ceiling=ceiling)
    for R in ROTATIONS[::4]:
        assert _angle(auto_up(p @ R.T, n @ R.T), R) < 1e-6        # normals facing the scanner
        assert _angle(auto_up(p @ R.T), R) < 1e-6                 # no normals


def test_a_room_without_normals_is_seen_from_inside():
    # floor and three walls: two of them face each other, which no scanner outside
    # sees; the normals are turned towards the inside and the floor is down
    from test_view_choice import room_scan

    p, _ = room_scan()
    assert auto_up(p) == "z" and auto_up(-p) == "-z"


# ----------------------------------------------------------------------------- real scans
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.parametrize("name", ["bun000.ply", "bun0.pcd"])
def test_a_raw_scan_is_not_laid_on_its_back(name):
    """Two bunny scans, y up: bun000.ply (one range image with loose fragments, no
    normals) and bun0.pcd (397 points with normals). Seen from behind, a scan's far rim
    and fragments look like three feet, and its far face like a flat base, along the
    scanner's direction: each once made a tilted 'base' that laid the bunny on its back."""
    import open3d as o3d

    if not (DATA / name).exists():
        pytest.skip("needs ../shared/data")
    cloud = o3d.io.read_point_cloud(str(DATA / name))
    points = np.asarray(cloud.points)
    normals = np.asarray(cloud.normals) if cloud.has_normals() else None
    for R in ROTATIONS[::8]:
        up = auto_up(points @ R.T, None if normals is None else normals @ R.T)
        assert isinstance(up, str), up
        assert np.allclose(R.T @ _signed_axis(up), [0.0, 1.0, 0.0])
