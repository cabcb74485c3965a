"""Build the Cython kernels in ``_kernels/`` as ``o3d_meshless._kernels.<name>``.

Environment switches
--------------------
O3D_MESHLESS_NO_OPENMP=1   build without OpenMP (serial kernels).
O3D_MESHLESS_DEBUG=1       turn Cython bounds/wraparound checks back on (debug/test builds).
"""
import os
import sys
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
KERNELS = sorted(p.stem for p in (HERE / "_kernels").glob("*.pyx"))
DEBUG = os.environ.get("O3D_MESHLESS_DEBUG", "") not in ("", "0")
USE_OPENMP = os.environ.get("O3D_MESHLESS_NO_OPENMP", "") in ("", "0")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
}


class BuildExt(build_ext):
    """Pick OpenMP flags per compiler (gcc/clang: -fopenmp, MSVC: /openmp, Apple clang:
    -Xpreprocessor -fopenmp with libomp, e.g. Homebrew's, on CPPFLAGS/LDFLAGS)."""

    def build_extensions(self):
        ctype = self.compiler.compiler_type
        if ctype == "msvc":
            compile_args, link_args = (["/O2", "/openmp"] if USE_OPENMP else ["/O2"]), []
        elif sys.platform == "darwin":
            compile_args = ["-O3"] + (["-Xpreprocessor", "-fopenmp"] if USE_OPENMP else [])
            link_args = ["-lomp"] if USE_OPENMP else []
        else:
            compile_args = ["-O3"] + (["-fopenmp"] if USE_OPENMP else [])
            link_args = ["-fopenmp"] if USE_OPENMP else []
        for ext in self.extensions:
            ext.extra_compile_args = compile_args
            ext.extra_link_args = link_args
        super().build_extensions()


extensions = [
    Extension(
        f"o3d_meshless._kernels.{name}",
        [f"_kernels/{name}.pyx"],
        include_dirs=[np.get_include(), "_kernels"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in KERNELS
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, include_path=["_kernels"]),
    cmdclass={"build_ext": BuildExt},
)
