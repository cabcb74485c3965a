"""
Surface gradient as arrows
==========================

The tangential gradient of a per-point scalar on Spot (2 930 points). The scalar is
the height ``y``: its surface gradient points uphill along the surface and is shorter
where the surface is flat (the back). ``om.surface_gradient`` returns an ``(n, 3)``
array of tangent vectors; :func:`o3d_meshless.plot.render_fields` draws them as
arrows over the field (``vectors=``).
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np

import o3d_meshless as om
from o3d_meshless.plot import render_fields

cloud = om.read_geometry(om.sample_path("spot"))       # a point cloud with normals
points = om.as_points(cloud)
height = points[:, 1]
grad = om.surface_gradient(cloud, height)              # (n, 3), tangent to the surface
# Points excluded as outliers get NaN (drawn grey); the line below counts them.
print(grad.shape, "max |grad y| =", np.nanmax(np.linalg.norm(grad, axis=1)),
      " points without a value:", int(np.isnan(grad[:, 0]).sum()))

# %%
# Arrows on a spatially even subsample of the visible points, over the height
# (left) and the gradient's length (right). A coordinate's surface gradient is
# at most 1 long: 1 where the surface is vertical, 0 where it is flat.
fig = render_fields(points, {"height y": height,
                             "|grad y|": np.linalg.norm(grad, axis=1)},
                    vectors=grad, up="y")
