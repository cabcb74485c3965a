"""
Ghost-point RBFs: the sphere's spectrum and a Poisson problem
=============================================================

Two problems of Ying, Chu & Leung's CLS-GSP paper (constrained least-squares ghost
sample points, ``method="clsgsp"``):

* §4.5: the Laplace–Beltrami eigenvalues of the unit sphere sampled the way the
  grid-based particle method does it: every node of the grid ``Δx·Z³`` within
  ``1.5Δx`` of the sphere, projected onto it. Nodes on one ray land on the same or
  nearly the same point, so the sample has duplicates and near-coincident pairs, the
  irregularity the ghost points are meant to survive. The error of the ``2l + 1``
  eigenvalues of each ``l`` against ``l(l+1)`` is ``E2(l)``, the paper's Table 2;
* §4.4: Poisson's equation ``Δu = f`` on the disc ``r ≤ 2`` with random samples, the
  Dirichlet values on random nodes in ``2 < r ≤ 2.5`` and the exact solution
  ``u = 1 + sin 4x + cos 3x + sin 2y`` (:func:`o3d_meshless.solve_poisson`; the paper
  reports a maximum error of about 4·10⁻³ with 3 159 + 1 841 points).

Our samples are not the paper's (its grid placement and random sets are unpublished):
compare magnitudes and slopes, not digits. ``O3DM_GALLERY_FULL=1`` adds the finer
spheres (``Δx = 0.05``, 15 106 points, and ``0.025``, 60 434 points, about 20 s); the
Poisson problem runs at the paper's size either way, and the default run takes a few
seconds.
"""
import os
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import matplotlib.tri as mtri
import numpy as np

import o3d_meshless as om

FULL = os.environ.get("O3DM_GALLERY_FULL", "0").strip() not in ("", "0")
DXS = (0.2, 0.1, 0.05, 0.025) if FULL else (0.2, 0.1)
L_MAX = 6
# The paper's Table 2: E2(l), rows l = 1 … 6, columns Δx = 0.2, 0.1, 0.05, 0.025.
PAPER_E2 = np.array([[1.47e-2, 3.89e-3, 9.53e-4, 2.38e-4],
                     [9.64e-3, 2.50e-3, 2.10e-4, 2.10e-5],
                     [3.01e-2, 6.23e-3, 1.42e-3, 4.33e-4],
                     [4.66e-2, 1.86e-2, 3.45e-3, 9.35e-4],
                     [8.80e-2, 2.42e-2, 5.62e-3, 1.47e-3],
                     [1.22e-1, 3.39e-2, 8.80e-3, 2.42e-3]])
PAPER_DX = (0.2, 0.1, 0.05, 0.025)


def gbpm_sphere(dx, band=1.5):
    """Grid nodes within ``band·dx`` of the unit sphere, projected onto it."""
    m = int(np.ceil((1 + band * dx) / dx)) + 1
    g = np.arange(-m, m + 1) * dx
    nodes = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    r = np.linalg.norm(nodes, axis=1)
    keep = np.abs(r - 1) < band * dx
    return nodes[keep] / r[keep, None]


def e2(vals):
    """E2(l) = RMS relative error of the 2l+1 eigenvalues of l, for l = 1 … L_MAX."""
    out, i = [], 1
    for l in range(1, L_MAX + 1):
        v = vals[i:i + 2 * l + 1]
        out.append(np.sqrt(np.mean(((v - l * (l + 1)) / (l * (l + 1))) ** 2)))
        i += 2 * l + 1
    return np.array(out)


sphere = {}
for dx in DXS:
    points = gbpm_sphere(dx)
    op = om.LaplaceBeltrami(method="clsgsp", progress=False).fit(points)
    with warnings.catch_warnings():   # near-equal eigenvalues may come as complex pairs
        warnings.simplefilter("ignore", RuntimeWarning)
        vals, _ = op.spectrum(n_modes=(L_MAX + 1) ** 2)
    sphere[dx] = e2(vals)
    distinct = len(np.unique(points, axis=0))
    print(f"Δx = {dx:<5}  N = {len(points):5d} ({distinct} distinct)  E2(l = 1 … 6) = "
          + " ".join(f"{v:.1e}" for v in sphere[dx]))
for a, b in zip(DXS[:-1], DXS[1:]):
    order = np.log(sphere[a] / sphere[b]) / np.log(a / b)
    print(f"observed order in Δx, {a} → {b}: " + " ".join(f"{o:.2f}" for o in order))


def u(p):
    return 1 + np.sin(4 * p[:, 0]) + np.cos(3 * p[:, 0]) + np.sin(2 * p[:, 1])


def laplacian_u(p):
    return -16 * np.sin(4 * p[:, 0]) - 9 * np.cos(3 * p[:, 0]) - 4 * np.sin(2 * p[:, 1])


def annulus(rng, n, r0, r1):
    """``n`` area-uniform random points with ``r0 < r ≤ r1``."""
    r = np.sqrt(rng.uniform(r0 ** 2, r1 ** 2, n))
    t = rng.uniform(0, 2 * np.pi, n)
    return np.c_[r * np.cos(t), r * np.sin(t)]


rng = np.random.default_rng(0)
inside, outside = annulus(rng, 3159, 0, 2), annulus(rng, 1841, 2, 2.5)   # the paper's sizes
sol = om.solve_poisson(inside, laplacian_u, boundary=outside, g=u, method="clsgsp")
error = np.abs(sol.u - u(inside))
print(f"Poisson, disc: N = {len(inside)} + {len(outside)} boundary nodes, "
      f"max error {error.max():.2e} (paper: about 4e-3), condition {sol.condition:.1e}")

# %%
# Left: ``E2(l)`` against ``Δx``, ours solid, the paper's Table 2 dotted (same colour per
# ``l``); both follow the second order the paper reports (dashed), except ``l = 2``,
# whose error is small from the start and levels off at about 10⁻⁴ on the finer spheres. Right: the Poisson
# problem's error at the samples (grey: the Dirichlet nodes outside the disc). Ours is
# below the paper's 4·10⁻³ on this random set; the paper does not give its RBF shape
# parameter for §4.4, we use the default ``c r̄² = 0.1`` of its §4.1.
fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
colours = plt.cm.viridis(np.linspace(0, 0.9, L_MAX))
for l in range(1, L_MAX + 1):
    ours = np.array([sphere[d][l - 1] for d in DXS])
    ax.loglog(DXS, ours, "o-", color=colours[l - 1], label=f"l = {l}")
    ax.loglog(PAPER_DX, PAPER_E2[l - 1], "s:", color=colours[l - 1], mfc="none", alpha=0.6)
ref = sphere[DXS[0]][L_MAX - 1] * (np.array(PAPER_DX) / DXS[0]) ** 2
ax.loglog(PAPER_DX, ref, "k--", lw=1, label="slope 2")
ax.plot([], [], "ks:", mfc="none", alpha=0.6, label="paper (Table 2)")
ax.set_xticks(PAPER_DX, [f"{d:g}" for d in PAPER_DX])
ax.minorticks_off()
ax.invert_xaxis()
ax.set_xlabel("grid spacing Δx")
ax.set_ylabel("E2(l), relative eigenvalue error")
ax.set_title("§4.5: sphere, grid-based samples, k = 16")
ax.legend(fontsize=8, ncols=2)

tri = mtri.Triangulation(inside[:, 0], inside[:, 1])
centres = inside[tri.triangles].mean(axis=1)
tri.set_mask(np.hypot(centres[:, 0], centres[:, 1]) > 1.97)   # no triangles across the rim
im = bx.tripcolor(tri, error, shading="gouraud", cmap="magma")
bx.scatter(outside[:, 0], outside[:, 1], s=1, c="0.6")
fig.colorbar(im, ax=bx, label="|u_h − u|", format="%.1e")
bx.set_aspect("equal")
bx.set_xlabel("x")
bx.set_ylabel("y")
bx.set_title(f"§4.4: Poisson, N = {len(inside)}, max error {error.max():.1e}")
