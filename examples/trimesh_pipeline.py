"""trimesh mesh -> scalar field -> surface gradient -> coloured PLY and a PNG.

Run it as it is (it uses the Stanford bunny shipped with o3d_meshless):

    python examples/trimesh_pipeline.py --outdir out_examples

The mesh's faces are not used by the operator, only its vertices (the faces give the
reference normals for the check and the picture). For the height ``f = y`` the exact
surface gradient is the projection of the up vector onto the tangent plane,
``e_y - (e_y . n) n``, so the script prints how far the meshless gradient is from it.
It writes ``<outdir>/mesh_gradient.ply`` (vertex columns height, grad_x/y/z, grad_norm,
coloured by |grad|) and ``<outdir>/mesh_gradient.png``.
"""
import argparse
from pathlib import Path

import numpy as np
import trimesh

import o3d_meshless as om
from o3d_meshless.plot import render_fields


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=str(om.sample_path()), help="mesh file")
    parser.add_argument("--outdir", type=Path, default=Path("out_examples"))
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)

    # 1. Load with process=False so vertices keep their order and duplicates.
    mesh = trimesh.load(args.input, process=False)
    print(f"read {len(mesh.vertices)} vertices, {len(mesh.faces)} faces from {args.input}")

    # 2. A scalar field on the vertices: the height (y is up for the bunny).
    f = mesh.vertices[:, 1].copy()

    # 3. Its surface gradient, one tangent vector per vertex, shape (n, 3).
    grad = om.surface_gradient(mesh, f, k=16)
    grad_norm = np.linalg.norm(grad, axis=1)

    # Check against the exact answer e_y - (e_y . n) n with the mesh's vertex normals.
    n = mesh.vertex_normals
    exact = np.array([0.0, 1.0, 0.0]) - n[:, 1:2] * n
    err = np.linalg.norm(grad - exact, axis=1)
    print(f"|grad f|: min {grad_norm.min():.3f}, mean {grad_norm.mean():.3f}, "
          f"max {grad_norm.max():.3f}; median error vs exact {np.median(err):.2e}")

    # 4. Attach the results: a NEW Trimesh with vertex_attributes and vertex colours.
    #    (PLY viewers like scalar columns best, so the vector goes in as x, y, z.)
    arrays = {"height": f, "grad_x": grad[:, 0], "grad_y": grad[:, 1], "grad_z": grad[:, 2],
              "grad_norm": grad_norm}
    out = om.attach(mesh, arrays, color_by="grad_norm")
    ply = args.outdir / "mesh_gradient.ply"
    out.export(ply)
    print(f"wrote {ply}")

    # 5. Picture: the field and |grad f|, back faces hidden with the vertex normals.
    png = args.outdir / "mesh_gradient.png"
    render_fields(mesh.vertices, {"height f = y": f, "|grad f|": grad_norm}, png,
                  normals=n, up="y")
    print(f"wrote {png}")
    return grad


if __name__ == "__main__":
    main()
