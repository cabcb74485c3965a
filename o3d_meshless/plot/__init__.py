"""Headless pictures of per-point fields: a grid of shaded splat panels saved as PNG.

matplotlib is imported only when a picture is made, and only its object API is used
(``matplotlib.figure.Figure`` + the Agg canvas), so importing or calling this module
neither switches the user's pyplot backend nor opens windows; it works without a
display. Open3D is not needed.

**Drawing.** Each point is drawn as an opaque disc (a *splat*) facing the camera, in
an orthographic view, sorted back to front, so the nearest surface covers everything
behind it (painter's algorithm, the same result as a depth buffer of camera-facing
discs). A splat is the point's tangent disc (its size and shape from the spread of
its neighbours) seen in projection, over a layer of larger splats that closes the
gaps of random sampling, so the surface looks closed. Points hidden behind the front
layer are dropped by depth before drawing. Nothing is culled by the normals, so
normals of either sign are fine; they only shade the colours with the two-sided
Lambert factor ``0.5 + 0.5 |n · l|`` (light ``l`` near the camera). Without normals
they are estimated from 10 neighbours.

**Upright view.** With ``up="auto"`` (the default) the axis drawn vertically is
chosen from the shape (:func:`auto_up`): the signed coordinate axis (or, for a shape
stored tilted, the direction) along which the object *stands* on its widest flat
support, as it would rest on a table (a bunny on its base, a statue on its plinth, a
chair or a cow on its legs, a terrain on its plain, a room on its floor); a single-view scan is not seen from below (the seen top of a box
is its top), and ties go to the side it lies on. The camera looks at the broad side,
turned a little towards the taller end; an open scan is seen from its scanner's side
(:func:`auto_view`). The rule uses the shape only, so the same shape in any of the 24
axis-aligned orientations gives the same picture (the rule in full:
``o3d_meshless.plot.view``). ``up`` / ``view`` given explicitly are used as they are;
``up`` may be any 3-vector.

**Colours.** Limits are robust: a field with both signs (beyond rounding: values
within ``1e-5`` of the largest ``|f|`` of zero count as zero) gets symmetric limits
``-m .. m`` (``m`` = 99th percentile of ``|f|``) and the diverging colormap
``"RdBu_r"``, so zero is white; otherwise the 1st .. 99th percentiles and
``"viridis"``. The exact extremes are kept when the clipped tail is short (within a
quarter of the range), so smooth fields are not clipped; when values are clipped the
colourbar gets extension arrows. Colourbar ticks are written out in full, never with
an offset text over the neighbouring shape: each label gets the digits that keep it
distinct (a nearly constant field too), and a power of ten taken out of very small or
very large values goes into the colour-bar label beside the bar.

**Vectors.** ``vectors=`` draws (n, 3) tangent vector fields (e.g. a surface
gradient) as arrows on a spatially even subsample of the visible points, lifted off
the surface along the normal (:func:`render_vectors` for one panel coloured by the
length). Each arrow is the vector's projection on the screen, with its full head, so
a vector tilted towards the viewer is drawn shorter, as seen; one within 30° of the
line of sight, which would show as a bare head, is drawn as a circled dot (pointing
at the viewer) or a circled cross (pointing away), the usual symbols.
"""
from .colors import color_limits, colorize
from .render import render_fields, render_spectrum, render_vectors
from .view import auto_up, auto_view, view_direction, visible_mask

__all__ = [
    "render_fields",
    "render_spectrum",
    "render_vectors",
    "auto_up",
    "auto_view",
    "visible_mask",
    "view_direction",
    "color_limits",
    "colorize",
]
