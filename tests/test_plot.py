"""Headless pictures: PNG written, hidden points dropped, colour limits, input checks."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from o3d_meshless.plot import (  # noqa: E402
    color_limits,
    colorize,
    render_fields,
    render_spectrum,
    view_direction,
    visible_mask,
)
from o3d_meshless.testing import fibonacci_sphere


@pytest.fixture(scope="module")
def sphere():
    return fibonacci_sphere(600)


def _splats(ax):
    return [c for c in ax.collections if c.get_label() == "splats"][0]


def _panels(fig):
    return [ax for ax in fig.axes if any(c.get_label() == "splats" for c in ax.collections)]


def test_png_written(tmp_path, sphere):
    path = tmp_path / "fields.png"
    fig = render_fields(sphere, {"x": sphere[:, 0], "z+2": sphere[:, 2] + 2.0}, path,
                        normals=sphere)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["x", "z+2"]
    assert len(fig.axes) == 4          # one colourbar per panel


def test_no_pyplot_state_changed(tmp_path, sphere):
    import matplotlib

    backend = matplotlib.get_backend()
    render_fields(sphere, [sphere[:, 0]], tmp_path / "a.png")
    assert matplotlib.get_backend() == backend
    import sys

    if "matplotlib.pyplot" in sys.modules:          # figures are not registered with pyplot
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_view_direction_matches_matplotlib_convention():
    assert np.allclose(view_direction((90, 0)), [0, 0, 1])
    assert np.allclose(view_direction((0, 0)), [1, 0, 0])
    assert np.allclose(view_direction((0, 90)), [0, 1, 0])
    # with y up the vertical of the picture is the data's y axis
    assert np.allclose(view_direction((90, 0), up="y"), [0, 1, 0])
    assert np.allclose(view_direction((90, 0), up="x"), [1, 0, 0])
    for up in "xyz":
        assert np.isclose(np.linalg.norm(view_direction((15, -60), up=up)), 1.0)
        # a signed axis: looking down on "-up" sees the data from below
        assert np.allclose(view_direction((90, 0), up="-" + up),
                           -view_direction((90, 0), up=up))
        assert np.allclose(view_direction((15, -60), up="+" + up),
                           view_direction((15, -60), up=up))


def test_visible_mask_front_hemisphere(sphere):
    view = (15, -60)
    mask = visible_mask(sphere, view)
    d = view_direction(view)
    assert np.array_equal(mask, sphere @ d >= 0)
    assert 0.45 < mask.mean() < 0.55
    # flipping the normals shows the other half
    assert np.array_equal(visible_mask(-sphere, view), sphere @ d <= 0)


def test_hidden_points_dropped_by_depth_not_by_normals(sphere):
    # behaviour change: points are no longer culled by n . d (badly oriented normals made
    # white speckles); the points behind the front surface are dropped by depth instead
    view = (20, 30)
    d = view_direction(view)
    fig = render_fields(sphere, {"f": sphere[:, 0]}, normals=sphere, view=view, up="z")
    splats = _splats(fig.axes[0])
    drawn = splats.get_offsets()                       # screen coordinates
    assert 0.4 * len(sphere) < len(drawn) < 0.7 * len(sphere)
    # match the screen positions back to the sphere's points: all on the camera's side
    from o3d_meshless.plot.view import _camera

    right, upward, _ = _camera(view, "z")
    screen = np.column_stack([sphere @ right, sphere @ upward])
    nearest = np.argmin(((drawn[:, None, :] - screen[None]) ** 2).sum(-1), axis=1)
    assert (sphere[nearest] @ d > -0.3).all()          # the far side is gone
    # normals of any sign (or none) draw the same points
    flip = np.where(np.random.default_rng(1).random(len(sphere)) < 0.5, -1.0, 1.0)
    for nrm in (-sphere, sphere * flip[:, None], None):
        fig2 = render_fields(sphere, {"f": sphere[:, 0]}, normals=nrm, view=view, up="z")
        assert np.allclose(_splats(fig2.axes[0]).get_offsets(), drawn)


def test_y_up_puts_the_data_y_axis_vertical(sphere):
    # view (0, -90) with up="y": screen x is the data's z, screen y the data's y
    fig = render_fields(sphere, {"f": sphere[:, 1]}, normals=sphere, view=(0, -90), up="y")
    drawn = _splats(fig.axes[0]).get_offsets()
    screen = np.column_stack([sphere[:, 2], sphere[:, 1]])
    nearest = np.argmin(((drawn[:, None, :] - screen[None]) ** 2).sum(-1), axis=1)
    assert np.allclose(drawn, screen[nearest], atol=1e-12)
    assert (sphere[nearest, 0] < 0.3).all()            # the camera is on the -x side
    assert fig.o3d_view == {"up": "y", "view": (0.0, -90.0)}


def test_symmetric_limits_for_signed_fields(sphere):
    assert color_limits([-1.0, 0.5, 3.0]) == (-3.0, 3.0, True)
    assert color_limits([0.0, 2.0]) == (0.0, 2.0, False)
    # a height above a floor at 0 read from float32 data: -1e-7 there is rounding, not a
    # sign (it made a room scan's floor white on a -2.5 .. 2.5 diverging scale)
    heights = np.r_[np.full(50, -1.2e-7), np.full(50, 1e-7), np.linspace(0.0, 2.5, 100)]
    lo, hi, sym = color_limits(heights)
    assert not sym and lo < 1e-6 and hi == 2.5
    assert color_limits(np.r_[np.full(50, -0.01), np.linspace(0.0, 2.5, 100)])[2]
    lo, hi, sym = color_limits(np.full(5, 7.0))
    assert lo < 7.0 < hi and not sym
    fig = render_fields(sphere, {"signed": sphere[:, 0] - 0.3, "positive": sphere[:, 2] + 1.5},
                        normals=sphere)
    panels = _panels(fig)
    signed, positive = _splats(panels[0]), _splats(panels[1])
    vmin, vmax = signed.get_clim()
    assert np.isclose(vmin, -vmax) and np.isclose(vmax, 1.3, atol=0.01)
    assert signed.get_cmap().name == "RdBu_r"
    assert positive.get_cmap().name == "viridis"
    assert positive.get_clim()[0] > 0


def test_user_cmap_and_titles(sphere):
    fig = render_fields(sphere, [sphere[:, 0], sphere[:, 1]], titles=["a", "b"], cmap="magma",
                        ncols=1)
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["a", "b"]
    assert _splats(panels[0]).get_cmap().name == "magma"


def test_colorize_range(sphere):
    rgb = colorize(sphere[:, 0])
    assert rgb.shape == (len(sphere), 3) and rgb.min() >= 0 and rgb.max() <= 1


def test_render_spectrum_titles(tmp_path, sphere):
    vals = np.array([0.0, 2.0, 2.0, 2.0])
    vecs = np.column_stack([np.ones(len(sphere)), sphere])
    path = tmp_path / "modes.png"
    fig = render_spectrum(sphere, vals, vecs, path, normals=sphere)
    assert path.stat().st_size > 0
    titles = [ax.get_title() for ax in _panels(fig)]
    assert titles == ["mode 1, λ = 2", "mode 2, λ = 2", "mode 3, λ = 2"]
    with pytest.raises(ValueError, match="modes"):
        render_spectrum(sphere, vals, vecs, modes=[4])


@pytest.mark.parametrize("kwargs, match", [
    ({"fields": {"f": np.zeros(3)}}, r"shape \(n,\) with n = 600"),
    ({"fields": {"f": np.full(600, np.nan)}}, "finite"),
    ({"fields": {}}, "at least one field"),
    ({"fields": {"f": np.zeros(600)}, "normals": np.zeros((5, 3))}, "one row per point"),
    ({"fields": {"f": np.zeros(600)}, "up": "w"}, "`up`"),
    ({"fields": {"f": np.zeros(600)}, "view": (1,)}, "`view`"),
    ({"fields": {"f": np.zeros(600)}, "vectors": np.zeros((600, 2))}, "`vectors`"),
    ({"fields": {"f": np.zeros(600)}, "vectors": {"g": np.zeros((600, 3))}}, "panel titles"),
    ({"fields": {"f": np.zeros(600)}, "titles": ["a", "b"]}, "`titles`"),
])
def test_bad_input(sphere, kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_fields(sphere, **kwargs)
