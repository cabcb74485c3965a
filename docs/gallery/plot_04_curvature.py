"""
Mean and Gaussian curvature
===========================

Curvature from weighted height fits of order 3 in each point's tangent frame, on Spot.
:func:`o3d_meshless.curvature` returns mean and Gaussian curvature, the principal
curvatures and directions, and each point's fit residual (large where the fit is not to
be trusted: sharp creases, noise).
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np

import o3d_meshless as om
from o3d_meshless.plot import render_fields

cloud = om.read_geometry(om.sample_path("spot"))   # a point cloud with normals
points = om.as_points(cloud)
curv = om.curvature(cloud)                    # order 3 by default
print("median |H| =", np.nanmedian(np.abs(curv.mean)),
      " median K =", np.nanmedian(curv.gaussian))

# %%
# The ears, horns and muzzle have the largest curvature; ``clip=2`` sets each panel's
# colour limits at the 2nd and 98th percentiles so that those few points do not wash
# out the rest (the colour bar's label says so).
fig = render_fields(points, {"mean curvature H": curv.mean,
                             "Gaussian curvature K": curv.gaussian,
                             "fit residual": curv.residual},
                    normals=curv.normals, clip=2, up="y")
