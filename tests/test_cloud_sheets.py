"""Clouds whose sheets pass close: neighbourhoods kept to their own sheet
(o3d_meshless.sampling.cloud_sheets), measured on shapes whose answer is known."""
import numpy as np
import pytest

import o3d_meshless as om
from o3d_meshless.sampling.cloud_sheets import other_sheet, separate_sheets
from o3d_meshless.sampling.neighbors import knn
from o3d_meshless.testing import random_ellipsoid, random_sphere


def shells(n, gap, seed=0):
    """Two concentric unit-ish spheres, radii 1 and 1 + gap, n points each."""
    p = np.vstack([random_sphere(n, seed=seed), (1 + gap) * random_sphere(n, seed=seed + 1)])
    return p, np.linalg.norm(p, axis=1) > 1 + gap / 2


def across(nb, outer):
    """Neighbour entries on the other sphere (clouds this small keep the input order)."""
    return int((outer[nb.indices] != outer[:, None]).sum())


@pytest.mark.parametrize("gap", [0.1, 0.15, 0.2])
def test_concentric_spheres_are_kept_apart(gap):
    p, outer = shells(3000, gap)
    nb = knn(p, 16)
    assert across(nb, outer) > 100                  # the plain k nearest reach across
    sep, conflicts, unresolved = separate_sheets(nb)
    assert across(sep, outer) == 0
    assert conflicts >= 0.5 * int((outer[nb.indices] != outer[:, None]).any(axis=1).sum())
    assert sep.indices.shape == nb.indices.shape


def test_later_searches_keep_to_the_sheet():
    # operators that ask for more neighbours (the weak form's cells, the guard) query
    # the filtered neighbourhoods again: those queries must not cross either
    p, outer = shells(3000, 0.1)
    sep, _, _ = separate_sheets(knn(p, 16))
    more = sep.query(np.arange(len(p)), 24)
    assert int((outer[more] != outer[:, None]).sum()) == 0


@pytest.mark.parametrize("noise", [0.0, 0.05, 0.2])
def test_single_sheets_are_not_split(noise):
    # no second sheet, no change: the clean and noisy operators stay as they were
    p = random_ellipsoid(8000, seed=2)
    nb = knn(p, 16)
    q = p + np.random.default_rng(3).normal(size=p.shape) * noise * nb.spacing
    nb = knn(q, 16)
    sep, conflicts, unresolved = separate_sheets(nb)
    assert conflicts == 0 and sep is nb


def test_a_lone_spike_is_not_a_sheet():
    g = np.stack(np.meshgrid(np.arange(30), np.arange(30)), -1).reshape(-1, 2) * 0.1
    p = np.c_[g, np.zeros(len(g))]
    p[465, 2] = 0.08                 # one point lifted by 0.8 spacings: a spike, no sheet
    marks = other_sheet(p, knn(p, 16).indices)
    assert not marks.any()


def test_two_spheres_give_two_zero_modes():
    """The spectrum of two concentric spheres is the union of theirs: l(l+1) and
    l(l+1)/(1+d)^2, with one zero eigenvalue each. Measured (10 000 points each, d =
    0.06, half the neighbourhood's radius away) 86.7 % -> 0.022 % before/after; here
    1500 points each at d = 0.2 (measured 1.3895-1.3902 and 2.0008-2.0016 against
    1.3889 and 2)."""
    p, _ = shells(1500, 0.2, seed=4)
    vals, _ = om.spectrum(p, n_modes=10, progress=False)
    assert np.sum(np.abs(vals) < 1e-6) == 2
    ref = np.sort([2 / 1.2 ** 2] * 3 + [2.0] * 3)
    assert np.allclose(vals[2:8], ref, rtol=0.01)
    s = om.prepare(p, progress=False)
    assert s.diagnostics["sheet_conflicts"] > 100 and s.diagnostics["n_outliers"] == 0


def test_thin_cloud_has_no_false_outliers():
    # a clean flat ellipsoid (1, 0.7, 0.05): neighbourhoods straddle both sides, and
    # before the split 1.1 % of its points were taken for outliers and its noise level
    # was read as 0.8 spacings
    rng = np.random.default_rng(5)
    u = rng.normal(size=(4 * 2000, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    axes = np.array([1.0, 0.7, 0.05])
    # area-uniform by rejection on the area element of the map from the sphere
    dens = np.linalg.norm(u * axes[[1, 0, 0]] * axes[[2, 2, 1]], axis=1)
    p = (u * axes)[rng.uniform(0, dens.max(), len(u)) < dens][:2000]
    s = om.prepare(p, progress=False)
    assert s.diagnostics["n_outliers"] <= 2
    assert s.diagnostics["noise_level"] < 0.03 and not s.diagnostics["denoised"]


def test_meshes_use_their_edges_not_the_split():
    import trimesh
    m = trimesh.creation.icosphere(subdivisions=3)
    s = om.prepare(m, progress=False)
    assert s.diagnostics["sheet_conflicts"] == 0


def test_report_names_the_conflicts():
    p, _ = shells(1500, 0.2, seed=4)
    res = om.spectrum(p, n_modes=4, progress=False)
    assert res.report.sheet_conflicts > 100
    assert "sheet conflicts" in str(res.report)


def test_bad_neighbour_arrays_raise():
    p = random_sphere(100, seed=0)
    with pytest.raises(ValueError, match="neighbors"):
        other_sheet(p, np.zeros((100, 2), dtype=np.intp))
    bad = knn(p, 8).indices.copy()
    bad[3, 2] = 10_000
    with pytest.raises(ValueError):
        other_sheet(p, bad)


def test_keep_outliers_keeps_the_old_neighbourhoods():
    # outliers="keep" is the behaviour before any detection: the split would cut kept
    # outliers off the surface as pieces of their own (measured: 5 zero modes instead
    # of 1 on the ellipsoid with 1 % planted outliers)
    p, _ = shells(1500, 0.2, seed=4)
    s = om.prepare(p, outliers="keep", progress=False)
    assert s.diagnostics["sheet_conflicts"] == 0
    assert s.neighborhoods.accept is None


def test_sheets_a_spacing_apart_make_the_report_untrustworthy():
    """Concentric spheres 2000 points each, 0.06 apart (about a spacing): the split
    cannot separate them (18 % of the points keep the other sphere in view) and the
    spectrum is far off either way (81 % split, 15 % joined): the report says so. At 0.2
    apart everything is separated and the report is clean."""
    p, _ = shells(2000, 0.06, seed=1)
    res = om.spectrum(p, n_modes=6, progress=False)
    assert res.report.sheets_unresolved_share > 0.12
    assert not res.report.trustworthy and "another sheet" in res.report.reason
    p, _ = shells(1500, 0.2, seed=4)
    res = om.spectrum(p, n_modes=6, progress=False)
    assert res.report.sheets_unresolved == 0 and res.report.trustworthy
