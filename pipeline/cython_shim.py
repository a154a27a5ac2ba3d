"""What a module written in Cython's pure-Python mode needs when it runs uncompiled and the
Cython package is not installed: the decorators do nothing and declarations give None
(annotations such as ``cython.int`` are never evaluated under ``from __future__ import
annotations``, but the C types are there for ``cython.declare(cython.Py_ssize_t)``). setup.py compiles such modules when it can; see docs/architecture.md."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def _same(f: Any) -> Any:
    return f


def _declare(*_args: Any, **_kwargs: Any) -> None:
    return None


cython = SimpleNamespace(compiled=False, cclass=_same, cfunc=_same, ccall=_same, declare=_declare,
                         int=int, bint=bool, Py_ssize_t=int, double=float)


def _directive(*_args: Any, **_kwargs: Any) -> Any:
    """``cython.boundscheck(False)`` and the like: compiler directives, nothing in Python."""
    return _same


cython.inline = _same
cython.boundscheck = cython.wraparound = cython.cdivision = _directive
cython.Py_UCS4 = str
cython.longlong = int
cython.ulonglong = int
cython.cast = lambda to, value, **_kwargs: to(value)
cython.uchar = int
