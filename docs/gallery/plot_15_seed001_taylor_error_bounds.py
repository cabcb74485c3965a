"""
Taylor least squares: gradient error against its bounds
=======================================================

Turner, Belward & Oqielat's problem (SIAM J. Sci. Comput. 2010, §5.1), the one behind
the default stencil method (``method="taylor"``): the gradient of Franke's saddle
``F1 = (1.25 + cos 5.4y) / (6 + 6(3x − 1)²)`` at ``a = (0.2, 0.1)`` from 14 neighbours
``a + r ν_i``, the stencil shrunk by ``r = 0.25 … 2.5·10⁻⁵``, classical least squares
(``weights=0``). An order-``n`` fit has a gradient error ``O(r^n)``; the paper proves two
bounds, Bound1 and the sharper Bound2, which :func:`o3d_meshless.scattered_gradient`
returns with ``bounds=True`` (scaled by ``ϑ_max = √2 max |∂^(n+1) F1|`` over the unit
square, estimated here from finite differences). The paper's 14 directions are random
and unpublished, ours are ``default_rng(1)``: compare slopes and magnitudes, not digits.

``O3DM_GALLERY_FULL=1`` adds order 4 (the problem itself is small at any size; the
default run takes about a second).
"""
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

import o3d_meshless as om

FULL = os.environ.get("O3DM_GALLERY_FULL", "0").strip() not in ("", "0")
RADII = 2.5 * 10.0 ** -np.arange(1, 6)
ORDERS = (2, 3, 4) if FULL else (2, 3)
A = np.array([0.2, 0.1])


def F1(p):
    x, y = p[:, 0], p[:, 1]
    return (1.25 + np.cos(5.4 * y)) / (6 + 6 * (3 * x - 1) ** 2)


def F1_gradient(p):
    x, y = p[:, 0], p[:, 1]
    num, den = 1.25 + np.cos(5.4 * y), 6 + 6 * (3 * x - 1) ** 2
    return np.c_[-num * 36 * (3 * x - 1) / den ** 2, -5.4 * np.sin(5.4 * y) / den]


def theta_max(order, m=721):
    """√2 · max over [0, 1]² of the (order+1)-th partial derivatives (finite differences
    on a grid a little larger than the square, cropped back to it)."""
    g = np.linspace(-0.1, 1.1, m)
    step, inner = g[1] - g[0], (g >= 0) & (g <= 1)
    X, Y = np.meshgrid(g, g, indexing="ij")
    values = F1(np.c_[X.ravel(), Y.ravel()]).reshape(m, m)
    best = 0.0
    for a in range(order + 2):                 # ∂x^a ∂y^(order+1-a)
        d = values
        for axis, times in ((0, a), (1, order + 1 - a)):
            for _ in range(times):
                d = np.gradient(d, step, axis=axis)
        best = max(best, np.abs(d[np.ix_(inner, inner)]).max())
    return np.sqrt(2) * best


rng = np.random.default_rng(1)        # 30 points with |ν| in [1, 2]; the 14 shortest
r, t = rng.uniform(1, 2, 30), rng.uniform(0, 2 * np.pi, 30)
directions = np.c_[r * np.cos(t), r * np.sin(t)][np.argsort(r)[:14]]
exact = F1_gradient(A[None])[0]

results = {}                          # order -> rows (relative error, Bound1, Bound2)
for order in ORDERS:
    theta = theta_max(order)
    rows = []
    for radius in RADII:
        points = np.vstack([A, A + radius * directions])   # the centre is point 0
        grad, bounds = om.scattered_gradient(points, F1(points), k=14, order=order,
                                             weights=0, guard=False, bounds=True,
                                             lipschitz=theta)
        scale = np.linalg.norm(exact)                      # relative, as in the paper
        rows.append((np.linalg.norm(grad[0] - exact) / scale,
                     bounds["bound1"][0] / scale, bounds["bound2"][0] / scale))
    results[order] = np.array(rows)
    fit = results[order][:, 0] > 1e-9                      # above round-off
    fit[0] = False                                         # r = 0.25: not yet asymptotic
    slope = np.polyfit(np.log(RADII[fit]), np.log(results[order][fit, 0]), 1)[0]
    print(f"order {order} (ϑ_max = {theta:.4g}): slope of the error over "
          f"r = {RADII[fit].max():.1e} … {RADII[fit].min():.1e}: {slope:.2f}")
    for radius, (err, b1, b2) in zip(RADII, results[order]):
        print(f"  r = {radius:.1e}: error {err:.2e}  Bound2 {b2:.2e}  Bound1 {b1:.2e}")

# The paper's Table 5.1 (F1, its own random directions): relative error and Bound2.
PAPER = {2: ([4.8981e-01, 7.4944e-03, 7.5058e-05, 7.5038e-07, 7.5037e-09],
             [2.6869e+00, 2.6869e-02, 2.6869e-04, 2.6869e-06, 2.6869e-08]),
         3: ([1.4095e-01, 2.1657e-04, 2.2999e-07, 2.3235e-10, 6.8197e-12],
             [1.8366e+00, 1.8366e-03, 1.8366e-06, 1.8366e-09, 1.8366e-12])}

# %%
# One panel per order: the actual error (circles) lies under Bound2 (squares), which
# lies under Bound1 (triangles). The error and Bound2 fall like ``r^n`` (the dashed
# slope); Bound1 only like ``r``, because its smallest singular value shrinks with the
# stencil, which is why the paper introduces Bound2. Faint dotted lines: the paper's
# Table 5.1. Once the error reaches round-off (about 10⁻¹¹, order 3 at the smallest
# radius) it stops falling: the bounds cover the truncation error, not rounding.
fig, axes = plt.subplots(1, len(ORDERS), figsize=(4.3 * len(ORDERS), 3.8), sharey=True,
                         layout="constrained")
for ax, order in zip(axes, ORDERS):
    res = results[order]
    ax.loglog(RADII, res[:, 2], "s-", color="C1", label="Bound2 (ours)")
    ax.loglog(RADII, res[:, 1], "^-", color="C2", label="Bound1 (ours)")
    ax.loglog(RADII, res[:, 0], "o-", color="C0", label="actual error (ours)")
    if order in PAPER:
        ax.loglog(RADII[:5], PAPER[order][0], "o:", color="C0", alpha=0.4, mfc="none",
                  label="error (paper)")
        ax.loglog(RADII[:5], PAPER[order][1], "s:", color="C1", alpha=0.4, mfc="none",
                  label="Bound2 (paper)")
    ax.loglog(RADII, res[0, 0] * (RADII / RADII[0]) ** order, "k--", lw=1,
              label="expected slope n")
    ax.invert_xaxis()
    ax.set_xlabel("stencil radius r")
    ax.set_title(f"order n = {order}")
axes[0].set_ylabel("relative gradient error / bound")
axes[-1].legend(loc="lower left", fontsize=8)
fig.suptitle("Turner et al. §5.1: F1 at a = (0.2, 0.1), 14 neighbours, classical LS")
