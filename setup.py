"""Builds our C extensions (the metadata is in pyproject.toml). Each is optional, so an install
never fails for want of a C compiler: a module in Cython's pure-Python mode then runs as
Python, and a native module's caller uses its reference implementation instead."""

from setuptools import Extension, setup

# Hot loops, compiled where possible (pipeline.extract.html: the DOM walk, once per node).
COMPILED_MODULES = ["pipeline.extract.html", "filters.text", "filters.ngrams", "filters.quality",
                    "filters.wordlists"]
# Cython-only modules (.pyx): pipeline.fasttext_native (lid.176 prediction; else the binding),
# pipeline.extract.dom_native (html.py's walk over lexbor's structs; else selectolax's objects),
# pipeline.dedup.minhash_native (MinHash signature minima; else numpy).
NATIVE_MODULES = ["pipeline.fasttext_native", "pipeline.extract.dom_native", "pipeline.dedup.minhash_native"]
# C headers a native module includes (rebuilt when they change): minhash_native's AVX-512 loop.
HEADERS = {"pipeline.dedup.minhash_native": ["pipeline/dedup/minima_simd.h"]}


def extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:  # a build without Cython (e.g. --no-build-isolation): pure Python
        return []
    modules = [Extension(name, [name.replace(".", "/") + ".py"], optional=True) for name in COMPILED_MODULES]
    modules += [Extension(name, [name.replace(".", "/") + ".pyx"], depends=HEADERS.get(name, []), optional=True)
                for name in NATIVE_MODULES]
    return cythonize(modules, language_level=3, quiet=True,
                     compiler_directives={"binding": False, "embedsignature": False})


setup(ext_modules=extensions())
