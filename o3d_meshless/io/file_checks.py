"""Does a point-cloud file hold what its header promises, and did the reader get it?

Open3D's readers are lenient: a binary PLY cut short comes back padded with zeros, an
ASCII line it cannot parse is skipped or read as 0, and a ``.pts`` header promising
more points than the file holds yields uninitialised memory. :func:`check_file`
re-reads the numbers independently (the header with Python, the ASCII body with
``numpy.loadtxt``) and raises a ``ValueError`` naming the file when the two disagree,
so a corrupt file is refused instead of silently turned into wrong points.
"""
from __future__ import annotations

import warnings

import numpy as np
from .._warnings import warn

__all__ = ["check_file", "check_header", "check_obj", "check_off", "check_vertices"]

_PLY_SIZES = {"char": 1, "uchar": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2,
              "int16": 2, "uint16": 2, "int": 4, "uint": 4, "int32": 4, "uint32": 4,
              "float": 4, "float32": 4, "double": 8, "float64": 8}
_PCD_SIZES_OK = {"1", "2", "4", "8"}
_HEAD_BYTES = 65536


def check_file(path, ext, positions):
    """Refuse ``path`` if the ``(n, 3)`` ``positions`` a reader returned differ from
    what the file holds; warn when an ASCII file's last line may have been cut.

    Parameters
    ----------
    path : pathlib.Path
        The file that was read.
    ext : str
        Its lower-case extension (``".ply"``, ``".pcd"``, ``".xyz"``, ``".xyzn"``,
        ``".pts"``); other extensions are not checked.
    positions : ndarray, shape (n, 3)
        What the reader returned.

    Raises
    ------
    ValueError
        The file is truncated, its header promises another number of points, or a
        number in it cannot be parsed.
    """
    checker = {".ply": _check_ply, ".pcd": _check_pcd, ".xyz": _check_xyz,
               ".xyzn": _check_xyz, ".pts": _check_pts}.get(ext)
    if checker is not None:
        checker(path, np.asarray(positions, dtype=np.float64))


def _corrupt(path, why):
    return ValueError(f"`path` {str(path)!r} is truncated or corrupt: {why}")


def _check_count(path, promised, got, what="points"):
    """The reader must return as many points as the header promises."""
    if got.shape[0] != promised:
        raise _corrupt(path, f"its header promises {promised} {what} and the reader "
                             f"returned {got.shape[0]}")


def _check_size(path, offset, promised, per_point, what="points"):
    """A binary body must be long enough for the points the header promises."""
    if per_point and path.stat().st_size < offset + promised * per_point:
        raise _corrupt(path, f"its header promises {promised} {what} and the file holds fewer")


def _read_head(path):
    with open(path, "rb") as fh:
        return fh.read(_HEAD_BYTES)


def _parse_rows(path, offset, promised, columns):
    """Parse ``promised`` rows (all rows if None) of numbers starting at byte
    ``offset``; return the ``columns`` of them as float64 ``(rows, len(columns))``."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")          # "input contained no data"
                rows = np.loadtxt(fh, dtype=np.float64, ndmin=2, max_rows=promised,
                                  comments="#", encoding="latin-1")
        except ValueError as err:
            raise _corrupt(path, f"a number cannot be read ({err})") from None
    if rows.shape[0] and rows.shape[1] <= max(columns):
        raise _corrupt(path, f"its lines have {rows.shape[1]} numbers, fewer than the "
                             f"{max(columns) + 1} its format needs")
    return rows[:, list(columns)] if rows.shape[0] else np.empty((0, len(columns)))


def _compare(path, got, parsed, promised=None):
    if promised is not None and parsed.shape[0] != promised:
        raise _corrupt(path, f"its header promises {promised} points and the file holds "
                             f"{parsed.shape[0]}")
    if got.shape[0] != parsed.shape[0]:
        raise _corrupt(path, f"the reader returned {got.shape[0]} points but the file "
                             f"holds {parsed.shape[0]} lines of numbers")
    # float32 files are compared at float32 precision, relative to the cloud's extent;
    # NaN is left to the finiteness check that follows every read
    finite = parsed[np.isfinite(parsed)]
    atol = 1e-6 * float(np.abs(finite).max()) if finite.size else 0.0
    same = np.isclose(got, parsed, rtol=1e-6, atol=atol, equal_nan=True).all(axis=1)
    if not same.all():
        bad = int(np.argmin(same))
        raise _corrupt(path, f"point {bad} was read as {got[bad].tolist()} but the file "
                             f"says {parsed[bad].tolist()}")


def _warn_if_cut(path):
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return
        fh.seek(-1, 2)
        last = fh.read(1)
    if last not in (b"\n", b"\r"):
        warn(f"{str(path)!r} does not end with a line break; if it was cut "
             f"short, its last point may be wrong", RuntimeWarning)


def _ply_header(path):
    """``(binary, count, row, first, names, header_len)`` of a PLY's vertex element
    (``row``: bytes per vertex, None with list properties), or None without a header."""
    head = _read_head(path)
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        return None                                  # Open3D refuses it
    header_len = head.index(b"\n", end) + 1 if b"\n" in head[end:] else len(head)
    binary, count, row, element, first, names = False, None, 0, None, None, []
    for line in head[:end].decode("ascii", "replace").splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "format":
            binary = len(words) > 1 and words[1].startswith("binary")
        elif words[0] == "element":
            element = words[1] if len(words) > 1 else None
            first = element if first is None else first
            if element == "vertex" and len(words) > 2 and words[2].isdigit():
                count = int(words[2])
        elif words[0] == "property" and element == "vertex":
            if len(words) > 1 and words[1] == "list":
                row = None                           # variable size: cannot be checked
            elif row is not None and len(words) > 2:
                row += _PLY_SIZES.get(words[1], 0)
                names.append(words[2])
    return binary, count, row, first, names, header_len


def check_header(path, ext):
    """Refuse, before a reader allocates for it, a header promising more points than
    the file can hold (binary: bytes per point; text: at least "0 " per number).

    Parameters
    ----------
    path : pathlib.Path
        The file about to be read.
    ext : str
        Its lower-case extension; ``.ply``, ``.pcd`` and ``.pts`` are checked.

    Raises
    ------
    ValueError
        The declared count cannot fit in the file.
    """
    if ext == ".ply" and (header := _ply_header(path)) is not None:
        binary, count, row, _, names, header_len = header
        if count is not None:
            _check_size(path, header_len, count, row if binary else 2 * max(len(names), 1),
                        "vertices")
    elif ext == ".pts":
        with open(path, "rb") as fh:
            words = fh.readline(256).split()
        if len(words) == 1 and words[0].isdigit():
            _check_size(path, len(words[0]), int(words[0]), 6)      # "0 0 0\n"
    elif ext == ".pcd":
        head = _pcd_header(path)
        if head is not None:
            fields, sizes, counts, points, data, offset = head
            if data == "ascii":
                _check_size(path, offset, points, 2 * len(fields))
            elif data == "binary" and sizes and set(sizes) <= _PCD_SIZES_OK:
                _check_size(path, offset, points, _pcd_row(sizes, counts))


def _check_ply(path, got):
    header = _ply_header(path)
    if header is None:
        return
    binary, count, row, first, names, header_len = header
    if count is None:
        return
    if binary:
        _check_size(path, header_len, count, row, "vertices")
        _check_count(path, count, got, "vertices")
        return
    if row is None or first != "vertex" or not {"x", "y", "z"} <= set(names):
        _check_count(path, count, got, "vertices")
        return
    columns = [names.index(c) for c in "xyz"]
    _compare(path, got, _parse_rows(path, header_len, count, columns), count)
    if _ends_after_vertices(path, header_len, count):
        _warn_if_cut(path)


def _ends_after_vertices(path, header_len, count):
    """True when nothing but the vertex lines follows the header (then a missing final
    line break may mean the last vertex was cut)."""
    with open(path, "rb") as fh:
        fh.seek(header_len)
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    return lines <= count


def _pcd_header(path):
    """``(fields, sizes, counts, points, data, offset)`` of a PCD header, or None."""
    head = _read_head(path)
    fields, sizes, counts, points, data, offset = None, None, None, None, None, 0
    for raw in head.split(b"\n"):
        offset += len(raw) + 1
        words = raw.decode("ascii", "replace").split()
        if not words or words[0].startswith("#"):
            continue
        key = words[0].upper()
        if key == "FIELDS":
            fields = words[1:]
        elif key == "SIZE":
            sizes = words[1:]
        elif key == "COUNT":
            counts = words[1:]
        elif key == "POINTS" and len(words) > 1 and words[1].isdigit():
            points = int(words[1])
        elif key == "DATA":
            data = words[1].lower() if len(words) > 1 else None
            break
    if points is None or data is None or fields is None:
        return None                                  # Open3D refuses it
    return fields, sizes, counts, points, data, offset


def _pcd_row(sizes, counts):
    return sum(int(s) * int(c) for s, c in zip(sizes, counts or ["1"] * len(sizes))
               if c.isdigit())


def _check_pcd(path, got):
    head = _pcd_header(path)
    if head is None:
        return
    fields, sizes, counts, points, data, offset = head
    if data != "ascii":
        if data == "binary" and sizes and set(sizes) <= _PCD_SIZES_OK:
            _check_size(path, offset, points, _pcd_row(sizes, counts))
        _check_count(path, points, got)
        return
    if counts and any(c != "1" for c in counts) or not {"x", "y", "z"} <= set(fields):
        _check_count(path, points, got)
        return
    columns = [fields.index(c) for c in "xyz"]
    _compare(path, got, _parse_rows(path, offset, None, columns), points)
    _warn_if_cut(path)


def _check_xyz(path, got):
    _compare(path, got, _parse_rows(path, 0, None, (0, 1, 2)))
    _warn_if_cut(path)


def _check_pts(path, got):
    with open(path, "rb") as fh:
        first = fh.readline()
    words = first.split()
    if len(words) != 1 or not words[0].isdigit():
        raise ValueError(f"`path` {str(path)!r}: a .pts file starts with a line holding "
                         f"its number of points; this one starts with "
                         f"{first[:60].decode('latin-1').strip()!r} (for plain 'x y z' "
                         f"lines, name the file .xyz)")
    _compare(path, got, _parse_rows(path, len(first), None, (0, 1, 2)), int(words[0]))
    _warn_if_cut(path)


def check_obj(path):
    """Parse the ``v`` lines of an OBJ file as the ``(n, 3)`` array it holds; refuse the
    file if a ``v`` line does not hold three numbers or an ``f`` line names a vertex
    that does not exist (index 0, or beyond the ``v`` lines). Compare the result with
    what trimesh read through :func:`check_vertices` (a line cut inside a vertex shifts
    trimesh's parse of every number after it)."""
    rows, faces = [], []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if line.startswith((b"v ", b"v\t")):
                words = line.split()[1:4]
                try:
                    rows.append([float(w) for w in words])
                except ValueError:
                    raise _corrupt(path, f"line {number} has a vertex that is not a "
                                         f"number: {line[:60].decode('latin-1').strip()!r}"
                                   ) from None
                if len(words) < 3:
                    raise _corrupt(path, f"line {number} has a vertex with fewer than 3 "
                                         f"coordinates")
            elif line.startswith((b"f ", b"f\t")):
                faces.append((number, len(rows), line))
    for number, before, line in faces:
        _check_obj_face(path, number, before, len(rows), line)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 3)


def check_vertices(path, vertices, parsed):
    """Refuse ``path`` when the ``(n, 3)`` ``vertices`` a reader returned differ from the
    ``parsed`` ones of :func:`check_obj` / :func:`check_off`."""
    got = np.asarray(vertices, dtype=np.float64)
    if got.ndim != 2 or got.shape[1] != 3:
        raise _corrupt(path, f"its vertices were read with shape {got.shape}")
    _compare(path, got, parsed)


def _check_obj_face(path, number, before, total, line):
    """OBJ indices count from 1; negative ones count back from the last vertex so far."""
    for word in line.split()[1:]:
        try:
            index = int(word.split(b"/", 1)[0])
        except ValueError:
            raise _corrupt(path, f"line {number} has a face index that is not an integer: "
                                 f"{word[:20].decode('latin-1')!r}") from None
        if index == 0 or index > total or -index > before:
            why = ("OBJ vertex indices start at 1" if index == 0 else
                   f"the file has {total if index > 0 else before} vertices "
                   f"{'in all' if index > 0 else 'before it'}")
            raise _corrupt(path, f"line {number} has face index {index}: {why}")


def check_off(path):
    """Parse an OFF file's vertices as the ``(n, 3)`` array it holds; refuse the file if
    its count line is not two or three non-negative integers or disagrees with the data
    lines that follow (trimesh slices the lines by the counts, so a negative or wrong
    count silently drops vertices or faces)."""
    with open(path, "rb") as fh:
        lines = [ln.split(b"#", 1)[0].split() for ln in fh]
    lines = [ln for ln in lines if ln]
    if not lines or not lines[0][0].upper().endswith(b"OFF"):
        raise _corrupt(path, "it does not start with 'OFF'")
    counts = lines[0][1:] or (lines[1] if len(lines) > 1 else [])
    body = lines[1:] if lines[0][1:] else lines[2:]
    if len(counts) < 2 or not all(c.isdigit() for c in counts[:3]):
        got = b" ".join(counts[:3]).decode("latin-1")
        raise _corrupt(path, "its count line must be 'vertices faces [edges]' as "
                             f"non-negative integers; got {got!r}")
    n_vertices, n_faces = int(counts[0]), int(counts[1])
    if len(body) != n_vertices + n_faces:
        raise _corrupt(path, f"its header declares {n_vertices} vertices and {n_faces} faces "
                             f"({n_vertices + n_faces} lines) and the file holds "
                             f"{len(body)} data lines")
    try:
        parsed = np.array([[float(w) for w in ln[:3]] for ln in body[:n_vertices]],
                          dtype=np.float64).reshape(-1, 3)
    except ValueError:
        raise _corrupt(path, "a vertex line does not hold 3 numbers") from None
    for ln in body[n_vertices:]:
        size = int(ln[0]) if ln[0].isdigit() else -1
        if not (0 <= size < len(ln) and all(w.isdigit() and int(w) < n_vertices
                                            for w in ln[1:1 + size])):
            raise _corrupt(path, f"the face line {b' '.join(ln)[:40].decode('latin-1')!r} "
                                 f"does not hold its number of indices, each in 0.."
                                 f"{n_vertices - 1}")
    return parsed
