"""Opt-in convenience methods on the Open3D and trimesh geometry classes.

``register()`` adds ``laplace_beltrami``, ``spectrum`` and ``surface_gradient`` to the
point-cloud and mesh classes; ``unregister()`` removes exactly what it added. Importing
``o3d_meshless`` patches nothing.
"""
from __future__ import annotations

import logging

__all__ = ["register", "unregister"]

log = logging.getLogger(__name__)

_METHODS = ("laplace_beltrami", "spectrum", "surface_gradient")
_PATCHED = []  # list of (class, method name) that register() added
_MARK = "_o3d_meshless_method"


def _make_method(fname):
    def method(self, *args, **kwargs):
        import o3d_meshless
        return getattr(o3d_meshless, fname)(self, *args, **kwargs)

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
        classes += [o3d.geometry.PointCloud, o3d.t.geometry.PointCloud]
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


def register():
    """Add ``laplace_beltrami``, ``spectrum`` and ``surface_gradient`` methods.

    Opt-in: importing ``o3d_meshless`` patches nothing. After ``register()``,
    ``pcd.spectrum(n_modes=10)`` is ``o3d_meshless.spectrum(pcd, n_modes=10)`` for
    ``open3d.geometry.PointCloud``, ``open3d.t.geometry.PointCloud``,
    ``trimesh.PointCloud`` and ``trimesh.Trimesh`` (the classes of whichever of the two
    libraries is installed). A class attribute that already exists and was not added
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


def unregister():
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
