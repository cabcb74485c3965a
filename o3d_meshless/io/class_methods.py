"""Opt-in convenience methods on the Open3D and trimesh geometry classes.

``register()`` adds ``laplace_beltrami``, ``spectrum`` and ``surface_gradient`` to the
point-cloud and mesh classes; ``unregister()`` removes exactly what it added. Importing
``o3d_meshless`` patches nothing.

Results are cached by content, as trimesh caches by a hash of its arrays: a repeated
call with the same arguments on a geometry whose points, normals and faces have not
changed returns a copy of the stored result instead of computing it again. Changing
the points (or calling with other arguments) computes afresh. The cache keeps the last
:data:`CACHE_SIZE` results; :func:`clear_cache` empties it.
"""
from __future__ import annotations

import copy
import hashlib
import logging
from collections import OrderedDict

import numpy as np

__all__ = ["register", "unregister", "clear_cache", "CACHE_SIZE"]

#: results kept by the registered methods (the oldest is dropped first)
CACHE_SIZE = 8
_CACHE = OrderedDict()

log = logging.getLogger(__name__)

_METHODS = ("laplace_beltrami", "spectrum", "surface_gradient")
_PATCHED = []  # list of (class, method name) that register() added
_MARK = "_o3d_meshless_method"


def clear_cache() -> None:
    """Forget every result the registered methods stored.

    Examples
    --------
    >>> import o3d_meshless, trimesh
    >>> from o3d_meshless.io.class_methods import _CACHE
    >>> patched = o3d_meshless.register()
    >>> _ = trimesh.creation.icosphere(subdivisions=2).spectrum(4)      # computed, then cached
    >>> len(_CACHE)
    1
    >>> o3d_meshless.clear_cache()
    >>> len(_CACHE), o3d_meshless.unregister() == patched
    (0, True)
    """
    _CACHE.clear()


def _digest(arr, h):
    arr = np.ascontiguousarray(arr)
    h.update(str((arr.shape, arr.dtype.str)).encode())
    h.update(arr.view(np.uint8).reshape(-1) if arr.size else b"")


def _fingerprint(geometry):
    """A hash of what the result depends on: points, stored normals, faces."""
    from ..sampling.adapters import as_normals, as_points

    h = hashlib.blake2b(digest_size=16)
    _digest(as_points(geometry, dims=(2, 3)), h)
    normals = as_normals(geometry)
    if normals is not None:
        _digest(normals, h)
    faces = getattr(geometry, "faces", None)
    if faces is None:
        faces = getattr(geometry, "triangles", None)
    if faces is None and getattr(geometry, "triangle", None) is not None:
        faces = geometry.triangle["indices"].numpy() if "indices" in geometry.triangle \
            else None
    if faces is not None:
        _digest(np.asarray(faces), h)
    return h.hexdigest()


def _freeze(value):
    """A hashable stand-in for call arguments (arrays by content)."""
    if isinstance(value, np.ndarray):
        h = hashlib.blake2b(digest_size=16)
        _digest(value, h)
        return ("array", h.hexdigest())
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    hash(value)                                   # TypeError: not cacheable
    return value


def _make_method(fname):
    def method(self, *args, **kwargs):
        import o3d_meshless

        func = getattr(o3d_meshless, fname)
        try:
            key = (fname, _fingerprint(self), _freeze(args), _freeze(kwargs))
        except (TypeError, ValueError):          # arguments we cannot hash: no cache
            return func(self, *args, **kwargs)
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return copy.deepcopy(_CACHE[key])
        result = func(self, *args, **kwargs)
        _CACHE[key] = copy.deepcopy(result)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        return result

    method.__name__ = fname
    method.__qualname__ = fname
    method.__doc__ = (f"Call ``o3d_meshless.{fname}(self, *args, **kwargs)``.\n\n"
                      f"Added by ``o3d_meshless.register()``; see ``o3d_meshless.{fname}``.")
    setattr(method, _MARK, True)
    return method


def _target_classes():
    classes = []
    try:
        import open3d as o3d
        classes += [o3d.geometry.PointCloud, o3d.t.geometry.PointCloud,
                    o3d.geometry.TriangleMesh, o3d.t.geometry.TriangleMesh]
    except ImportError:
        log.debug("open3d not importable; register() skips its classes")
    try:
        import trimesh
        classes += [trimesh.PointCloud, trimesh.Trimesh]
    except ImportError:
        log.debug("trimesh not importable; register() skips its classes")
    return classes


def _label(cls, meth):
    return f"{cls.__module__}.{cls.__qualname__}.{meth}"


def register() -> list[str]:
    """Add ``laplace_beltrami``, ``spectrum`` and ``surface_gradient`` methods.

    Opt-in: importing ``o3d_meshless`` patches nothing. After ``register()``,
    ``pcd.spectrum(n_modes=10)`` is ``o3d_meshless.spectrum(pcd, n_modes=10)`` for
    Open3D's ``PointCloud`` and ``TriangleMesh`` (legacy ``open3d.geometry`` and tensor
    ``open3d.t.geometry``), ``trimesh.PointCloud`` and ``trimesh.Trimesh`` (the classes
    of whichever of the two libraries is installed). Results are cached by content (see
    the module docstring): a repeated call on unchanged points returns a copy at once. A class attribute that already exists and was not added
    by us is left alone (and logged). Calling it again changes nothing.

    Returns
    -------
    patched : list of str
        ``"module.Class.method"`` for every method currently added by ``register``.

    Raises
    ------
    ImportError
        If neither Open3D nor trimesh can be imported.

    Examples
    --------
    >>> import o3d_meshless
    >>> patched = o3d_meshless.register()
    >>> import trimesh
    >>> hasattr(trimesh.Trimesh, "spectrum")
    True
    >>> o3d_meshless.unregister() == patched
    True
    """
    classes = _target_classes()
    if not classes:
        raise ImportError("register() needs Open3D or trimesh; install them with "
                          "`pip install open3d trimesh`")
    for cls in classes:
        for meth in _METHODS:
            if (cls, meth) in _PATCHED:
                continue
            existing = cls.__dict__.get(meth, None) if hasattr(cls, "__dict__") else None
            if existing is None and hasattr(cls, meth):
                existing = getattr(cls, meth)
            if existing is not None and not getattr(existing, _MARK, False):
                log.warning("not patching %s: the class already has that attribute",
                            _label(cls, meth))
                continue
            setattr(cls, meth, _make_method(meth))
            _PATCHED.append((cls, meth))
    return [_label(cls, meth) for cls, meth in _PATCHED]


def unregister() -> list[str]:
    """Remove exactly the methods :func:`register` added.

    Returns
    -------
    removed : list of str
        ``"module.Class.method"`` for every method removed (empty if nothing was
        registered).

    Examples
    --------
    >>> import o3d_meshless
    >>> o3d_meshless.unregister()  # nothing registered
    []
    """
    removed = []
    while _PATCHED:
        cls, meth = _PATCHED.pop(0)
        if getattr(cls.__dict__.get(meth), _MARK, False):
            delattr(cls, meth)
        removed.append(_label(cls, meth))
    return removed
