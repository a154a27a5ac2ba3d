"""What a module written in Cython's pure-Python mode needs when it runs uncompiled and the
Cython package is not installed: the decorators do nothing and declarations give None
(annotations such as ``cython.int`` are never evaluated under ``from __future__ import
annotations``, but the C types are there for ``cython.declare(cython.Py_ssize_t)``).
setup.py compiles such modules when it can; see docs/architecture.md."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def _same(f: Any) -> Any:
    return f


def _declare(*args: Any, **_kwargs: Any) -> Any:
    """``cython.declare(T)`` gives None, ``cython.declare(T, value)`` the value (as Cython's own
    shadow module does)."""
    return args[1] if len(args) > 1 else None


def _directive(*_args: Any, **_kwargs: Any) -> Any:
    """``cython.boundscheck(False)`` and the like: compiler directives, nothing in Python."""
    return _same


cython = SimpleNamespace(
    compiled=False, cclass=_same, cfunc=_same, ccall=_same, inline=_same, declare=_declare,
    boundscheck=_directive, wraparound=_directive, cdivision=_directive,
    cast=lambda to, value, **_kwargs: to(value),
    # C types, for cython.declare(T) and cython.cast(T, x)
    int=int, bint=bool, Py_ssize_t=int, double=float, longlong=int, ulonglong=int, uchar=int, Py_UCS4=str,
)
