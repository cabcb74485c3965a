"""The stencil-method registry: name → :class:`~o3d_meshless.stencils.spec.MethodSpec`.

Built from the ``METHOD`` spec each method module exports. :func:`get_method` is the one
place a ``method=`` value is validated; :func:`method_options` the one place
method-specific options are checked. :func:`register_method` adds a method (one kernel
wrapper and one spec) without touching any other module.
"""
from __future__ import annotations

from .._validation import check_option
from .gsp import CLSGSP, LSGSP
from .moments import METHOD as MOMENTS
from .orthopoly import METHOD as ORTHOPOLY
from .taylor import METHOD as TAYLOR
from .spec import MethodSpec

__all__ = ["METHODS", "DEFAULT_METHOD", "get_method", "register_method",
           "unregister_method", "method_options"]

#: name → spec of every registered method, in registration order
METHODS: dict[str, MethodSpec] = {}

#: the method of every ``method=`` default
DEFAULT_METHOD = "taylor"


def register_method(spec, *, replace=False):
    """Add ``spec`` to the registry; every operator, ``stencil_weights`` and the CLI
    accept its name from then on.

    Parameters
    ----------
    spec : MethodSpec
    replace : bool, default=False
        Allow replacing a registered method of the same name.

    Examples
    --------
    >>> from o3d_meshless.stencils import METHODS, register_method
    >>> register_method(METHODS["taylor"], replace=True).name
    'taylor'
    """
    if not isinstance(spec, MethodSpec):
        raise ValueError(f"`spec` must be a MethodSpec; got {type(spec).__name__}")
    if spec.name in METHODS and not replace:
        raise ValueError(f"a method named {spec.name!r} is already registered; pass "
                         "replace=True to replace it")
    METHODS[spec.name] = spec
    return spec


def unregister_method(name):
    """Remove a method added with :func:`register_method` (the built-in ones stay)."""
    if name in _BUILT_IN:
        raise ValueError(f"{name!r} is a built-in method and cannot be removed")
    METHODS.pop(name, None)


def get_method(method, *, owner=None):
    """The spec of ``method`` (a registered name or a spec); a ``ValueError`` naming
    ``method`` and listing the registered names otherwise."""
    if isinstance(method, MethodSpec):
        return method
    check_option(method, tuple(METHODS), name="method", owner=owner)
    return METHODS[method]


def method_options(method, *, owner=None, **given):
    """Kernel keywords of ``method`` from the public method-specific options.

    ``given`` maps option names (``centre``, ``rbf``, ``shape``, ``ghosts`` …) to the
    values the user gave (None = not given). An option the method does not take is a
    ``ValueError`` naming it and the methods that do take it.
    """
    spec = get_method(method, owner=owner)
    where = f" of {owner}" if owner else ""
    for opt, val in given.items():
        if val is not None and opt not in spec.options:
            users = "/".join(repr(s.name) for s in METHODS.values() if opt in s.options)
            raise ValueError(f"`{opt}`{where} applies to method {users or 'none'} only; got "
                             f"{val!r} with method {spec.name!r}")
    return spec.check_options({k: v for k, v in given.items() if k in spec.options},
                              owner=owner)


for _spec in (TAYLOR, MOMENTS, ORTHOPOLY, CLSGSP, LSGSP):
    register_method(_spec)
_BUILT_IN = frozenset(METHODS)
