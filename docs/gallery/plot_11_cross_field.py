"""
A cross field and its singularities
===================================

The smoothest 4-direction field (Knöppel et al. 2013) on an ellipsoid with axes
1, 0.7 and 0.5 (6 000 random points), from :func:`o3d_meshless.direction_field`, with
its singularities. On a closed surface their indices add up to the Euler
characteristic, 2 here: eight singularities of index +1/4. One direction of the four
is drawn per point.
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np

import o3d_meshless as om
from o3d_meshless.plot import render_fields

rng = np.random.default_rng(0)
p = rng.normal(size=(6000, 3))
p /= np.linalg.norm(p, axis=1, keepdims=True)
p *= [1.0, 0.7, 0.5]                                    # an ellipsoid

field = om.direction_field(p, n=4)
print(f"{len(field.indices)} singularities, indices {field.indices}, "
      f"sum {field.indices.sum():g}")

# %%
# The singularities are marked with stars (hollow where the surface hides them),
# over the height ``z``; the picture is seen from above.
fig = render_fields(p, {"cross field over the height z": p[:, 2]},
                    vectors=field.directions, markers=field.singular_points,
                    normals=field.frames[:, 2], up="z", view=(60, -60))
