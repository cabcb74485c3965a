"""
Log map and parallel transport (a vector field)
===============================================

The vector heat method on Spot: the logarithmic map from one point gives every point
geodesic polar coordinates ``(u, v)`` in that point's tangent plane (to place a decal,
for instance), and parallel transport carries the source's first tangent axis to every
point. The arrows are the transported axis: the direction ``u`` is measured along.
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np

import o3d_meshless as om
from o3d_meshless.plot import render_fields

cloud = om.read_geometry(om.sample_path("spot"))   # a point cloud with normals
points = om.as_points(cloud)
vh = om.VectorHeat().fit(cloud)                  # factorised once, queries are cheap
source = int(np.argmax(points[:, 1]))           # the highest point
uv = vh.log_map(source)                         # (n, 2)
axis = vh.transport_vectors(source, vh.frames_[source, 0])   # (n, 3) tangent vectors
print("farthest point at geodesic distance", np.nanmax(np.hypot(uv[:, 0], uv[:, 1])))

# %%
# ``u`` and ``v`` with the carried axis as arrows; the star is the source.
fig = render_fields(points, {"log map u": uv[:, 0], "log map v": uv[:, 1]},
                    vectors=axis, normals=vh.frames_[:, 2], markers=[source], up="y")
