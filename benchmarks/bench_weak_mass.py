"""Weak-form spectra with the lumped and with the averaged mass, on analytic and real shapes.

``LaplaceBeltrami(form="weak", mass=...)``: ``"lumped"`` (the default: chord-length
cells, diagonal cell areas) against ``"averaged"`` (arc-length cells, the mean of the
lumped and the consistent mass, :func:`o3d_meshless.operators.weak.averaged_mass`). For each shape,
the relative error of the first nonzero eigenvalues against a reference (mean, max and
signed mean, in %), the build and solve times, and the rows whose mass correction was
capped:

* unit sphere, the (1, 0.6, 0.3) ellipsoid and tori ``R = 1``, ``r = 0.4`` and ``0.2``,
  ``--n`` i.i.d. points: ``l(l+1)``, the converged reference
  ``../shared/data/ellipsoid_lb_eigenvalues.txt`` and the tori's separated 1-D problems
  (:func:`o3d_meshless.testing.torus_eigenvalues`), modes 1–30;
* hemisphere and unit disc (open boundaries, Neumann), ``--n / 2`` i.i.d. points:
  ``l(l+1)`` (harmonics even in ``z``) and ``j'_{m,s}²``, modes 1–20; and the same with
  the rim sampled (``rim=True``: points on the boundary circle instead of those within
  half a spacing of it, as a mesh's or a scan's outermost points lie);
* real shapes: Keenan Crane's Spot and the closed Stanford bunny (``bunny.off``), each
  Loop-subdivided three times (a smooth surface of about 50 × the mesh's faces) and
  scaled to unit area; ``--n`` i.i.d. area-uniform points on it, with the subdivided
  mesh's face normals. Reference: P1 FEM on the subdivided mesh itself (about 200 000
  vertices, 10× finer than the samples), the mean of its lumped- and consistent-mass
  eigenvalues (the exact ones lie between the two, which differ by the printed
  "ref. spread"), modes 1–30;
* horned spheres: the unit sphere with six smooth horns of angular width 0.3 and 0.12
  rad (:func:`horned_sphere`, icosphere level 7 mapped radially, unit area), sampled and
  referenced like the real shapes. The thin horns' tips and necks are only a few points
  across at 20 000 points, like Spot's ears; neither shape was used to choose
  ``weak.ARC_MAX_ELEVATION``.

``averaged`` is the default; where some cells were kept at chord
length (column "chord") a third row, ``arc only``, shows the averaged mass with every
cell at arc length (no ``ARC_MAX_ELEVATION`` limit).

Run: ``python benchmarks/bench_weak_mass.py`` (about 3 minutes on 2 cores, most of it
the FEM references); ``--n 5000 --no-real`` for a quick look; ``--n 40000`` or ``80000``
to see the real shapes converge.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import o3d_meshless as om
from o3d_meshless.operators import weak
from o3d_meshless.testing import (disc_neumann_eigenvalues, hemisphere_neumann_eigenvalues,
                                  random_disc, random_ellipsoid, random_hemisphere,
                                  random_sphere, random_torus, torus_eigenvalues)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def sphere_reference(count):
    return np.array([l * (l + 1) for l in range(1, 40) for _ in range(2 * l + 1)][:count],
                    dtype=np.float64)


def subdivided_mesh(path, levels=3):
    """The mesh at ``path``, vertices merged, Loop-subdivided ``levels`` times, unit area."""
    import trimesh

    mesh = trimesh.load(path, force="mesh", process=True)
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    v, f = trimesh.remesh.subdivide_loop(mesh.vertices, mesh.faces, iterations=levels)
    mesh = trimesh.Trimesh(v, f, process=True)
    mesh.apply_scale(1.0 / np.sqrt(mesh.area))
    return mesh


def fem_reference(mesh, count):
    """Modes 1..count of P1 FEM on ``mesh``: mean of lumped and consistent mass, and the
    relative spread between the two."""
    from lapy import Solver, TriaMesh

    tria = TriaMesh(np.asarray(mesh.vertices), np.asarray(mesh.faces))
    both = []
    for lump in (True, False):
        vals, _ = Solver(tria, lump=lump).eigs(k=count + 1)
        both.append(np.sort(vals)[1:count + 1])
    lumped, consistent = both
    return 0.5 * (lumped + consistent), float(np.mean(consistent / lumped - 1))


def sample(mesh, n, seed=0):
    import trimesh

    pts, face = trimesh.sample.sample_surface(mesh, n, seed=seed)
    return np.asarray(pts), np.asarray(mesh.face_normals[face])


def horned_sphere(width, heights=(1.0, 0.8, 0.6, 0.9, 0.5, 0.7), seed=7):
    """Unit-area triangle mesh of ``r(u) = 1 + Σ_i h_i exp(−(∠(u, a_i) / width)²)``: six
    horns along random axes ``a_i`` (icosphere of 163 842 vertices mapped radially)."""
    import trimesh

    ico = trimesh.creation.icosphere(subdivisions=7)
    u = ico.vertices / np.linalg.norm(ico.vertices, axis=1, keepdims=True)
    axes = np.random.default_rng(seed).normal(size=(len(heights), 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angle = np.arccos(np.clip(u @ axes.T, -1.0, 1.0))
    r = 1.0 + (np.asarray(heights) * np.exp(-(angle / width) ** 2)).sum(axis=1)
    mesh = trimesh.Trimesh(u * r[:, None], ico.faces, process=True)
    mesh.apply_scale(1.0 / np.sqrt(mesh.area))
    return mesh


def measure(points, normals, ref, mass, arc_limit=None):
    count = len(ref)
    saved = weak.ARC_MAX_ELEVATION
    if arc_limit is not None:
        weak.ARC_MAX_ELEVATION = arc_limit
    try:
        t = time.perf_counter()
        op = om.LaplaceBeltrami(form="weak", mass=mass, progress=False,
                                normals="auto" if normals is None else normals).fit(points)
        t_build = time.perf_counter() - t
    finally:
        weak.ARC_MAX_ELEVATION = saved
    t = time.perf_counter()
    result = op.spectrum(count + 1)
    t_solve = time.perf_counter() - t
    rel = result.values[1:count + 1] / ref - 1
    return (100 * np.abs(rel).mean(), 100 * np.abs(rel).max(), 100 * rel.mean(),
            t_build, t_solve, op.diagnostics_.get("mass_capped_rows", 0),
            op.diagnostics_["chord_cells"], result.report.n_negative)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="points (default %(default)s)")
    ap.add_argument("--no-real", action="store_true",
                    help="skip Spot, the bunny and the horned spheres")
    args = ap.parse_args(argv)
    n = args.n
    cases = [("sphere", lambda: (random_sphere(n), None, sphere_reference(30), "")),
             ("torus r = 0.4", lambda: (random_torus(n, r=0.4), None,
                                        torus_eigenvalues(31, r=0.4)[1:], "")),
             ("torus r = 0.2", lambda: (random_torus(n, r=0.2), None,
                                        torus_eigenvalues(31, r=0.2)[1:], "")),
             ("hemisphere (Neumann)",
              lambda: (random_hemisphere(n // 2), None, hemisphere_neumann_eigenvalues(20), "")),
             ("disc (Neumann)",
              lambda: (random_disc(n // 2), None, disc_neumann_eigenvalues(20), "")),
             ("hemisphere, rim", lambda: (random_hemisphere(n // 2, rim=True), None,
                                          hemisphere_neumann_eigenvalues(20), "")),
             ("disc, rim", lambda: (random_disc(n // 2, rim=True), None,
                                    disc_neumann_eigenvalues(20), ""))]
    ellipsoid = DATA / "ellipsoid_lb_eigenvalues.txt"
    if ellipsoid.is_file():
        cases.insert(1, ("ellipsoid", lambda: (random_ellipsoid(n), None,
                                               np.loadtxt(ellipsoid)[1:31], "")))
    if not args.no_real:
        for label, name in (("Spot", "spot_triangulated.obj"), ("bunny", "bunny.off")):
            if (DATA / name).is_file():
                def real(name=name):
                    mesh = subdivided_mesh(DATA / name)
                    ref, spread = fem_reference(mesh, 30)
                    pts, nrm = sample(mesh, n)
                    return pts, nrm, ref, (f"ref. spread {100 * spread:.3f} %, "
                                           f"{len(mesh.vertices)} mesh vertices")
                cases.append((label + " (Loop x3)", real))
        for width in (0.3, 0.12):
            def horned(width=width):
                mesh = horned_sphere(width)
                ref, spread = fem_reference(mesh, 30)
                pts, nrm = sample(mesh, n)
                return pts, nrm, ref, f"ref. spread {100 * spread:.3f} %"
            cases.append((f"horns, width {width}", horned))
    head = (f"{'shape':<22} {'mass':<9} {'mean %':>7} {'max %':>7} {'signed %':>9} "
            f"{'build s':>8} {'solve s':>8} {'capped':>7} {'chord':>6} {'neg':>4}")
    print(f"Weak-form eigenvalue errors, {n} points (open shapes {n // 2}), one run\n")
    print(head)
    print("-" * len(head))
    for label, make in cases:
        points, normals, ref, note = make()
        for mass, limit in (("lumped", None), ("averaged", None), ("arc only", np.inf)):
            row = measure(points, normals, ref, "averaged" if limit else mass, limit)
            if mass == "averaged":
                chord_cells = row[6]
            elif mass == "arc only" and not chord_cells:
                continue                 # every cell was at arc length already
            mean, mx, signed, tb, ts, capped, chord, neg = row
            print(f"{label:<22} {mass:<9} {mean:>7.3f} {mx:>7.3f} {signed:>+9.3f} "
                  f"{tb:>8.2f} {ts:>8.2f} {capped:>7d} {chord:>6d} {neg:>4d}", flush=True)
        if note:
            print(f"{'':<22} ({note})")


if __name__ == "__main__":
    main()
