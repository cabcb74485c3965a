"""
Neumann modes of an open surface
================================

Rows of open-boundary points are built for the Neumann condition (zero normal
derivative), so the spectrum of an open scan approximates its Neumann spectrum, as FEM
with natural boundary conditions does. On the upper unit hemisphere the Neumann
eigenvalues are ``l(l+1)`` with multiplicity ``l + 1`` (the spherical harmonics even in
``z``). The boundary points are found from the gaps in their neighbourhoods
(``diagnostics_["boundary_mask"]``).
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np

import o3d_meshless as om
from o3d_meshless.plot import render_spectrum

rng = np.random.default_rng(1)
p = rng.normal(size=(12000, 3))
p[:, 2] = np.abs(p[:, 2])
p /= np.linalg.norm(p, axis=1, keepdims=True)          # upper hemisphere, open at z = 0

op = om.LaplaceBeltrami(form="weak").fit(p)
vals, vecs = op.spectrum(n_modes=10)
exact = np.array([l * (l + 1) for l in range(4) for _ in range(l + 1)])
for lam, ref in zip(vals, exact):
    print(f"{lam:9.4f}   exact {ref:2d}")
print("boundary points:", int(op.diagnostics_["boundary_mask"].sum()))

# %%
# The modes seen obliquely from above. Their level lines meet the rim at right angles
# (zero normal derivative), not with a node line along it.
fig = render_spectrum(p, vals, vecs, normals=p, modes=range(1, 7), up="z", view=(40, -60))
