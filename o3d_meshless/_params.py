"""``get_params`` / ``set_params`` / ``__repr__`` for the estimators, scikit-learn style.

The parameters are the keyword-only arguments of ``__init__``, stored unchanged as
attributes of the same name (checked in ``fit``, never in ``__init__``).
"""
from __future__ import annotations

import inspect

import numpy as np

__all__ = ["Params"]


class Params:
    """Mixin: parameters read from the ``__init__`` signature."""

    @classmethod
    def _param_defaults(cls):
        sig = inspect.signature(cls.__init__)
        return {name: p.default for name, p in sig.parameters.items()
                if p.kind is p.KEYWORD_ONLY}

    def get_params(self, deep=True):
        """The estimator's parameters as a dict (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_defaults()}

    def set_params(self, **params):
        """Set parameters by name; returns ``self``. Unknown names are a ``ValueError``."""
        known = self._param_defaults()
        for name, value in params.items():
            if name not in known:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}; its "
                                 f"parameters are {', '.join(sorted(known))}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        changed = []
        for name, default in self._param_defaults().items():
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                changed.append(f"{name}=<array of shape {value.shape}>")
            elif not (value is default or _equal(value, default)):
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


def _equal(a, b):
    try:
        return bool(a == b)
    except Exception:          # pragma: no cover - exotic values that do not compare
        return False
