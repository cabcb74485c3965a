"""Sphinx configuration of the o3d_meshless documentation site.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors).
No network: intersphinx is off.  The gallery (``docs/gallery/plot_*.py``) is executed
by sphinx-gallery on every build (a few seconds per example on two cores).
``O3DM_GALLERY_FULL=1`` runs the larger sizes of the examples that have them (see
"Gallery size switch" below).
"""
import os
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))      # the package from this checkout
sys.path.insert(0, str(HERE / "_ext"))    # the gallery's figure scraper

import o3d_meshless  # noqa: E402

project = "o3d_meshless"
author = "o3d_meshless contributors"
copyright = "o3d_meshless contributors"
release = o3d_meshless.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "cli_help",
    "myst_parser",
    "benchmark_plots",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "gallery/README.txt", "gallery/GALLERY_HEADER.rst",
                    "auto_gallery/*.ipynb", "auto_gallery/*.py", "auto_gallery/*.zip",
                    "auto_gallery/*.md5", "auto_gallery/*.json"]

# -- API reference -------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
autodoc_typehints = "none"            # numpydoc's Parameters sections carry the types
numpydoc_show_class_members = False   # the class template lists the members itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False


def _escape_stars(app, what, name, obj, options, lines):
    """Docstrings write shapes as ``(n, *s)``: a bare ``*`` that reST reads as the start
    of emphasis.  Escape it in prose lines (doctest and literal lines are left as they are)."""
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith((">>>", "...")):
            continue
        lines[i] = re.sub(r"(?<=[(,] )\*(?=[A-Za-z_])", r"\\*", line)


def _version_doc(app, what, name, obj, options, lines):
    """``__version__`` is a plain ``str``: show a line about it, not ``str``'s docstring."""
    if name.endswith(".__version__"):
        lines[:] = ["The version of the installed package (a PEP 440 string)."]


def setup(app):
    app.connect("autodoc-process-docstring", _escape_stars)
    app.connect("autodoc-process-docstring", _version_doc)
    # before sphinx-gallery's own builder-inited handlers (priorities 10 and 500)
    app.connect("builder-inited", lambda app: rerun_sized_examples(
        HERE / "gallery", HERE / "auto_gallery", GALLERY_FULL), priority=5)


# -- Gallery size switch ---------------------------------------------------------------
# ``O3DM_GALLERY_FULL=1 python -m sphinx -W -b html docs docs/_build/html`` makes the
# gallery ALSO run the larger sizes: every example that reads this variable (the
# reproductions of the stencil methods' papers, plot_14 ... plot_17) switches from its
# small default (a few seconds) to the papers' sizes (about a minute each on two
# cores). Unset, empty or "0": the small sizes, so the default build stays fast.
# The examples read the variable themselves, with this same test, so a downloaded
# script honours it too. sphinx-gallery re-runs an example only when its source
# changed; rerun_sized_examples() also re-runs the examples that read the switch when
# it differs from the previous build's (recorded in auto_gallery/.gallery_size).
GALLERY_SWITCH = "O3DM_GALLERY_FULL"
GALLERY_FULL = os.environ.get(GALLERY_SWITCH, "0").strip() not in ("", "0")


def rerun_sized_examples(src_dir, out_dir, full):
    """Drop sphinx-gallery's cached checksum of every example in ``src_dir`` that reads
    :data:`GALLERY_SWITCH` when ``full`` differs from the size recorded in ``out_dir``
    by the previous build, so that those examples are executed again at the new size.
    Returns the names of the examples whose cache was dropped."""
    out_dir = Path(out_dir)
    marker = out_dir / ".gallery_size"
    size = "full" if full else "small"
    if marker.exists() and marker.read_text(encoding="utf-8").strip() == size:
        return []
    dropped = []
    for src in sorted(Path(src_dir).glob("*.py")):
        if GALLERY_SWITCH in src.read_text(encoding="utf-8"):
            md5 = out_dir / (src.name + ".md5")
            if md5.exists():
                md5.unlink()
                dropped.append(src.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(size + "\n", encoding="utf-8")
    return dropped


# -- Gallery ---------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["gallery"],
    "gallery_dirs": ["auto_gallery"],
    "filename_pattern": r"/plot_",
    "image_scrapers": ("sg_figures", "matplotlib"),   # ours first: see _ext/sg_figures.py
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "min_reported_time": 0,
    "capture_repr": (),
}

# -- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"o3d_meshless {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "getting_started": []}
