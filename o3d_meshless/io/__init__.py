"""Files and results out: reading geometry, npz and PLY files written atomically, attaching results to Open3D/trimesh geometry.

Imports plot (result colours), the layers below, and the private helpers.
"""
