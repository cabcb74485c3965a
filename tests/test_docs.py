"""The documentation site's API reference covers every public name, each with an example.

Reads the reStructuredText sources in ``docs/api`` (no Sphinx needed): every name of
``o3d_meshless.__all__`` and ``o3d_meshless.dask.__all__`` must be listed in an
``autosummary`` block there, so it gets a reference page. Every documented name must have a
numpydoc "Examples" section, except the ones written out in ``MISSING_EXAMPLES`` (which
must stay exactly that set: add an example, then remove the name here).
"""
import importlib
import inspect
import re
from pathlib import Path

import pytest

import o3d_meshless as om

DOCS = Path(__file__).resolve().parent.parent / "docs"
API = DOCS / "api"

# Public names whose docstrings have no "Examples" section yet (the site lists them all).
MISSING_EXAMPLES = {
    "o3d_meshless": set(),
    "o3d_meshless.dask": set(),
}
# Not objects with docstrings of their own.
NO_DOCSTRING = {"o3d_meshless": {"__version__"}, "o3d_meshless.dask": set()}

PAGES = {"o3d_meshless": API / "index.rst", "o3d_meshless.dask": API / "dask.rst"}

_EXAMPLES = re.compile(r"^Examples\n-{8,}\s*$", re.MULTILINE)


def autosummary_names(path):
    """Names listed in the ``.. autosummary::`` blocks of one rst file."""
    names, inside = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\.\. autosummary::\s*$", line):
            inside = True
            continue
        if not inside:
            continue
        if not line.strip():
            continue
        if not line.startswith((" ", "\t")):
            inside = False
            continue
        item = line.strip()
        if item.startswith(":"):              # an option such as :toctree:
            continue
        names.append(item.lstrip("~").split()[0])
    return names


def public(module):
    return list(importlib.import_module(module).__all__)


@pytest.mark.parametrize("module", sorted(PAGES))
def test_every_public_name_has_a_reference_entry(module):
    listed = autosummary_names(PAGES[module])
    assert len(listed) == len(set(listed)), "a name is listed twice"
    missing = sorted(set(public(module)) - set(listed))
    assert not missing, f"{PAGES[module].name} lacks {missing}"


def test_autosummary_parser_reads_the_blocks():
    names = autosummary_names(API / "index.rst")
    assert "LaplaceBeltrami" in names and "__version__" in names
    assert not any(n.startswith(":") for n in names)


@pytest.mark.parametrize("module", sorted(PAGES))
def test_every_public_name_has_examples(module):
    mod = importlib.import_module(module)
    lacking = set()
    for name in public(module):
        if name in NO_DOCSTRING[module]:
            continue
        doc = inspect.getdoc(getattr(mod, name)) or ""
        if not _EXAMPLES.search(doc):
            lacking.add(name)
    assert lacking == MISSING_EXAMPLES[module], (
        f"names without an Examples section changed: now lacking "
        f"{sorted(lacking - MISSING_EXAMPLES[module])}, no longer lacking "
        f"{sorted(MISSING_EXAMPLES[module] - lacking)} (update MISSING_EXAMPLES)")


def test_version_is_documented():
    assert isinstance(om.__version__, str)
    assert "__version__" in autosummary_names(API / "index.rst")


def test_cli_reference_comes_from_the_parser():
    text = (API / "cli.rst").read_text(encoding="utf-8")
    assert re.search(r"^\.\. cli-help::\s*$", text, re.MULTILINE)
    ext = (DOCS / "_ext" / "cli_help.py").read_text(encoding="utf-8")
    assert "build_parser" in ext
    from o3d_meshless.cli.parser import build_parser

    build_parser()          # the page is generated from this parser


def test_gallery_scripts_are_headless_and_titled():
    scripts = sorted((DOCS / "gallery").glob("plot_*.py"))
    assert len(scripts) >= 12          # issue 28: at least 12 examples
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        assert text.startswith('"""\n'), path.name
        title, underline = text.split("\n")[1:3]
        assert underline == "=" * len(title), path.name
        assert 'matplotlib.use("Agg")' in text, path.name


def test_benchmark_plots_have_their_numbers():
    """The accuracy-and-speed plots are drawn from ``benchmarks/results/*.csv`` by
    ``docs/_ext/benchmark_plots.py``: every CSV exists with the columns ``case,method,n,
    value``, and holds every method the plots draw at every N of the run (``meta.json``),
    which are the script's sizes (full or ``--quick``)."""
    import csv
    import importlib.util
    import json
    import math

    def load(name, path):
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    plots = load("benchmark_plots", DOCS / "_ext" / "benchmark_plots.py")
    bench = load("bench_accuracy_curves",
                 DOCS.parent / "benchmarks" / "bench_accuracy_curves.py")
    assert plots.RESULTS == bench.RESULTS
    meta = json.loads((plots.RESULTS / "meta.json").read_text(encoding="utf-8"))
    expected = {"accuracy": bench.ACCURACY_N, "speed": bench.SPEED_N}
    quick_max = {"accuracy": bench.QUICK_ACCURACY_MAX, "speed": bench.QUICK_SPEED_MAX}
    for name, (case, methods) in plots.PLOTS.items():
        part = "speed" if name == "build_time.csv" else "accuracy"
        sizes = expected[part]
        if meta[part]["quick"]:
            sizes = tuple(n for n in sizes if n <= quick_max[part])
        assert tuple(meta[part]["sizes"]) == sizes, name
        with open(plots.RESULTS / name, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert rows[0] == plots.FIELDS == list(bench.FIELDS), name
        cells = {}
        for row in rows[1:]:
            assert row[0] == case, (name, row)
            cells[row[1], int(row[2])] = float(row[3])
        for m in methods:
            for n in sizes:
                assert (m, n) in cells, f"{name} lacks {m} at N = {n}"
                assert math.isfinite(cells[m, n]) and cells[m, n] > 0, (name, m, n)
    page = (DOCS / "guide" / "accuracy_and_speed.md").read_text(encoding="utf-8")
    for png in ("benchmark_accuracy.png", "benchmark_build_time.png"):
        assert f"_generated/{png}" in page
