"""Headless pictures: PNG written, back faces culled, colour limits, input checks."""
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


def _scatter(ax):
    return [c for c in ax.collections if hasattr(c, "_offsets3d")][0]


def test_png_written(tmp_path, sphere):
    path = tmp_path / "fields.png"
    fig = render_fields(sphere, {"x": sphere[:, 0], "z+2": sphere[:, 2] + 2.0}, path,
                        normals=sphere)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5000
    panels = [ax for ax in fig.axes if ax.name == "3d"]
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


def test_visible_mask_front_hemisphere(sphere):
    view = (15, -60)
    mask = visible_mask(sphere, view)
    d = view_direction(view)
    assert np.array_equal(mask, sphere @ d >= 0)
    assert 0.45 < mask.mean() < 0.55
    # flipping the normals shows the other half
    assert np.array_equal(visible_mask(-sphere, view), sphere @ d <= 0)


def test_culling_hides_back_facing_points(sphere):
    view = (20, 30)
    fig = render_fields(sphere, {"f": sphere[:, 0]}, normals=sphere, view=view)
    drawn = np.column_stack(_scatter(fig.axes[0])._offsets3d)
    assert len(drawn) == visible_mask(sphere, view).sum()
    # every drawn point is on the camera's side of the sphere
    assert (drawn @ view_direction(view) >= -1e-12).all()
    # without normals everything is drawn
    fig = render_fields(sphere, {"f": sphere[:, 0]}, view=view)
    assert len(np.column_stack(_scatter(fig.axes[0])._offsets3d)) == len(sphere)


def test_culling_with_y_up_permutes_consistently(sphere):
    view = (15, -60)
    fig = render_fields(sphere, {"f": sphere[:, 1]}, normals=sphere, view=view, up="y")
    drawn = np.column_stack(_scatter(fig.axes[0])._offsets3d)   # plotting coordinates
    assert len(drawn) == visible_mask(sphere, view, up="y").sum()
    # the picture's vertical axis holds the data's y values
    vis = sphere[visible_mask(sphere, view, up="y")]
    assert np.allclose(np.sort(drawn[:, 2]), np.sort(vis[:, 1]))


def test_symmetric_limits_for_signed_fields(sphere):
    assert color_limits([-1.0, 0.5, 3.0]) == (-3.0, 3.0, True)
    assert color_limits([0.0, 2.0]) == (0.0, 2.0, False)
    lo, hi, sym = color_limits(np.full(5, 7.0))
    assert lo < 7.0 < hi and not sym
    fig = render_fields(sphere, {"signed": sphere[:, 0] - 0.3, "positive": sphere[:, 2] + 1.5},
                        normals=sphere)
    panels = [ax for ax in fig.axes if ax.name == "3d"]
    signed, positive = _scatter(panels[0]), _scatter(panels[1])
    vmin, vmax = signed.get_clim()
    assert np.isclose(vmin, -vmax) and np.isclose(vmax, 1.3, atol=0.01)
    assert signed.get_cmap().name == "RdBu_r"
    assert positive.get_cmap().name == "viridis"
    assert positive.get_clim()[0] > 0


def test_user_cmap_and_titles(sphere):
    fig = render_fields(sphere, [sphere[:, 0], sphere[:, 1]], titles=["a", "b"], cmap="magma",
                        ncols=1)
    panels = [ax for ax in fig.axes if ax.name == "3d"]
    assert [ax.get_title() for ax in panels] == ["a", "b"]
    assert _scatter(panels[0]).get_cmap().name == "magma"


def test_colorize_range(sphere):
    rgb = colorize(sphere[:, 0])
    assert rgb.shape == (len(sphere), 3) and rgb.min() >= 0 and rgb.max() <= 1


def test_render_spectrum_titles(tmp_path, sphere):
    vals = np.array([0.0, 2.0, 2.0, 2.0])
    vecs = np.column_stack([np.ones(len(sphere)), sphere])
    path = tmp_path / "modes.png"
    fig = render_spectrum(sphere, vals, vecs, path, normals=sphere)
    assert path.stat().st_size > 0
    titles = [ax.get_title() for ax in fig.axes if ax.name == "3d"]
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
    ({"fields": {"f": np.zeros(600)}, "titles": ["a", "b"]}, "`titles`"),
])
def test_bad_input(sphere, kwargs, match):
    with pytest.raises(ValueError, match=match):
        render_fields(sphere, **kwargs)
