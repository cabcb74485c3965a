"""``.. cli-help::``: the ``o3d-meshless`` command's ``--help`` texts, one section each.

The text comes from the command's own parser (``o3d_meshless.cli.parser.build_parser``),
formatted by argparse at a fixed width and shown verbatim, so the reference cannot drift
from ``o3d-meshless <command> --help``.
"""
import argparse
import os

from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


def _help(parser):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"
    try:
        return parser.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def _subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _block(text):
    return ["", ".. code-block:: text", ""] + ["   " + line for line in text.splitlines()] + [""]


class CliHelp(SphinxDirective):
    has_content = False

    def run(self):
        from o3d_meshless.cli.parser import build_parser

        parser = build_parser()
        parser.prog = "o3d-meshless"
        lines = _block(_help(parser))
        subs = _subcommands(parser)
        seen = set()
        for name, sub in subs.items():
            if id(sub) in seen:            # aliases share one parser
                continue
            seen.add(id(sub))
            title = f"``o3d-meshless {name}``"
            lines += ["", title, "-" * len(title)] + _block(_help(sub))
        content = StringList(lines, source="o3d_meshless.cli.parser.build_parser")
        from docutils import nodes
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, content, container)
        return container.children


def setup(app):
    app.add_directive("cli-help", CliHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
