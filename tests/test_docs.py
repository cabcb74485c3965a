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


def _load_conf(monkeypatch, value):
    """``docs/conf.py`` as a module, read with ``O3DM_GALLERY_FULL`` set to ``value``
    (``None``: unset)."""
    import importlib.util

    if value is None:
        monkeypatch.delenv("O3DM_GALLERY_FULL", raising=False)
    else:
        monkeypatch.setenv("O3DM_GALLERY_FULL", value)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))   # conf.py prepends
    spec = importlib.util.spec_from_file_location("o3dm_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def _method_calls(text):
    """Stencil methods passed as ``method="..."`` keyword arguments of calls in a script's
    code (its docstring and comments do not count)."""
    import ast

    return {kw.value.value for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Call) for kw in node.keywords
            if kw.arg == "method" and isinstance(kw.value, ast.Constant)
            and isinstance(kw.value.value, str)}


def test_each_stencil_method_has_a_paper_example():
    """Issue 28: every registered stencil method (but the unconstrained ``lsgsp``, the
    ghost-point paper's foil) is run on its paper's problem by a gallery example of its
    own, which reads the size switch of ``docs/conf.py``."""
    from o3d_meshless.stencils import METHODS

    papers = {"moments": "seed000", "taylor": "seed001", "orthopoly": "seed002",
              "clsgsp": "seed003"}
    assert set(METHODS) - {"lsgsp"} == set(papers), "a new method needs a paper example"
    gallery = DOCS / "gallery"
    for method, seed in papers.items():
        found = sorted(gallery.glob(f"plot_*_{seed}_*.py"))
        assert len(found) == 1, (method, found)
        text = found[0].read_text(encoding="utf-8")
        if method == "taylor":          # the default: run through scattered_gradient
            assert "om.scattered_gradient(" in text and "bounds=True" in text
        else:
            assert method in _method_calls(text), (method, found[0].name)
        assert 'os.environ.get("O3DM_GALLERY_FULL", "0").strip() not in ("", "0")' in text
        assert "from o3d_meshless." not in text and "examples" not in _imports(text)


def _imports(text):
    return {m.split(".")[0] for m in re.findall(r"^(?:from|import)\s+([\w.]+)", text,
                                                re.MULTILINE)}


def test_paper_examples_use_the_public_api_only():
    for path in sorted((DOCS / "gallery").glob("plot_*_seed00*.py")):
        text = path.read_text(encoding="utf-8")
        assert _imports(text) <= {"os", "warnings", "matplotlib", "numpy", "scipy",
                                  "o3d_meshless"}, path.name
        assert not re.search(r"^from o3d_meshless", text, re.MULTILINE), path.name


def test_method_call_parser():
    assert _method_calls('op = om.LaplaceBeltrami(method="clsgsp").fit(p)') == {"clsgsp"}
    assert _method_calls('"""method="clsgsp" in prose"""\n# method="taylor"\nf(method=x)\n') \
        == set()


@pytest.mark.parametrize("value, full", [(None, False), ("", False), ("0", False),
                                         ("1", True), (" 1 ", True), ("yes", True)])
def test_conf_reads_the_gallery_size_switch(monkeypatch, value, full):
    conf = _load_conf(monkeypatch, value)
    assert conf.GALLERY_SWITCH == "O3DM_GALLERY_FULL"
    assert conf.GALLERY_FULL is full
    assert conf.sphinx_gallery_conf["filename_pattern"] == r"/plot_"   # every example runs


def test_conf_reruns_sized_examples_when_the_switch_changes(monkeypatch, tmp_path):
    """sphinx-gallery re-runs an example only when its source changed: the build must
    drop the cached checksums of the examples that read the switch when it flips."""
    conf = _load_conf(monkeypatch, None)
    src, out = tmp_path / "gallery", tmp_path / "auto_gallery"
    src.mkdir()
    (src / "plot_01_sized.py").write_text('FULL = os.environ.get("O3DM_GALLERY_FULL")\n')
    (src / "plot_02_fixed.py").write_text("print(1)\n")

    def cache():
        out.mkdir(exist_ok=True)
        for name in ("plot_01_sized.py", "plot_02_fixed.py"):
            (out / (name + ".md5")).write_text("0" * 32)

    cache()
    assert conf.rerun_sized_examples(src, out, False) == ["plot_01_sized.py"]  # no record
    cache()
    assert conf.rerun_sized_examples(src, out, False) == []                # same size
    assert conf.rerun_sized_examples(src, out, True) == ["plot_01_sized.py"]
    assert not (out / "plot_01_sized.py.md5").exists()
    assert (out / "plot_02_fixed.py.md5").exists()
    cache()
    assert conf.rerun_sized_examples(src, out, True) == []
    assert conf.rerun_sized_examples(src, out, False) == ["plot_01_sized.py"]
    # the real gallery: the four paper examples are the ones that read the switch
    sized = [p.name for p in sorted((DOCS / "gallery").glob("plot_*.py"))
             if conf.GALLERY_SWITCH in p.read_text(encoding="utf-8")]
    assert len(sized) == 4 and all("_seed00" in name for name in sized), sized
