"""Tangent vector fields on one point cloud: log map, parallel transport, a cross field and
a Hodge decomposition.

Run it as it is (the Stanford bunny shipped with o3d_meshless, 8 171 points read as a
point cloud, an open surface with holes):

    python examples/vector_fields.py --outdir vector_fields_out
    python examples/vector_fields.py --quick          # every 2nd point

Steps, each one call:

1. the logarithmic map from the highest point (:class:`o3d_meshless.VectorHeat`: geodesic
   polar coordinates in that point's tangent plane, e.g. to place a decal; the fitted
   solver is reused by the next steps and a second query is cheap);
2. parallel transport of that point's first tangent axis to every point (the arrows of
   the first two panels: the axis the log map's ``u`` is measured along);
3. the smoothest 4-direction (cross) field (:func:`o3d_meshless.direction_field`) with
   its singularities (counted; on a closed surface their indices add up to its Euler
   characteristic, the bunny's holes take some);
4. the Hodge decomposition (:func:`o3d_meshless.hodge_decomposition`) of
   ``X = ∇y + J∇x`` (``J``: rotation by 90° in the tangent plane): the potentials come
   back as ``α ≈ y`` and ``β ≈ x`` up to a constant (the open boundary takes the
   natural condition, so near the holes they differ).

It prints one line per step and writes ``<outdir>/vector_fields.png`` (four panels; the
star is the source).
"""
import argparse
import time
from pathlib import Path

import numpy as np

import o3d_meshless as om
from o3d_meshless.plot import render_fields


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=str(om.sample_path()),
                        help="point cloud or mesh file (default: the shipped bunny)")
    parser.add_argument("--outdir", type=Path, default=Path("vector_fields_out"))
    parser.add_argument("--quick", action="store_true", help="every second point")
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)

    points = om.as_points(om.read_geometry(args.input))
    if args.quick:
        points = np.ascontiguousarray(points[::2])
    print(f"{len(points)} points from {args.input}")
    from o3d_meshless.plot import auto_up
    up = "xyz".index(auto_up(points).lstrip("+-"))

    # 1. The log map from the highest point; 2. its u axis carried everywhere.
    t0 = time.perf_counter()
    vh = om.VectorHeat().fit(points)
    source = int(np.argmax(points[:, up]))
    uv = vh.log_map(source)
    t1 = time.perf_counter()
    axis = vh.transport_vectors(source, vh.frames_[source, 0])
    t2 = time.perf_counter()
    r = np.hypot(uv[:, 0], uv[:, 1])
    print(f"log map from point {source}: farthest point at {np.nanmax(r):.4f}; fit + "
          f"first query {t1 - t0:.2f} s, transport {t2 - t1:.3f} s")

    # 3. The smoothest cross field and its singularities.
    field = om.direction_field(vh.sampling_, n=4)
    print(f"cross field: {len(field.indices)} singularities, indices add up to "
          f"{field.indices.sum():g}")

    # 4. Hodge decomposition of grad y + J grad x.
    normals = vh.frames_[:, 2]
    e = np.eye(3)
    tangent = lambda v: v - (normals @ v)[:, None] * normals        # noqa: E731
    X = tangent(e[1]) + np.cross(normals, tangent(e[0]))
    parts = om.hodge_decomposition(vh.sampling_, X)
    corr = [np.corrcoef(np.nan_to_num(a), points[:, c])[0, 1]
            for a, c in ((parts.alpha, 1), (parts.beta, 0))]
    print(f"Hodge: corr(alpha, y) = {corr[0]:.4f}, corr(beta, x) = {corr[1]:.4f}; "
          f"harmonic part {np.linalg.norm(np.nan_to_num(parts.harmonic)) / np.linalg.norm(X):.1%}"
          " of |X|")

    path = args.outdir / "vector_fields.png"
    render_fields(points, {"log map u": uv[:, 0], "log map v": uv[:, 1],
                           "cross field (one of 4 directions)": r,
                           "Hodge: alpha (grad part's potential)": parts.alpha},
                  path, normals=normals,
                  vectors={"log map u": axis, "log map v": axis,
                           "cross field (one of 4 directions)": field.directions,
                           "Hodge: alpha (grad part's potential)": parts.exact},
                  markers=[source], ncols=2,
                  suptitle="tangent vector fields: log map and its carried u axis, "
                           "cross field over the geodesic distance, Hodge exact part")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
