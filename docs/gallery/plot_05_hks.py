"""
Heat kernel signature
=====================

The heat kernel signature ``HKS(x, t) = Σ_i exp(−λ_i t) φ_i(x)²`` from the weak-form
spectrum of Spot (M-orthonormal modes). Small times see local features (horns, ears,
hooves), large times the overall shape. The function warns when the modes truncate the
sum by more than 1 %, so the smallest time here is the one 100 modes resolve.
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np

import o3d_meshless as om
from o3d_meshless.plot import render_fields

cloud = om.read_geometry(om.sample_path("spot"))   # a point cloud with normals
points = om.as_points(cloud)
vals, vecs = om.spectrum(cloud, n_modes=100)
t_min = np.log(100.0) / vals[-1]          # exp(-λ_max t) = 1 %: the sum is resolved
times = t_min * np.array([1.0, 4.0, 16.0])
hks = om.heat_kernel_signature(vals, vecs, times)      # (n, len(times))
print("times:", times)

# %%
# One panel per time.
fig = render_fields(points, {f"HKS, t = {t:.3g}": hks[:, i] for i, t in enumerate(times)},
                    up="y")
