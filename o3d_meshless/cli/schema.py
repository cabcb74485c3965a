"""The JSON that ``o3d-meshless <command> --json`` prints: one versioned schema per command.

Every run prints one JSON object on one line (JSON Lines: a batch prints one line per
input, in order). Keys are identifiers, never display labels, and do not depend on
the input. Every record has

``schema``
    ``"o3d-meshless/<command>/<version>"``: a script checks it before reading the rest.
``command``, ``input``
    The subcommand and the file read (the shipped sample's path without INPUT).
``n_points``
    Points of the input.
``options``
    The options used, every key always present (``null`` where one does not apply).
``warnings``
    Every warning of the run in CLI words (also printed on stderr unless ``-q``).
``outputs``
    Files written. ``timings``: seconds per stage.

A failed input gives ``schema``, ``command``, ``input``, ``error`` (the message of the
``o3d-meshless: error:`` line) and ``warnings`` only.

A value type is one of ``"str" "int" "float" "bool" "dict" "stats"`` (``{"min",
"mean", "max"}`` over the finite values, ``null`` when there are none), ``"list[T]"``,
or any of these followed by ``?`` for "or null". :func:`check_record` checks a record.
"""
from __future__ import annotations

__all__ = ["SCHEMAS", "COMMON", "ERROR", "schema_id", "check_record"]

#: keys of every successful record
COMMON = {"schema": "str", "command": "str", "input": "str", "n_points": "int",
          "options": "dict", "warnings": "list[str]", "outputs": "list[str]",
          "timings": "dict"}

#: keys of the record of a failed input
ERROR = {"schema": "str", "command": "str", "input": "str", "error": "str",
         "warnings": "list[str]"}

_DIAGNOSTICS = "dict?"    # counts: guard_rows, failed_rows, positive_rows, boundary_rows
_NEIGHBOURS = {"k": "int", "workers": "int", "orient": "str?"}
_OPERATOR = {**_NEIGHBOURS, "form": "str", "mass": "str?", "method": "str?",
             "order": "int?"}

#: command -> {"version", "options", "results"}: the keys of ``options`` and the keys
#: the command adds beside :data:`COMMON`, with their value types
SCHEMAS = {
    "info": {"version": 1, "options": {}, "results": {
        "type": "str", "dimension": "int", "n_faces": "int?", "bbox_min": "list[float]",
        "bbox_max": "list[float]", "spacing": "float?", "normals": "bool", "colors": "bool",
        "duplicates": "int", "attributes": "list[str]"}},
    "spectrum": {"version": 1, "options": {"modes": "int", **_OPERATOR,
                                           "show_modes": "list[int]"}, "results": {
        "eigenvalues": "list[float]", "report": "dict", "diagnostics": _DIAGNOSTICS}},
    "gradient": {"version": 1, "options": {"field": "str", "k": "int", "workers": "int",
                                           "orient": "str?", "method": "str",
                                           "order": "int"}, "results": {
        "field": "stats", "grad_norm": "stats", "diagnostics": _DIAGNOSTICS}},
    "laplacian": {"version": 1, "options": {**_OPERATOR, "field": "str?"}, "results": {
        "matrix": "dict", "area": "float", "lf": "stats?", "diagnostics": _DIAGNOSTICS}},
    "geodesic": {"version": 1, "options": {"source": "list[int]", "t": "float?",
                                           "boundary": "str", **_NEIGHBOURS}, "results": {
        "sources": "list[int]", "t": "float", "spacing": "float", "distance": "stats",
        "n_unreachable": "int"}},
    "curvature": {"version": 1, "options": {"order": "int", **_NEIGHBOURS}, "results": {
        "mean_curvature": "stats", "gaussian_curvature": "stats", "k1": "stats",
        "k2": "stats", "residual": "stats"}},
    "hks": {"version": 1, "options": {"modes": "int", "times": "list[float]?",
                                      "n_times": "int", **_NEIGHBOURS}, "results": {
        "n_modes": "int", "times": "list[float]", "columns": "list[str]",
        "hks": "list[stats]"}},
    "smooth": {"version": 1, "options": {"iterations": "int", "field": "str?", "how": "str?",
                                         **_NEIGHBOURS}, "results": {
        "mode": "str", "spacing": "float?", "displacement_over_spacing": "stats?",
        "field_name": "str?", "field": "stats?", "smoothed": "stats?"}},
    "logmap": {"version": 1, "options": {"source": "list[int]", "t_factor": "float",
                                         **_NEIGHBOURS}, "results": {
        "source": "int", "t": "float", "spacing": "float", "distance": "stats",
        "u": "stats", "v": "stats", "n_unreachable": "int"}},
    "transport": {"version": 1, "options": {"source": "list[int]", "vector": "list[float]?",
                                            "t_factor": "float", **_NEIGHBOURS}, "results": {
        "sources": "list[int]", "t": "float", "spacing": "float", "length": "stats",
        "n_unreachable": "int"}},
}


def schema_id(command):
    """The ``schema`` value of a command's records.

    Parameters
    ----------
    command : str
        A key of :data:`SCHEMAS`.

    Returns
    -------
    schema : str

    Examples
    --------
    >>> schema_id("hks")
    'o3d-meshless/hks/1'
    """
    return f"o3d-meshless/{command}/{SCHEMAS[command]['version']}"


def _matches(value, kind):
    if kind.endswith("?"):
        return value is None or _matches(value, kind[:-1])
    if kind.startswith("list[") and kind.endswith("]"):
        return isinstance(value, list) and all(_matches(v, kind[5:-1]) for v in value)
    if kind == "stats":
        return (isinstance(value, dict) and set(value) == {"min", "mean", "max"}
                and all(_matches(v, "float") for v in value.values())) or value is None
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, {"str": str, "bool": bool, "dict": dict}[kind])


def check_record(record):
    """Check one ``--json`` record against its command's schema.

    Parameters
    ----------
    record : dict
        One parsed line of ``--json`` output.

    Returns
    -------
    problems : list of str
        Empty when the record follows the schema: every key present with its type, no
        other key, ``options`` with exactly its keys.

    Examples
    --------
    >>> check_record({"schema": "o3d-meshless/info/1", "command": "info"})[0]
    'missing key input'
    """
    command = record.get("command")
    if command not in SCHEMAS:
        return [f"unknown command {command!r}"]
    problems = []
    if record.get("schema") != schema_id(command):
        problems.append(f"schema is {record.get('schema')!r}, not {schema_id(command)!r}")
    spec = SCHEMAS[command]
    expected = dict(ERROR) if "error" in record else {**COMMON, **spec["results"]}
    for key, kind in expected.items():
        if key not in record:
            problems.append(f"missing key {key}")
        elif not _matches(record[key], kind):
            problems.append(f"{key} = {record[key]!r} is not {kind}")
    problems += [f"unexpected key {key}" for key in record if key not in expected]
    if "error" not in record and isinstance(record.get("options"), dict):
        options = record["options"]
        for key, kind in spec["options"].items():
            if key not in options:
                problems.append(f"missing option {key}")
            elif not _matches(options[key], kind):
                problems.append(f"option {key} = {options[key]!r} is not {kind}")
        problems += [f"unexpected option {key}" for key in options
                     if key not in spec["options"]]
    return problems
