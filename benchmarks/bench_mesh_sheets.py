"""Meshes keep their sheets apart: spectra against FEM and coordinate gradients, with
and without the mesh-connectivity neighbour filter (:mod:`o3d_meshless.sampling.mesh_sheets`).

Table 1, per closed mesh (``cow.off``, Spot, ``bunny.off``, scaled to unit area): modes
1..``--modes`` of the default ``om.spectrum`` (mean ``|λ_i/λ_i^FEM − 1|`` in %) for

* ours, vertex cloud (the vertex array alone);
* ours, mesh given, as sampling.build does it today (neighbours facing the other way
  dropped, ``frames.same_sheet``);
* ours, mesh given, with ``mesh_sheets.near_along_mesh`` instead of the normal test
  (``rho`` = ``--rho``; patched into ``sampling.build`` for the run when that does not
  call it itself yet);
* robust-laplacian ``point_cloud_laplacian(vertices, n_neighbors=30)`` and
  ``mesh_laplacian(vertices, faces)`` (if installed: the ``bench`` extra);
* P1 FEM on the mesh itself (cotangent stiffness, the mean of the lumped and the
  consistent mass): what using the faces for the operator, not only for the
  neighbours, would give.

The reference is P1 FEM (cotangent stiffness, consistent mass: ``o3d_meshless.testing.fem``)
on the mesh refined twice by midpoint subdivision (the same piecewise-flat
surface, 16× the triangles), solved by shift-invert ``eigsh``.

Table 2, per mesh (``cow.off``, ``bunny.off``, ``bun_zipper_res3.ply``) as a vertex
cloud and as a mesh: ``SurfaceGradient()`` defaults applied to x, y and z. Each has
length <= 1 exactly; the table gives the % of points where some coordinate's gradient
is longer than 1.05, the longest, and the rows the operator flags in
``diagnostics_["gradient_excess_mask"]`` (``gradient_check``; before it, 3-10 % of the
points were above 1.05, up to 5.8).

Run: ``python benchmarks/bench_mesh_sheets.py`` (about a minute on 2 cores);
``--shapes cow.off --no-gradients`` for one row. Reads ``../shared/data`` next to the
repository unless ``--data`` is given.
"""
from __future__ import annotations

import argparse
import importlib
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as sla
from threadpoolctl import threadpool_limits

import o3d_meshless as om
from o3d_meshless.sampling import mesh_sheets
from o3d_meshless.sampling import sampled_surface as sampling
from o3d_meshless.operators import surface_operator
from o3d_meshless.sampling.adapters import mesh_faces
from o3d_meshless.sampling.neighbors import Neighborhoods
from o3d_meshless.testing.fem import p1_fem

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHAPES = ("cow.off", "spot_triangulated.obj", "bunny.off")
GRADIENT_SHAPES = ("cow.off", "bunny.off", "bun_zipper_res3.ply")
PEER_NEIGHBORS = 30        # robust_laplacian.point_cloud_laplacian's default
GRADIENT_LIMIT = 1.05


def load_mesh(path):
    """The mesh as stored (Spot without splitting its UV seams), scaled to unit area."""
    import trimesh

    mesh = trimesh.load(path, process=False, maintain_order=True, force="mesh")
    vertices = np.asarray(mesh.vertices, dtype=np.float64) / np.sqrt(mesh.area)
    return trimesh.Trimesh(vertices, np.asarray(mesh.faces), process=False)


def midpoint_refined(vertices, faces, levels=2):
    """Each triangle split into four at its edge midpoints, ``levels`` times."""
    v, f = np.asarray(vertices, dtype=np.float64), np.asarray(faces, dtype=np.int64)
    for _ in range(levels):
        edges = np.sort(f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
        unique, which = np.unique(edges, axis=0, return_inverse=True)
        mid = len(v) + which.reshape(-1, 3)          # midpoints of edges 01, 12, 20
        v = np.vstack([v, 0.5 * (v[unique[:, 0]] + v[unique[:, 1]])])
        a, b, c = f.T
        ab, bc, ca = mid.T
        f = np.concatenate([np.c_[a, ab, ca], np.c_[ab, b, bc], np.c_[ca, bc, c],
                            np.c_[ab, bc, ca]])
    return v, f


def smallest(K, M, count, sigma=-1e-3):
    """``count`` smallest eigenvalues of ``K v = λ M v`` (shift-invert, one BLAS thread)."""
    with threadpool_limits(1):
        vals = sla.eigsh(K.tocsc(), k=count, M=M.tocsc(), sigma=sigma, which="LM",
                         v0=np.ones(K.shape[0]), return_eigenvectors=False)
    return np.sort(vals)


def fem_reference(mesh, count):
    return smallest(*p1_fem(*midpoint_refined(mesh.vertices, mesh.faces)), count)


def mean_error(values, reference, modes):
    v = np.sort(np.asarray(values).real)[1:modes + 1]
    return 100.0 * float(np.mean(np.abs(v / reference[1:modes + 1] - 1.0)))


@contextmanager
def mesh_filter(rho):
    """``sampling.build`` with ``near_along_mesh`` in place of the normal test, for meshes.

    Stands in for the change to sampling.build until it makes the call itself: while a
    mesh is built, ``Neighborhoods.filtered`` gets the mesh filter instead of its argument.
    """
    original_build, original_filtered = sampling.build, Neighborhoods.filtered

    def build(geometry, **options):
        faces = mesh_faces(geometry)
        if faces is None:
            return original_build(geometry, **options)

        def filtered(self, accept, *, n_threads=1):
            return original_filtered(
                self, mesh_sheets.near_along_mesh(self, faces, rho=rho, n_threads=n_threads),
                n_threads=n_threads)

        Neighborhoods.filtered = filtered
        try:
            return original_build(geometry, **options)
        finally:
            Neighborhoods.filtered = original_filtered

    sampling.build = surface_operator.build = build
    try:
        yield
    finally:
        sampling.build = surface_operator.build = original_build


def ours(geometry, count):
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        return om.spectrum(geometry, n_modes=count, progress=False)[0]


def gradient_excess(geometry):
    """% of points where the gradient of x, y or z is longer than GRADIENT_LIMIT, the
    longest, the rows the operator flags (``gradient_excess_rows``; -1 if it has no such
    diagnostic) and the op."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        op = om.SurfaceGradient(progress=False).fit(geometry)
    p = op.points_
    lengths = np.stack([np.linalg.norm(op.apply(p[:, c]), axis=1) for c in range(3)], axis=1)
    longest = lengths.max(axis=1)
    longest = longest[np.isfinite(longest)]            # excluded outliers have NaN
    flagged = int(op.diagnostics_.get("gradient_excess_rows", -1))
    return (100.0 * float(np.mean(longest > GRADIENT_LIMIT)), float(longest.max()), flagged,
            op)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES))
    parser.add_argument("--gradient-shapes", nargs="*", default=list(GRADIENT_SHAPES))
    parser.add_argument("--modes", type=int, default=30)
    parser.add_argument("--rho", type=float, default=mesh_sheets.MESH_RHO)
    parser.add_argument("--no-gradients", action="store_true")
    args = parser.parse_args(argv)
    try:
        rl = importlib.import_module("robust_laplacian")
    except ImportError:
        rl = None
        print("robust-laplacian not installed (pip install robust-laplacian): RL columns n/a")
    count = args.modes + 1

    print(f"modes 1-{args.modes}, mean |rel. error| % against P1 FEM on the mesh refined "
          f"twice by midpoint subdivision; filter rho = {args.rho:g}")
    print("| shape | n | ours cloud | ours mesh (normal test) | ours mesh (mesh filter) "
          "| RL cloud | RL mesh | P1 on the mesh |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.shapes:
        mesh = load_mesh(args.data / name)
        ref = fem_reference(mesh, count)
        verts = np.asarray(mesh.vertices)
        cells = [mean_error(ours(verts, count), ref, args.modes),
                 mean_error(ours(mesh, count), ref, args.modes)]
        with mesh_filter(args.rho):
            cells.append(mean_error(ours(mesh, count), ref, args.modes))
        for L, M in ((rl.point_cloud_laplacian(verts, n_neighbors=PEER_NEIGHBORS),
                      rl.mesh_laplacian(verts, np.asarray(mesh.faces))) if rl else ()):
            cells.append(mean_error(smallest(L, M, count), ref, args.modes))
        K, M = p1_fem(verts, np.asarray(mesh.faces))
        averaged = 0.5 * (M + sparse.diags(np.asarray(M.sum(axis=1)).ravel()))
        p1 = mean_error(smallest(K, averaged, count), ref, args.modes)
        text = " | ".join(f"{c:.2f}" for c in cells) + (" | n/a | n/a" if rl is None else "")
        text += f" | {p1:.2f}"
        print(f"| {name} | {len(verts)} | {text} |", flush=True)

    if args.no_gradients:
        return
    print(f"\nSurfaceGradient() of x, y, z: % of points where one is longer than "
          f"{GRADIENT_LIMIT} (longest; rows flagged in diagnostics_['gradient_excess_mask'])")
    print("| shape | cloud | mesh (normal test) | mesh (mesh filter) |")
    print("|---|---|---|---|")
    for name in args.gradient_shapes:
        mesh = load_mesh(args.data / name)
        cells = [gradient_excess(np.asarray(mesh.vertices))[:3], gradient_excess(mesh)[:3]]
        with mesh_filter(args.rho):
            cells.append(gradient_excess(mesh)[:3])
        print(f"| {name} | " + " | ".join(f"{pct:.2f} % ({top:.2f}; {flagged} flagged)"
                                          for pct, top, flagged in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
