"""The CLI's pictures and progress (issue 26, "Pictures" and item 13): marked geodesic
sources, titles that fit, colour bars without offset text, hks panels on one colour map
without constant times, smooth before and after, and ``-v`` stage timings."""
from __future__ import annotations

import numpy as np
import pytest

from o3d_meshless.cli import main

pytest.importorskip("matplotlib")

BUNNY4 = "/work/shared/data/bun_zipper_res4.ply"


@pytest.fixture
def sphere_npy(tmp_path):
    p = np.random.default_rng(3).normal(size=(1000, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    path = tmp_path / "sphere.npy"
    np.save(path, p)
    return path, p


@pytest.fixture
def figures(monkeypatch):
    """The figures the commands draw (render_fields wrapped to keep its result)."""
    import o3d_meshless.plot as plot

    drawn = []
    real = plot.render_fields

    def keep(*a, **kw):
        fig = real(*a, **kw)
        drawn.append(fig)
        return fig

    monkeypatch.setattr(plot, "render_fields", keep)
    return drawn


def _panels(fig):
    return [ax for ax in fig.axes if any(c.get_label() == "splats" for c in ax.collections)]


def _splats(ax):
    return next(c for c in ax.collections if c.get_label() == "splats")


def _draw(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_geodesic_marks_the_sources_above_the_splats(tmp_path, sphere_npy, figures):
    path, p = sphere_npy
    png = tmp_path / "a_rather_long_file_name_that_would_not_fit_one_panel.png"
    long_input = tmp_path / "a_rather_long_input_name_for_a_scan_of_a_sphere.npy"
    long_input.write_bytes(path.read_bytes())
    assert main(["geodesic", str(long_input), "--source", "0,500", "--png", str(png),
                 "-q"]) == 0
    (fig,) = figures
    (ax,) = _panels(fig)
    marks = [ln for ln in ax.lines if ln.get_label().startswith("markers")]
    assert marks and all(ln.get_zorder() > _splats(ax).get_zorder() for ln in marks)
    xy = np.vstack([np.column_stack(ln.get_data()) for ln in marks])
    assert len(xy) == 2
    # the star sits on source 0's screen position in the panel
    right, upward = _camera_axes(fig)
    assert np.min(np.hypot(xy[:, 0] - p[0] @ right, xy[:, 1] - p[0] @ upward)) < 1e-9
    # the title is not cut off: it lies inside the figure
    renderer = _draw(fig)
    box = fig._suptitle.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height


def _camera_axes(fig):
    from o3d_meshless.plot.view import _camera

    right, upward, _ = _camera(fig.o3d_view["view"], fig.o3d_view["up"])
    return right, upward


def test_colourbars_have_no_offset_text(sphere_npy):
    from o3d_meshless.plot import render_fields

    _, p = sphere_npy
    fields = {"tiny": 1e-5 * (2 + p[:, 0]), "near": -10.554 + 1e-4 * p[:, 2],
              "big": 3e7 * (1 + p[:, 1])}
    fig = render_fields(p, fields, normals=p)
    _draw(fig)
    bars = [ax for ax in fig.axes if ax not in _panels(fig)]
    assert len(bars) == 3
    for bar in bars:
        assert bar.yaxis.get_offset_text().get_text() == ""
        labels = [t.get_text() for t in bar.get_yticklabels() if t.get_text()]
        assert len(labels) >= 2 and len(set(labels)) == len(labels), labels
    # a power of ten taken out goes into the label beside the bar
    assert "10$^{-5}$" in bars[0].get_ylabel()
    assert bars[1].get_ylabel() == ""
    # ... and stays inside a one-panel figure
    one = render_fields(p, {"tiny": fields["tiny"]}, normals=p)
    renderer = _draw(one)
    (bar,) = [ax for ax in one.axes if ax not in _panels(one)]
    assert bar.yaxis.label.get_window_extent(renderer).x1 <= one.bbox.width


def test_constant_up_to_rounding_gets_one_tick(sphere_npy):
    """A field constant up to rounding (the length of transported unit vectors) gets
    one tick, as an exactly constant one does."""
    from o3d_meshless.plot import render_fields

    _, p = sphere_npy
    wobble = 1.0 + np.finfo(float).eps * np.sign(p[:, 0])
    fig = render_fields(p, {"length": wobble, "same": np.full(len(p), 2.5)}, normals=p)
    _draw(fig)
    bars = [ax for ax in fig.axes if ax not in _panels(fig)]
    assert [[t.get_text() for t in bar.get_yticklabels() if t.get_text()]
            for bar in bars] == [["1"], ["2.5"]]


def test_hks_panels_share_one_colormap_and_skip_constant_times(tmp_path, figures, capsys):
    png = tmp_path / "h.png"
    assert main(["hks", BUNNY4, "--png", str(png), "--modes", "30"]) == 0
    out = capsys.readouterr().out
    (fig,) = figures
    panels = _panels(fig)
    assert {_splats(ax).get_cmap().name for ax in panels} == {"viridis"}
    bars = [ax for ax in fig.axes if ax not in panels]
    assert all("clipped to 1-99 %" in bar.get_ylabel() for bar in bars)
    # the last default time has decayed to the constant mode: said, not drawn
    assert "not drawn" in out and "nearly constant" in fig._suptitle.get_text()
    for ax in panels:
        values = _splats(ax).get_facecolors()
        assert np.ptp(values[:, :3], axis=0).max() > 0.2, ax.get_title()


def test_hks_panels_helper_replaces_a_constant_time():
    from o3d_meshless.cli.geometry_commands import _hks_panels

    rng = np.random.default_rng(0)
    hks = np.column_stack([1 + rng.random(50), 2 + rng.random(50), 3 + 1e-6 * rng.random(50)])
    shown, left_out = _hks_panels(hks, np.array([0.1, 1.0, 10.0]))
    assert left_out == [2]
    assert list(shown) == ["log HKS, t = 0.1", "log HKS, t = 1"]


def test_smooth_draws_before_and_after(tmp_path, figures):
    rng = np.random.default_rng(1)
    p = rng.normal(size=(1000, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    p += 0.01 * rng.normal(size=p.shape)
    path = tmp_path / "noisy.npy"
    np.save(path, p)
    assert main(["smooth", str(path), "--png", str(tmp_path / "s.png"), "-q"]) == 0
    (fig,) = figures
    before, after = _panels(fig)
    assert "before" in before.get_title() and "after" in after.get_title()
    # the two panels draw the points at different places
    a, b = _splats(before).get_offsets(), _splats(after).get_offsets()
    assert a.shape != b.shape or not np.allclose(a, b)
    assert main(["smooth", str(path), "--field", "x", "--force",
                 "--png", str(tmp_path / "s.png"), "-q"]) == 0
    assert len(_panels(figures[-1])) == 2


def test_smooth_field_panels_share_colour_limits(tmp_path, figures):
    rng = np.random.default_rng(2)
    p = rng.normal(size=(800, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    path = tmp_path / "s.npy"
    np.save(path, p)
    # a rough field: smoothing shrinks its range, the panels must still compare
    expr = "x + 0.5 * sin(40 * y)"
    assert main(["smooth", str(path), "--field", expr, "--iterations", "5",
                 "--png", str(tmp_path / "f.png"), "-q"]) == 0
    (fig,) = figures
    norms = [(_splats(ax).norm.vmin, _splats(ax).norm.vmax) for ax in _panels(fig)]
    assert len(norms) == 2 and norms[0] == norms[1]
    bars = [ax for ax in fig.axes if ax not in _panels(fig)]
    assert [b.get_ylim() for b in bars][0] == [b.get_ylim() for b in bars][1]


def test_render_fields_limits_shared_or_given():
    from o3d_meshless.plot import render_fields

    p = np.random.default_rng(4).normal(size=(600, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    fields = {"wide": 3.0 * p[:, 0], "narrow": 0.1 * p[:, 0] + 1.0}
    own = render_fields(p, fields, normals=p)
    shared = render_fields(p, fields, normals=p, limits="shared")
    given = render_fields(p, fields, normals=p, limits=(-1.0, 2.0))
    lims = [[(_splats(ax).norm.vmin, _splats(ax).norm.vmax) for ax in _panels(f)]
            for f in (own, shared, given)]
    assert lims[0][0] != lims[0][1]
    assert lims[1][0] == lims[1][1] and lims[1][0][0] <= -2.9 and lims[1][0][1] >= 2.9
    assert lims[2] == [(-1.0, 2.0), (-1.0, 2.0)]
    for bad in ("same", (2.0, 1.0), (0.0, float("nan")), 3):
        with pytest.raises(ValueError, match="`limits`"):
            render_fields(p, fields, normals=p, limits=bad)


def test_arrows_face_the_viewer_as_circled_dots_not_bare_heads():
    from matplotlib.quiver import Quiver

    from o3d_meshless.plot import render_fields
    from o3d_meshless.plot.scene import _Scene
    from o3d_meshless.plot.view import _camera

    p = np.random.default_rng(5).normal(size=(1500, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    view, up = (20.0, -60.0), "z"
    right, upward, toward = _camera(view, up)

    def drawn(vec):
        fig = render_fields(p, {"f": p[:, 2]}, normals=p, view=view, up=up, vectors=vec)
        (ax,) = _panels(fig)
        (q,) = [c for c in ax.collections if isinstance(c, Quiver)]
        dots = [c for c in ax.collections if c.get_label() == "arrows end-on"]
        return q, (len(dots[0].get_offsets()) if dots else 0)

    n = len(_Scene(p, p, up, view, None, 100_000).anchors()[0])
    # a field along the line of sight: no arrows (they would be bare heads), one
    # circled dot per anchor
    q, dots = drawn(np.tile(toward, (len(p), 1)))
    assert q.N == 0 and dots == n
    q, dots = drawn(np.tile(-toward, (len(p), 1)))            # away: circled crosses
    assert q.N == 0 and dots == n
    # in the screen plane: full arrows; tilted 45 degrees: arrows 0.71 as long
    q, dots = drawn(np.tile(right, (len(p), 1)))
    assert q.N == n and dots == 0
    full = np.hypot(q.U, q.V)
    q, dots = drawn(np.tile((right + toward) / np.sqrt(2.0), (len(p), 1)))
    assert q.N == n and dots == 0
    assert np.allclose(np.hypot(q.U, q.V), full / np.sqrt(2.0))


def test_verbose_prints_stage_timings(sphere_npy, capsys):
    path, _ = sphere_npy
    assert main(["geodesic", str(path), "--source", "0", "-v"]) == 0
    err = capsys.readouterr().err
    assert "geodesic sphere.npy: read" in err and "geodesic sphere.npy: apply" in err
    assert main(["geodesic", str(path), "--source", "0"]) == 0
    assert "INFO" not in capsys.readouterr().err


def test_progress_line_on_a_terminal(sphere_npy, monkeypatch, capsys):
    """A step longer than the delay shows the command, the input and the step."""
    from o3d_meshless import _progress
    from o3d_meshless.cli import run as run_module

    made = []
    real = _progress.Stages.__init__

    def init(self, total, *, desc, progress=None, delay=1.0):
        made.append((desc, progress, delay))
        real(self, total, desc=desc, progress=True, delay=0.0)

    monkeypatch.setattr(_progress.Stages, "__init__", init)
    monkeypatch.setattr(run_module._Run, "progress", property(lambda self: None))
    path, _ = sphere_npy
    assert main(["geodesic", str(path), "--source", "0"]) == 0
    assert ("geodesic sphere.npy", None, 2.0) in made
    assert "geodesic sphere.npy, apply" in capsys.readouterr().err


def test_cli_picture_of_a_scan_is_seen_from_the_scanner_side(tmp_path, figures):
    # a single-view scan of a statue (seen from -y, a little above), no normals in the
    # file: the camera comes from the points, not from the sign the operator's normal
    # estimation gave them (which showed this scan from behind)
    from test_view_choice import statue_front_scan

    from o3d_meshless.plot.view import _camera

    p, _ = statue_front_scan()
    path = tmp_path / "statue_scan.npy"
    np.save(path, p)
    assert main(["gradient", str(path), "--field", "z", "--png", str(tmp_path / "b.png"),
                 "-q"]) == 0
    (fig,) = figures
    assert fig.o3d_view["up"] == "z"
    toward = _camera(fig.o3d_view["view"], fig.o3d_view["up"])[2]
    assert toward[1] < -0.7 and toward[2] > 0.1
    # --up alone keeps the chosen view for that up; --view alone keeps the chosen up
    assert main(["gradient", str(path), "--field", "z", "--png", str(tmp_path / "c.png"),
                 "--up=-x", "--force", "-q"]) == 0
    assert figures[-1].o3d_view["up"] == "-x"
    assert main(["gradient", str(path), "--field", "z", "--png", str(tmp_path / "d.png"),
                 "--view", "-10,30", "--force", "-q"]) == 0
    assert figures[-1].o3d_view == {"up": "z", "view": (-10.0, 30.0)}
