"""Pictures people can read: upright view, robust colours, honest ticks, arrows, PNGs."""
import numpy as np
import pytest

pytest.importorskip("matplotlib")

from o3d_meshless.plot import (  # noqa: E402
    auto_up,
    auto_view,
    color_limits,
    colorize,
    render_fields,
    render_vectors,
    view_direction,
)
from o3d_meshless.testing import fibonacci_sphere  # noqa: E402


@pytest.fixture(scope="module")
def bunny():
    """The shipped Stanford bunny (y up), points and mesh normals."""
    from o3d_meshless.sampling.adapters import as_normals, as_points
    from o3d_meshless.io.read import read_geometry, sample_path

    geom = read_geometry(sample_path("bunny"))
    points = np.asarray(as_points(geom), dtype=np.float64)
    normals = as_normals(geom)
    return points, (None if normals is None else np.asarray(normals, dtype=np.float64))


@pytest.fixture(scope="module")
def sphere():
    return fibonacci_sphere(800)


def _torus(n=3000, seed=0):
    u, v = np.random.default_rng(seed).uniform(0, 2 * np.pi, (2, n))
    return np.column_stack([(1 + 0.35 * np.cos(v)) * np.cos(u),
                            (1 + 0.35 * np.cos(v)) * np.sin(u), 0.35 * np.sin(v)])


def _panels(fig):
    return [ax for ax in fig.axes if any(c.get_label() == "splats" for c in ax.collections)]


def _colorbars(fig):
    return [ax._colorbar for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]


def _png(path):
    from matplotlib.image import imread

    return imread(str(path))


# ----------------------------------------------------------------------------- upright view
def test_auto_up_on_the_y_up_bunny_and_rotated_copies(bunny):
    p, _ = bunny
    assert auto_up(p) == "y"
    assert auto_up(p[:, [2, 0, 1]]) == "z"            # the same bunny stored z-up
    assert auto_up(p[:, [1, 2, 0]]) == "x"
    assert auto_up(p * [1.0, -1.0, -1.0]) == "-y"      # upside down: drawn upright again


def test_auto_up_on_shapes_without_a_base():
    assert auto_up(fibonacci_sphere(500)) == "z"       # no preferred axis: the usual z
    torus = _torus()
    assert auto_up(torus) == "z"                       # lies on its side
    assert auto_up(torus[:, [1, 2, 0]]) == "y"


def test_auto_view_sees_the_broad_side_from_above(bunny):
    p, n = bunny
    up, (elev, azim) = auto_view(p, n)
    assert up == "y" and 10.0 <= elev <= 30.0
    # the camera looks mostly across the bunny's narrow (z) side
    d = view_direction((elev, azim), up=up)
    assert abs(d[2]) > abs(d[0]) and d[1] > 0
    # a flat sheet is seen from well above, whatever the normals' sign
    g = np.linspace(0, 1, 30)
    x, y = (a.ravel() for a in np.meshgrid(g, g))
    sheet = np.column_stack([x, y, 0.05 * np.sin(3 * x)])
    assert auto_view(sheet)[0] == "z" and auto_view(sheet)[1][0] >= 45.0


def test_default_picture_is_upright_and_explicit_view_kept(tmp_path, bunny):
    p, n = bunny
    fig = render_fields(p, {"y": p[:, 1]}, normals=n)
    assert fig.o3d_view["up"] == "y"
    fig = render_fields(p, {"y": p[:, 1]}, normals=n, up="z", view=(10, 20))
    assert fig.o3d_view == {"up": "z", "view": (10.0, 20.0)}
    fig = render_fields(p, {"y": p[:, 1]}, normals=n, up=None)   # None means "auto"
    assert fig.o3d_view["up"] == "y"


def test_png_has_the_expected_size_and_is_not_blank(tmp_path, bunny):
    p, n = bunny
    path = tmp_path / "bunny.png"
    fig = render_fields(p, {"x": p[:, 0], "y": p[:, 1]}, path, normals=n, dpi=80,
                        panel_size=3.0)
    img = _png(path)
    w, h = fig.get_size_inches() * 80
    assert img.shape[1] == 480 == round(w) and abs(img.shape[0] - h) <= 1
    rgb = img[..., :3]
    ink = (rgb < 0.95).any(axis=-1)                    # not white
    assert 0.15 < ink.mean() < 0.9
    assert len(np.unique((rgb[ink] * 255).astype(np.uint8), axis=0)) > 200   # shaded colours


# ----------------------------------------------------------------------------- colours
def test_percentile_limits_ignore_one_outlier(sphere):
    f = sphere[:, 0].copy()                            # in [-1, 1]
    f[7] = 1e4
    lo, hi, sym = color_limits(f)
    assert sym and hi == -lo and 0.9 < hi < 1.01
    g = np.abs(sphere[:, 2]) + 1.0                     # one-signed, with one outlier
    g[3] = 2927.0
    lo, hi, sym = color_limits(g)
    assert not sym and lo == pytest.approx(g[np.arange(len(g)) != 3].min(), abs=0.02)
    assert hi < 2.01
    # no outlier: the exact extremes, nothing clipped
    m = float(np.abs(sphere[:, 0]).max())
    assert color_limits(sphere[:, 0]) == (-m, m, True)
    assert color_limits(sphere[:, 0], percentile=100) == color_limits(sphere[:, 0])
    # colorize follows: the outlier gets the top colour, the rest keep their contrast
    rgb = colorize(g)
    import matplotlib

    assert np.allclose(rgb[3], matplotlib.colormaps["viridis"](1.0)[:3])
    assert np.ptp(rgb[np.arange(len(g)) != 3], axis=0).max() > 0.5
    # the picture marks the clipped end with an arrow, and only there
    fig = render_fields(sphere, {"g": g, "x": sphere[:, 0]}, normals=sphere)
    cbs = _colorbars(fig)
    assert [cb.extend for cb in cbs] == ["max", "neither"]
    assert cbs[0].vmax < 2.01


def test_nearly_constant_field_gets_distinct_ticks(sphere):
    fields = {"near": 7.0 + 1e-7 * sphere[:, 2], "big": 1e6 + sphere[:, 0],
              "const": np.full(len(sphere), 3.5)}
    fig = render_fields(sphere, fields, normals=sphere)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    near, big, const = _colorbars(fig)
    for cb in (near, big):
        labels = [t.get_text() for t in cb.ax.get_yticklabels() if t.get_text()]
        assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
        # written out in full: no offset text over the neighbouring shape
        assert not cb.ax.yaxis.get_offset_text().get_text()
    labels = [t.get_text() for t in const.ax.get_yticklabels() if t.get_text()]
    assert labels == ["3.5"]


# ----------------------------------------------------------------------------- arrows
def test_vector_field_drawn_as_lifted_arrows(tmp_path, sphere):
    from matplotlib.quiver import Quiver

    g = np.cross([0.0, 0.0, 1.0], sphere)              # tangent: rotation about z
    view = (20, -60)
    plain, arrows = tmp_path / "plain.png", tmp_path / "arrows.png"
    render_fields(sphere, {"f": sphere[:, 2]}, plain, normals=sphere, view=view, up="z")
    fig = render_fields(sphere, {"f": sphere[:, 2]}, arrows, normals=sphere, view=view,
                        up="z", vectors=g)
    (ax,) = _panels(fig)
    (q,) = [c for c in ax.collections if isinstance(c, Quiver)]
    assert q.get_label() == "arrows" and 30 <= q.N <= 400
    # anchored on the visible side, lifted towards the camera, along the field
    from o3d_meshless.plot.scene import _Scene

    scene = _Scene(sphere, sphere, "z", view, None, 100_000)
    anchors, lift, _ = scene.anchors()
    assert (sphere[anchors] @ scene.toward > 0.2).all() and (lift @ scene.toward > 0).all()
    base = sphere[anchors] + 0.5 * scene.spacing * lift
    expected = np.column_stack([base @ scene.right, base @ scene.upward])
    drawn = q.get_offsets()
    match = np.argmin(((drawn[:, None, :] - expected[None]) ** 2).sum(-1), axis=1)
    assert np.allclose(drawn, expected[match], atol=1e-9)
    v = g[anchors[match]]
    u = np.column_stack([v @ scene.right, v @ scene.upward])
    cos = (u * np.column_stack([q.U, q.V])).sum(1) / (np.linalg.norm(u, axis=1)
                                                     * np.hypot(q.U, q.V))
    assert (cos > 0.999).all()
    assert not np.array_equal(_png(plain), _png(arrows))
    # a dict puts them on one panel only; render_vectors colours by the length
    fig = render_fields(sphere, {"a": sphere[:, 0], "b": sphere[:, 1]}, normals=sphere,
                        vectors={"b": g})
    assert [any(isinstance(c, Quiver) for c in ax.collections) for ax in _panels(fig)] == [
        False, True]
    fig = render_vectors(sphere, g, normals=sphere)
    assert _panels(fig)[0].get_title() == "|v|"


def test_zero_vector_field_draws_no_arrows(sphere):
    fig = render_fields(sphere, {"f": sphere[:, 0]}, vectors=np.zeros((len(sphere), 3)))
    assert [c.get_label() for c in _panels(fig)[0].collections if c.get_label()[:1] != "_"] \
        == ["splats"]


def test_large_cloud_is_subsampled_with_bigger_splats():
    p = _torus(40000, seed=2)
    fig = render_fields(p, {"z": p[:, 2]}, max_points=5000, up="z", view=(30, 0))
    splats = [c for c in _panels(fig)[0].collections if c.get_label() == "splats"][0]
    assert len(splats.get_offsets()) <= 5000
