"""Open3D scan -> Laplace-Beltrami spectrum -> coloured PLY and a PNG of the modes.

Run it as it is (it uses the Stanford bunny shipped with o3d_meshless):

    python examples/open3d_scan_spectrum.py --outdir out_examples

or on your own scan: ``--input scan.ply --up z``. It writes

* ``<outdir>/scan_modes.ply``: the scan with one ``lb_mode_<i>`` column per mode,
  coloured by mode 1 (open it in MeshLab/CloudCompare or ``o3d.t.io.read_point_cloud``);
* ``<outdir>/scan_modes.png``: modes 1..6 drawn headless with matplotlib.
"""
import argparse
from pathlib import Path

import numpy as np
import open3d as o3d

import o3d_meshless as om
from o3d_meshless.plot import render_spectrum


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", default=str(om.sample_path()), help="point cloud file")
    parser.add_argument("--outdir", type=Path, default=Path("out_examples"))
    parser.add_argument("--modes", type=int, default=10, help="number of eigenpairs")
    parser.add_argument("--up", default="y", choices="xyz", help="vertical axis of the scan")
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)

    # 1. Read the scan the usual Open3D way (a legacy PointCloud, no normals needed).
    pcd = o3d.io.read_point_cloud(args.input)
    print(f"read {len(pcd.points)} points from {args.input}")

    # 2. Laplace-Beltrami operator and its smallest eigenpairs.  orient="mst" makes
    #    the estimated normals consistent (outward), which the picture needs to hide
    #    the back of the surface; the operator itself does not depend on it.
    lb = om.LaplaceBeltrami(k=16, orient="mst").fit(pcd)
    vals, vecs = lb.spectrum(n_modes=args.modes)   # L v = lambda v, ascending; v^T M v = 1
    for i, lam in enumerate(vals):
        print(f"mode {i:2d}: lambda = {lam:.6g}")

    # 3. Put the modes back on the cloud: a NEW tensor PointCloud with float64
    #    attributes pcd.point["lb_mode_i"], coloured by mode 1 (blue - white - red).
    modes = {f"lb_mode_{i}": vecs[:, i] for i in range(1, vecs.shape[1])}
    out = om.attach(pcd, modes, color_by="lb_mode_1", cmap="RdBu_r")
    ply = args.outdir / "scan_modes.ply"
    o3d.t.io.write_point_cloud(str(ply), out)
    print(f"wrote {ply}")

    # 4. A picture of modes 1..6, back faces culled with the oriented normals.
    png = args.outdir / "scan_modes.png"
    render_spectrum(lb.points_, vals, vecs, png, normals=lb.normals_,
                    modes=range(1, min(7, len(vals))), up=args.up)
    print(f"wrote {png}")
    return np.asarray(vals)


if __name__ == "__main__":
    main()
