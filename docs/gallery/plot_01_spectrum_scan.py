"""
Laplace–Beltrami modes of a scan
================================

The smallest eigenpairs of the Laplace–Beltrami operator of the shipped bunny scan
(8 171 points read as a point cloud: no faces, no normals). ``om.spectrum`` uses the
symmetric weak form: real eigenvalues in ascending order and eigenvectors that are
orthonormal in the mass matrix. Mode 0 is the constant one (one zero eigenvalue per
connected piece); modes 1–6 are drawn.
"""
import matplotlib

matplotlib.use("Agg")

import open3d as o3d

import o3d_meshless as om
from o3d_meshless.plot import render_spectrum

pcd = o3d.io.read_point_cloud(str(om.sample_path()))   # any scan; here the bunny
result = om.spectrum(pcd, n_modes=10)
vals, vecs = result                      # unpacks like (eigenvalues, eigenvectors)
print(vals)

# %%
# The quality report: negative or zero eigenvalues, imaginary parts, how far the
# eigenvectors are from M-orthonormal, outliers excluded and the noise level.
print(result.report)

# %%
# Modes 1–6 on the scan, each panel titled with its eigenvalue. Colours are
# symmetric about zero (white), since a mode has both signs.
fig = render_spectrum(om.as_points(pcd), vals, vecs, modes=range(1, 7))
