"""Run a package's setup.py with its C and C++ sources compiled in parallel, one job per CPU.

setuptools' `build_ext --parallel` only builds separate extensions side by side; zeroc-ice has a single
extension of about 400 C++ files, so its build would use one core. Usage, in the source directory:
    python3 parallel_setup.py [setup.py arguments...]
"""
import importlib
import os
import runpy
import sys
from concurrent.futures import ThreadPoolExecutor

import setuptools  # noqa: F401  (first: it selects the distutils that setup.py will use)

ccompiler = importlib.import_module("distutils.ccompiler")


def parallel_compile(self, sources, output_dir=None, macros=None, include_dirs=None, debug=False,
                     extra_preargs=None, extra_postargs=None, depends=None):
    macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
        output_dir, macros, include_dirs, sources, depends, extra_postargs)
    cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)

    def compile_one(obj):
        if obj in build:
            src, ext = build[obj]
            self._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(compile_one, objects))  # list(): re-raise the first compile error
    return objects


ccompiler.CCompiler.compile = parallel_compile
sys.argv = ["setup.py", *sys.argv[1:]]
runpy.run_path("setup.py", run_name="__main__")
