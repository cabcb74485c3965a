"""Draw the "Accuracy and speed" page's plots from the committed benchmark outputs.

At every build (``builder-inited``, before any page is read) this reads
``benchmarks/results/accuracy_sphere.csv``, ``accuracy_ellipsoid.csv`` and
``build_time.csv`` (columns ``case,method,n,value``, written by
``benchmarks/bench_accuracy_curves.py``) and draws, with matplotlib's Agg backend,

* ``docs/_generated/benchmark_accuracy.png``: mean relative eigenvalue error against N,
  log–log, one line per method, sphere and ellipsoid side by side;
* ``docs/_generated/benchmark_build_time.png``: build time against N, log–log, ours,
  robust-laplacian and the bare k-NN query.

``docs/_generated/`` is build output (git-ignored); the page includes the PNGs from there.
So the pictures are always the numbers in the CSVs: change the CSVs (rerun the script)
and the next build redraws them. A missing CSV, column or method is a build warning,
which ``-W`` turns into a failed build.
"""
import csv
import json
from pathlib import Path

try:                                   # tests/test_docs.py imports this without Sphinx
    from sphinx.util import logging
except ImportError:                    # pragma: no cover
    import logging

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parent.parent
RESULTS = DOCS.parent / "benchmarks" / "results"
OUT = DOCS / "_generated"

# What the plots draw: file -> (methods, their labels). tests/test_docs.py checks the
# committed CSVs against this.
ACCURACY_METHODS = {"ours": "ours (weak form)",
                    "robust-laplacian": "robust-laplacian (30 neighbours)",
                    "fem": "P1 FEM on the hull mesh"}
SPEED_METHODS = {"ours": "ours: LaplaceBeltrami(form='weak').fit",
                 "robust-laplacian": "robust-laplacian: point_cloud_laplacian",
                 "knn": "bare k-NN: cKDTree query, k = 17"}
PLOTS = {
    "accuracy_sphere.csv": ("sphere", tuple(ACCURACY_METHODS)),
    "accuracy_ellipsoid.csv": ("ellipsoid", tuple(ACCURACY_METHODS)),
    "build_time.csv": ("sphere", tuple(SPEED_METHODS)),
}
FIELDS = ["case", "method", "n", "value"]
STYLE = {"ours": dict(color="C0", marker="o"),
         "robust-laplacian": dict(color="C1", marker="s"),
         "fem": dict(color="C2", marker="^"),
         "knn": dict(color="0.4", marker="v", linestyle="--")}


def read_results(path):
    """``{method: [(n, value), ...]}`` from one CSV, sorted by n; raises ValueError on a
    wrong header."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != FIELDS:
            raise ValueError(f"{path.name}: columns {header}, expected {FIELDS}")
        out = {}
        for case, method, n, value in reader:
            out.setdefault(method, []).append((int(n), float(value)))
    return {m: sorted(v) for m, v in out.items()}


def _subtitle():
    path = RESULTS / "meta.json"
    if not path.is_file():
        return ""
    meta = json.loads(path.read_text(encoding="utf-8"))
    return f"{meta.get('cores', '?')} cores, o3d_meshless " \
           f"{meta.get('versions', {}).get('o3d_meshless', '?')}"


def _n_ticks(ax, sizes):
    """The measured N as the x ticks, written out (no minor tick labels)."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticklabels([f"{n:,}".replace(",", "\u2009") for n in sizes])


def _accuracy_figure(plt, data):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    titles = {"accuracy_sphere.csv": "Unit sphere: eigenvalues 1–24 vs l(l+1)",
              "accuracy_ellipsoid.csv": "Ellipsoid (1, 0.6, 0.3): modes 1–30 vs reference"}
    for ax, name in zip(axes, titles):
        series = data[name]
        for m, label in ACCURACY_METHODS.items():
            n, v = zip(*series[m])
            ax.loglog(n, v, label=label, **STYLE[m])
        # guide: second order in the spacing h ~ N^(-1/2), i.e. error ~ 1/N
        n0, v0 = series["ours"][0]
        n1 = series["ours"][-1][0]
        ax.loglog([n0, n1], [v0 * 0.25, v0 * 0.25 * n0 / n1], color="0.6", linestyle=":",
                  label="slope −1 (second order in h)")
        _n_ticks(ax, [n for n, _ in series["ours"]])
        ax.set_title(titles[name], fontsize=10)
        ax.set_xlabel("N (i.i.d. points)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("mean relative eigenvalue error")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=4, frameon=False)
    fig.suptitle(f"Error against N  ({_subtitle()})", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def _speed_figure(plt, series):
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for m, label in SPEED_METHODS.items():
        n, v = zip(*series[m])
        ax.loglog(n, v, label=label, **STYLE[m])
    _n_ticks(ax, [n for n, _ in series["ours"]])
    ax.set_xlabel("N (i.i.d. points on the unit sphere)")
    ax.set_ylabel("build time, s (min of 3 runs)")
    ax.set_title(f"Build time against N  ({_subtitle()})", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def draw(app=None):
    """Read the CSVs and write the PNGs; returns the paths written."""
    data = {}
    for name, (case, methods) in PLOTS.items():
        path = RESULTS / name
        if not path.is_file():
            logger.warning(f"benchmark_plots: {path} not found (run "
                           f"benchmarks/bench_accuracy_curves.py)")
            return []
        try:
            series = read_results(path)
        except ValueError as exc:
            logger.warning(f"benchmark_plots: {exc}")
            return []
        missing = [m for m in methods if m not in series]
        if missing:
            logger.warning(f"benchmark_plots: {name} lacks methods {missing}")
            return []
        data[name] = series
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    OUT.mkdir(exist_ok=True)
    written = []
    for fname, fig in (("benchmark_accuracy.png", _accuracy_figure(plt, data)),
                       ("benchmark_build_time.png",
                        _speed_figure(plt, data["build_time.csv"]))):
        fig.savefig(OUT / fname, dpi=110)
        plt.close(fig)
        written.append(OUT / fname)
    return written


def setup(app):
    app.connect("builder-inited", draw)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
