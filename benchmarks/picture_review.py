"""Pictures for review: 15 shapes, each in 3 random axis-aligned orientations, drawn with
the default (automatic) view, written as PNGs into a folder.

    python benchmarks/picture_review.py OUTDIR [--seed 0] [--only NAME ...]

Every picture is drawn by :func:`o3d_meshless.plot.render_fields` with ``up="auto"`` and
no ``view``, the same call the CLI's ``--png`` makes. The left panel is coloured by the
height along the shape's *true* up axis (so an upright picture has yellow at the top and
purple at the bottom), the right panel shows the tangential gradient of that height as
arrows (the arrows must point up the picture). The file name says the shape and the
orientation; the title repeats the chosen ``up`` / ``view``.

The orientations are drawn at random (seeded) from the 24 rotations of the cube
(axis-aligned: the shape is turned, never mirrored). ``--only`` picks shapes by name.

Provenance of the shapes
------------------------
Made here, procedurally (seeded, no downloads):

- ``statue_on_plinth``: a figure built from primitives (Open3D ``create_box`` plinth,
  ``create_cylinder`` legs and body, ``create_sphere`` head, one arm raised, one
  ``create_cylinder`` arm down) standing on a box plinth; surface points sampled
  uniformly (``sample_points_uniformly``), normals from the triangles.
- ``statue_scan``: the same statue seen by one simulated range scan: rays cast with
  Open3D's ``RaycastingScene`` from a pinhole camera in front, a little above; normals
  of the hit triangles, turned towards the camera (as a scanner delivers them).
- ``box_scan``: a 3 x 2 x 1 box on the floor (floor not scanned) seen from one
  camera above one corner (``RaycastingScene``), normals towards the camera.
- ``room_scan``: the inside of a 6 x 4 x 2.5 room (floor, four walls, no ceiling)
  with a table, scanned from one position inside, at 1.6 m, looking at a corner;
  normals towards the scanner.
- ``terrain``: a height field patch, hills on a plain (sum of Gaussian bumps, seeded)
  over a jittered grid; no normals (estimated by the renderer).
- ``closed_box``: a closed 3 x 2 x 1 box, surface sampled uniformly.
- ``vase``: a closed surface of revolution standing on its flat foot.
- ``chair``: four legs, a seat and a back (boxes), sampled uniformly.

Shipped inputs from ``/work/shared/data`` (see its README for the sources): the raw
Stanford scan ``bun000.ply`` (y up), ``bun0.pcd`` (397 points with normals), the
bunny meshes ``bun_zipper_res2.ply`` and ``bunny.off``, ``cow.off``, ``cow.obj``, and
Keenan Crane's Spot ``spot_triangulated.obj``; their vertices are used as points.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

DATA = pathlib.Path("/work/shared/data")


# ----------------------------------------------------------------------------- shapes
def _o3d():
    import open3d as o3d

    return o3d


def _box(o3d, size, corner):
    m = o3d.geometry.TriangleMesh.create_box(*size)
    m.translate(corner)
    return m


def _cyl(o3d, r, h, base, axis=(0, 0, 1)):
    m = o3d.geometry.TriangleMesh.create_cylinder(radius=r, height=h, resolution=24)
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(z, axis)
    if np.linalg.norm(v) > 1e-9:
        R = o3d.geometry.get_rotation_matrix_from_axis_angle(
            v / np.linalg.norm(v) * np.arccos(np.clip(z @ axis, -1, 1)))
        m.rotate(R, center=(0, 0, 0))
    m.translate(np.asarray(base, float) + axis * h / 2)
    return m


def statue_mesh():
    """A figure on a plinth, z up, from Open3D primitives."""
    o3d = _o3d()
    parts = [
        _box(o3d, (1.2, 0.9, 0.35), (-0.6, -0.45, 0.0)),          # plinth
        _cyl(o3d, 0.11, 1.0, (-0.16, 0.0, 0.35)),                 # legs
        _cyl(o3d, 0.11, 1.0, (0.16, 0.0, 0.35)),
        _cyl(o3d, 0.28, 0.9, (0.0, 0.0, 1.3)),                    # body
        _cyl(o3d, 0.08, 0.75, (-0.3, 0.0, 2.1), axis=(-0.5, 0.0, 0.9)),  # arm raised
        _cyl(o3d, 0.08, 0.75, (0.33, 0.0, 2.1), axis=(0.15, 0.1, -1.0)),  # arm down
    ]
    head = o3d.geometry.TriangleMesh.create_sphere(radius=0.2, resolution=24)
    head.translate((0.0, 0.0, 2.45))
    nose = o3d.geometry.TriangleMesh.create_sphere(radius=0.05, resolution=12)
    nose.translate((0.0, -0.2, 2.45))                            # the face looks at -y
    mesh = head + nose
    for p in parts:
        mesh += p
    mesh.compute_triangle_normals()
    return mesh


def _sample(mesh, n, seed):
    o3d = _o3d()
    o3d.utility.random.seed(seed)
    pc = mesh.sample_points_uniformly(number_of_points=n, use_triangle_normal=True)
    return np.asarray(pc.points), np.asarray(pc.normals)


def _scan(mesh, eye, centre, up, width=160, height=120, fov=50.0):
    """One pinhole range scan of ``mesh``: hit points and normals towards the camera."""
    o3d = _o3d()
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.t.geometry.TriangleMesh.from_legacy(mesh))
    rays = scene.create_rays_pinhole(fov_deg=fov, center=list(centre), eye=list(eye),
                                     up=list(up), width_px=width, height_px=height)
    ans = scene.cast_rays(rays)
    t = ans["t_hit"].numpy().ravel()
    r = rays.numpy().reshape(-1, 6)
    hit = np.isfinite(t)
    pts = r[hit, :3] + t[hit, None] * r[hit, 3:]
    nrm = ans["primitive_normals"].numpy().reshape(-1, 3)[hit]
    nrm *= np.where(np.einsum("ij,ij->i", nrm, r[hit, 3:]) > 0, -1.0, 1.0)[:, None]
    return pts, nrm


def statue_on_plinth():
    return (*_sample(statue_mesh(), 12000, 1), "z")


def statue_scan():
    p, n = _scan(statue_mesh(), eye=(0.9, -4.5, 2.2), centre=(0, 0, 1.2), up=(0, 0, 1),
                 width=120, height=160)
    return p, n, "z"


def _box_mesh(o3d, size, corner=(0, 0, 0)):
    m = _box(o3d, size, corner)
    m.compute_triangle_normals()
    return m


def box_scan():
    o3d = _o3d()
    p, n = _scan(_box_mesh(o3d, (3.0, 2.0, 1.0)), eye=(6.0, -4.0, 3.5),
                 centre=(1.5, 1.0, 0.3), up=(0, 0, 1))
    keep = p[:, 2] > 1e-6                                      # the floor is not scanned
    return p[keep], n[keep], "z"


def room_scan():
    o3d = _o3d()
    L, W, H = 6.0, 4.0, 2.5
    parts = [_box(o3d, (L, W, 0.05), (0, 0, -0.05)),
             _box(o3d, (0.05, W, H), (-0.05, 0, 0)), _box(o3d, (0.05, W, H), (L, 0, 0)),
             _box(o3d, (L, 0.05, H), (0, -0.05, 0)), _box(o3d, (L, 0.05, H), (0, W, 0)),
             _box(o3d, (1.6, 0.9, 0.05), (3.5, 2.5, 0.72)),           # table top
             _box(o3d, (0.06, 0.06, 0.72), (3.55, 2.55, 0)),
             _box(o3d, (0.06, 0.06, 0.72), (5.0, 2.55, 0)),
             _box(o3d, (0.06, 0.06, 0.72), (3.55, 3.3, 0)),
             _box(o3d, (0.06, 0.06, 0.72), (5.0, 3.3, 0))]
    mesh = parts[0]
    for q in parts[1:]:
        mesh += q
    mesh.compute_triangle_normals()
    p, n = _scan(mesh, eye=(1.0, 0.8, 1.6), centre=(6.0, 4.0, 0.6), up=(0, 0, 1),
                 width=200, height=130, fov=80.0)
    return p, n, "z"


def terrain():
    rng = np.random.default_rng(3)
    g = np.linspace(0.0, 10.0, 90)
    x, y = (a.ravel() for a in np.meshgrid(g, g[:70]))
    x = x + rng.uniform(-0.04, 0.04, x.size)
    y = y + rng.uniform(-0.04, 0.04, y.size)
    z = np.zeros_like(x)
    for _ in range(7):                                       # hills on a plain
        cx, cy = rng.uniform(0, 10), rng.uniform(0, 7)
        h, s = rng.uniform(0.5, 1.6), rng.uniform(0.6, 1.4)
        z += h * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
    return np.column_stack([x, y, z]), None, "z"


def closed_box():
    o3d = _o3d()
    return (*_sample(_box_mesh(o3d, (3.0, 2.0, 1.0)), 6000, 2), "z")


def vase():
    t = np.linspace(0.0, 1.0, 60)
    r = 0.35 + 0.25 * np.sin(np.pi * t * 1.3) - 0.1 * t
    ang = np.linspace(0, 2 * np.pi, 80, endpoint=False)
    side = np.array([[ri * np.cos(a), ri * np.sin(a), 2.0 * ti] for ti, ri in zip(t, r)
                     for a in ang])
    foot = np.array([[rr * np.cos(a), rr * np.sin(a), 0.0]
                     for rr in np.linspace(0.02, r[0], 8) for a in ang])
    p = np.vstack([side, foot])
    return p + np.random.default_rng(4).normal(scale=0.003, size=p.shape), None, "z"


def chair():
    o3d = _o3d()
    parts = [_box(o3d, (1.0, 1.0, 0.08), (0, 0, 0.9))]
    for x, y in ((0, 0), (0.92, 0), (0, 0.92), (0.92, 0.92)):
        parts.append(_box(o3d, (0.08, 0.08, 0.9), (x, y, 0)))
    parts.append(_box(o3d, (1.0, 0.08, 1.0), (0, 0.92, 0.98)))
    mesh = parts[0]
    for q in parts[1:]:
        mesh += q
    mesh.compute_triangle_normals()
    return (*_sample(mesh, 8000, 5), "z")


def _shipped(name, up):
    def load():
        import o3d_meshless as om
        from o3d_meshless.sampling.adapters import as_normals, as_points

        g = om.read_geometry(DATA / name)
        return np.asarray(as_points(g)), as_normals(g), up
    load.__name__ = name.replace(".", "_")
    return load


SHAPES = {f.__name__: f for f in (statue_on_plinth, statue_scan, box_scan, room_scan, terrain,
                                  closed_box, vase, chair)}
SHAPES.update({
    "bun000": _shipped("bun000.ply", "y"),
    "bun0_pcd": _shipped("bun0.pcd", "y"),
    "bunny_res2": _shipped("bun_zipper_res2.ply", "y"),
    "bunny_off": _shipped("bunny.off", "y"),
    "cow_off": _shipped("cow.off", "y"),
    "cow_obj": _shipped("cow.obj", "y"),
    "spot": _shipped("spot_triangulated.obj", "y"),
})


# ----------------------------------------------------------------------------- orientations
def cube_rotations():
    """The 24 rotation matrices of the cube (signed permutation matrices, det +1)."""
    import itertools

    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            R = np.zeros((3, 3))
            R[range(3), perm] = signs
            if np.linalg.det(R) > 0:
                out.append(R)
    return out


def axis_name(v):
    i = int(np.argmax(np.abs(v)))
    return ("-" if v[i] < 0 else "") + "xyz"[i]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=pathlib.Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", default=None)
    a = ap.parse_args(argv)
    from o3d_meshless.plot import render_fields
    from o3d_meshless.plot.view import _camera

    a.outdir.mkdir(parents=True, exist_ok=True)
    rots = cube_rotations()
    rng = np.random.default_rng(a.seed)
    for name, make in SHAPES.items():
        picks = rng.choice(len(rots), 3, replace=False)     # the same with --only
        if a.only and name not in a.only:
            continue
        pts, nrm, true_up = make()
        up_vec = np.eye(3)["xyz".index(true_up)]
        for j in picks:
            R = rots[j]
            p = pts @ R.T
            n = None if nrm is None else nrm @ R.T
            u = R @ up_vec
            h = p @ u
            grad = np.tile(u, (len(p), 1))              # tangential part of grad(height)
            if n is not None:
                nn = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
                grad -= (grad * nn).sum(1, keepdims=True) * nn
            fig = render_fields(p, {"height": h, "grad height": h}, normals=n,
                                vectors={"grad height": grad} if n is not None else None,
                                suptitle=f"{name}, rotation {j}: true up {axis_name(u)}")
            ov = fig.o3d_view
            right, upward, toward = _camera(ov["view"], ov["up"])
            if isinstance(ov["up"], str):
                drawn = np.eye(3)["xyz".index(ov["up"][-1])] * (-1 if ov["up"][0] == "-" else 1)
                up_text = ov["up"]
            else:                                  # a tilted base: its unit normal
                drawn = np.asarray(ov["up"], dtype=float)
                up_text = "(" + ", ".join(f"{c:.2f}" for c in drawn) + ")"
            tilt = float(np.degrees(np.arccos(np.clip(drawn @ u, -1.0, 1.0))))
            ok = "upright" if tilt < 30 else "UPSIDE DOWN" if tilt > 150 else "ON ITS SIDE"
            if not isinstance(ov["up"], str):
                ok += f" ({tilt:.0f} deg off)"
            fig.suptitle(f"{name}, rotation {j}: true up {axis_name(u)}; drawn up "
                         f"{up_text}, view {ov['view']}  [{ok}]", fontsize=9)
            out = a.outdir / f"{name}_rot{j:02d}.png"
            fig.savefig(out, dpi=fig.dpi, facecolor="white")
            print(f"{out.name:28s} true up {axis_name(u):>2s}  drawn up {up_text:>2s}  "
                  f"view {ov['view']}  {ok:11s}  "
                  f"toward (canonical) = {np.round(R.T @ toward, 2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
