"""sphinx-gallery scraper for figures made with matplotlib's object API.

``o3d_meshless.plot`` builds ``matplotlib.figure.Figure`` objects on the Agg canvas
without pyplot (so it never switches a user's backend), and pyplot's figure list,
which sphinx-gallery's own scraper reads, never sees them.  This scraper saves every
``Figure`` that a gallery block leaves in a variable of the example (``fig = ...``)
and that no earlier block of the same example showed.  Figures made through pyplot
(``plt.subplots``) have a manager and are left to sphinx-gallery's matplotlib scraper,
which must come after this one in ``image_scrapers`` (it closes pyplot's figures, after
which they would look unmanaged here).
"""
from matplotlib.figure import Figure
from sphinx_gallery.scrapers import figure_rst


def _scrape(block, block_vars, gallery_conf, **kwargs):
    shown = block_vars.setdefault("o3d_meshless_shown", [])
    paths = []
    for value in list(block_vars["example_globals"].values()):
        if (isinstance(value, Figure) and getattr(value.canvas, "manager", None) is None
                and not any(value is s for s in shown)):
            shown.append(value)          # kept alive, so ids are never reused
            path = next(block_vars["image_path_iterator"])
            value.savefig(path, dpi=value.dpi)
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])


def _get_sg_image_scraper():
    return _scrape
