"""Builds the C extensions of modules written in Cython's pure-Python mode (the metadata is in
pyproject.toml). Each is optional: without a C compiler the same .py source runs as Python,
only slower, so an install never fails for want of one."""

from setuptools import Extension, setup

# Hot loops, compiled where possible (pipeline.extract.html: the DOM walk, once per node).
COMPILED_MODULES = ["pipeline.extract.html"]


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:  # a build without Cython (e.g. --no-build-isolation): pure Python
        return []
    modules = [Extension(name, [name.replace(".", "/") + ".py"], optional=True) for name in COMPILED_MODULES]
    return cythonize(modules, language_level=3, quiet=True,
                     compiler_directives={"binding": False, "embedsignature": False})


setup(ext_modules=extensions())
