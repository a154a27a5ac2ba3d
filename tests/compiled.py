"""Helpers shared by the tests of modules setup.py compiles: is there a C compiler (then they
must be compiled), and their .py source loaded again as plain Python, the way an install
without Cython runs it (``import cython`` fails, so pipeline.cython_shim stands in)."""

from __future__ import annotations

import builtins
import importlib.util
import shutil
import sys
import sysconfig
from pathlib import Path
from types import ModuleType


def has_c_compiler() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return bool(shutil.which(compiler) or shutil.which("cc"))


def load_plain(names: list[str]) -> dict[str, ModuleType]:
    """Module name -> a plain-Python copy of that (imported, maybe compiled) module, loaded from
    its .py source in the order given. While they load, each copy also stands under its real
    name, so a later one imports the earlier plain copies; afterwards sys.modules is as before.
    The copies are named ``interleaf_plain_<name>``."""
    real_import = builtins.__import__

    def no_cython(name, *args, **kwargs):
        if name == "cython" or name.startswith("cython."):
            raise ImportError("no Cython here")
        return real_import(name, *args, **kwargs)

    saved = {name: sys.modules[name] for name in names}
    modules: dict[str, ModuleType] = {}
    copies: list[str] = []
    builtins.__import__ = no_cython
    try:
        for name in names:
            source = Path(saved[name].__file__).with_name(name.rsplit(".", 1)[-1] + ".py")
            spec = importlib.util.spec_from_file_location("interleaf_plain_" + name.replace(".", "_"), source)
            module = importlib.util.module_from_spec(spec)
            # dataclasses look their module up while a class is made
            copies.append(spec.name)
            sys.modules[spec.name] = sys.modules[name] = module
            spec.loader.exec_module(module)
            modules[name] = module
    finally:
        builtins.__import__ = real_import
        for copy in copies:
            del sys.modules[copy]
        sys.modules.update(saved)
    return modules
