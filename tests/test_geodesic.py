"""Geodesic distance by the heat method (o3d_meshless.toolkit.geodesic) against the great-circle
distance on spheres and hemispheres, on real scans, and its input checks.

Sizes stay at a few thousand points; the 20 000-point issue target (median <= 0.5 %,
p99 <= 2 %) is the slow test at the end and ``benchmarks/bench_geometry.py``.
"""
import warnings
from pathlib import Path

import numpy as np
import pytest

import o3d_meshless as om
from o3d_meshless.toolkit.geodesic import HeatGeodesics, geodesic_distance, mean_spacing
from o3d_meshless.testing import random_sphere

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not (DATA / "bun000.ply").is_file(),
                                reason=f"real inputs not found in {DATA}")


def great_circle(p, sources):
    return np.arccos(np.clip(p @ p[np.atleast_1d(sources)].T, -1, 1)).min(axis=1)


def rel_errors(d, exact, cut=0.1):
    far = exact > cut
    return np.abs(d[far] - exact[far]) / exact[far]


@pytest.fixture(scope="module")
def sphere():
    p = random_sphere(4000, seed=11)
    return p, HeatGeodesics().fit(p)


def test_single_source_on_the_sphere(sphere):
    p, solver = sphere
    for src in (0, 123, 3999):
        d = solver.distance(src)
        rel = rel_errors(d, great_circle(p, src))
        # measured at 4000 points: median 0.5-0.6 %, p99 2-3 %
        assert np.median(rel) < 0.01 and np.percentile(rel, 99) < 0.04, src
        assert d[src] == 0 and (d >= 0).all()


def test_several_sources_take_the_nearest(sphere):
    p, solver = sphere
    src = [5, 600, 1700, 2500]
    exact = great_circle(p, src)
    d_min = solver.distance(src)
    assert np.median(rel_errors(d_min, exact)) < 0.012
    # order and repetition of the sources do not matter
    np.testing.assert_array_equal(d_min, solver.distance([2500, 5, 600, 1700, 600]))
    joint = HeatGeodesics(multisource="joint").fit(solver.sampling_).distance(src)
    assert np.median(rel_errors(joint, exact)) < 0.02
    assert np.all(d_min[src] == 0)


def test_reuse_gives_the_same_answer_as_the_function(sphere):
    p, solver = sphere
    a = solver.distance(42)
    b = solver.distance(42)
    np.testing.assert_array_equal(a, b)
    c = geodesic_distance(p, 42)
    np.testing.assert_allclose(a, c, atol=1e-12)
    # a prepared Sampling is used as it is
    s = om.prepare(p)
    np.testing.assert_allclose(HeatGeodesics().fit(s).distance(42), a, atol=1e-12)


def test_default_time_step_is_documented(sphere):
    p, solver = sphere
    assert solver.t_ == pytest.approx(2.0 * mean_spacing(solver.sampling_) ** 2)
    assert HeatGeodesics(t=1e-3).fit(solver.sampling_).t_ == 1e-3


def test_open_hemisphere_both_boundary_rules():
    p = random_sphere(6000, seed=4)
    p = p[p[:, 2] > 0]
    top = int(np.argmax(p[:, 2]))
    exact = great_circle(p, top)
    for rule in ("average", "neumann"):
        solver = HeatGeodesics(boundary=rule).fit(p)
        assert solver.boundary_mask_.sum() > 50
        rel = rel_errors(solver.distance(top), exact)
        # measured at ~3000 points: median 0.5 %, p99 2.5 %
        assert np.median(rel) < 0.01 and np.percentile(rel, 99) < 0.05, rule


def test_pieces_without_a_source_are_infinitely_far():
    a = random_sphere(1500, seed=1)
    b = random_sphere(1500, seed=2) + [5.0, 0, 0]
    d = geodesic_distance(np.vstack([a, b]), 0)
    assert np.isfinite(d[:1500]).all() and np.isinf(d[1500:]).all()
    assert np.median(rel_errors(d[:1500], great_circle(a, 0))) < 0.015


def test_underflowing_heat_falls_back_to_larger_times(monkeypatch):
    import o3d_meshless.toolkit.geodesic as geodesic

    p = random_sphere(2000, seed=3)
    exact = great_circle(p, 0)
    plain = HeatGeodesics().fit(p).distance(0)
    # pretend heat below 1e-12 of the source's underflowed (real underflow needs
    # surfaces ~700 √t across, 300 000 points and more at the default t)
    monkeypatch.setattr(geodesic, "U_FLOOR", 1e-12)
    solver = HeatGeodesics().fit(p)
    d = solver.distance(0)
    assert len(solver._heat) > 1 and np.isfinite(d).all()
    assert np.median(rel_errors(d, exact)) < 1.5 * np.median(rel_errors(plain, exact))


@pytest.mark.parametrize("bad, match", [
    (-1, "sources"), (4000, "sources"), ([], "sources"), (1.5, "sources"),
    (np.array([True, False]), "boolean mask"), ("a", "sources")])
def test_bad_sources_are_named(sphere, bad, match):
    with pytest.raises(ValueError, match=match):
        sphere[1].distance(bad)


@pytest.mark.parametrize("options, match", [
    ({"t": 0}, "`t`"), ({"t": -1.0}, "`t`"), ({"t": np.nan}, "`t`"),
    ({"t_factor": 0}, "t_factor"), ({"boundary": "dirichlet"}, "boundary"),
    ({"multisource": "all"}, "multisource"), ({"k": 2}, "`k`")])
def test_bad_options_are_named(options, match):
    with pytest.raises(ValueError, match=match):
        HeatGeodesics(**options).fit(random_sphere(300, seed=0))


def test_not_fitted_and_bad_points():
    with pytest.raises(ValueError, match="not fitted"):
        HeatGeodesics().distance(0)
    p = random_sphere(300, seed=0)
    p[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        geodesic_distance(p, 0)


@needs_data
@pytest.mark.parametrize("name", ["cow.obj", "bun_zipper_res2.ply"])
def test_real_shapes_are_finite_and_not_shorter_than_chords(name):
    geometry = om.read_geometry(DATA / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # guard counts
        solver = HeatGeodesics().fit(geometry)
    d = solver.distance(0)
    chord = np.linalg.norm(solver.points_ - solver.points_[0], axis=1)
    excluded = np.zeros(len(d), bool) if solver.excluded_ is None else solver.excluded_
    assert np.isnan(d[excluded]).all() and excluded.mean() <= 0.001
    d, chord = d[~excluded], chord[~excluded]
    assert np.isfinite(d).all() and (d >= 0).all()
    far = chord > 5 * solver.spacing_
    # a geodesic is never shorter than the chord (measured min ratio 0.93 on the cow,
    # 0.98 on the bunny: errors of a few per cent near the source)
    assert np.min(d[far] / chord[far]) > 0.9
    diag = np.linalg.norm(np.ptp(solver.points_, axis=0))
    assert d.max() < 2 * diag


@needs_data
def test_raw_scan_islands_without_the_source_are_infinite():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        solver = HeatGeodesics().fit(om.read_geometry(DATA / "bun000.ply"))
    d = solver.distance(0)
    assert solver.n_components_ >= 2
    same = solver.labels_ == solver.labels_[0]
    excluded = solver.excluded_                     # strays of the raw scan: NaN
    assert excluded is not None and np.isnan(d[excluded]).all()
    assert np.isfinite(d[same]).all() and np.isinf(d[~same & ~excluded]).all()


@pytest.mark.slow
def test_issue_target_unit_sphere_20k():
    p = random_sphere(20000, seed=1)
    rel = rel_errors(geodesic_distance(p, 0), great_circle(p, 0))
    # measured: median 0.27 %, p99 1.46 %
    assert np.median(rel) <= 0.005 and np.percentile(rel, 99) <= 0.02


@pytest.mark.parametrize("progress", [True, False, None])
def test_progress_reaches_the_build(monkeypatch, progress):
    """``progress`` is passed to the neighbourhood/frame build and the operators (the
    CLI's progress line shows their stages below it)."""
    import o3d_meshless.toolkit.geodesic as geodesic

    seen = []
    real = geodesic.prepare

    def spy(*args, **kw):
        seen.append(kw["progress"])
        return real(*args, **kw)

    monkeypatch.setattr(geodesic, "prepare", spy)
    solver = HeatGeodesics(progress=progress).fit(random_sphere(600, seed=3))
    assert seen == [progress]
    assert solver.get_params()["progress"] is progress
