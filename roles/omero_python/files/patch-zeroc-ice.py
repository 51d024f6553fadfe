#!/usr/bin/env python3
"""Patch the zeroc-ice 3.6.5 source distribution so that it builds on Python 3.11 to 3.13.

Usage: patch-zeroc-ice.py SOURCE_DIR

- Python 3.11: <eval.h> and <compile.h> are gone; PyThreadState->frame is opaque, so the current
  frame comes from PyEval_GetFrame() (available on every Python 3).
- Python 3.12: the pure-Python part imports the removed `imp` module; types.ModuleType replaces
  imp.new_module.
- GCC 14: implicit declarations are errors; the bundled mcpp needs _DEFAULT_SOURCE for readlink().
- Python 3.13: PyEval_CallObject and PyObject_AsReadBuffer are removed; a compatibility block in
  Config.h (included first by every source file) maps them to PyObject_CallObject and the buffer
  protocol.
Each substitution is checked: the script fails loudly when the source is not the one it expects,
and running it twice changes nothing.
"""
import pathlib
import sys

COMPAT_MARKER = "/* omero-deploy: Python >= 3.13 compatibility */"
COMPAT_BLOCK = COMPAT_MARKER + """
#if PY_VERSION_HEX >= 0x030D0000
#  define PyEval_CallObject(callable, args) PyObject_CallObject(callable, args)
static inline int IcePy_AsReadBuffer(PyObject* obj, const void** buf, Py_ssize_t* len)
{
    Py_buffer view;
    if(PyObject_GetBuffer(obj, &view, PyBUF_SIMPLE) != 0)
    {
        return -1;
    }
    *buf = view.buf;
    *len = view.len;
    PyBuffer_Release(&view);
    return 0;
}
#  define PyObject_AsReadBuffer IcePy_AsReadBuffer
#endif
"""

# (file, old, new): old must be present unless new already is.
EDITS = [
    ("src/Slice.cpp", "#include <compile.h>\n", ""),
    ("src/Slice.cpp", "#include <eval.h>\n", ""),
    ("src/Util.cpp", "#include <compile.h>\n", ""),
    ("src/Util.cpp", "PyFrameObject *f = PyThreadState_GET()->frame;",
     "PyFrameObject *f = PyEval_GetFrame();"),
    ("src/Config.h", "#include <Python.h>\n", "#include <Python.h>\n" + COMPAT_BLOCK),
    ("lib/Ice.py", "import sys, string, imp, os, threading, warnings, datetime",
     "import sys, string, types, os, threading, warnings, datetime"),
    ("lib/Ice.py", "nmod = imp.new_module(curr)", "nmod = types.ModuleType(curr)"),
    # GCC 14 (Debian 13) makes implicit function declarations an error.
    # configed.H defines _POSIX_C_SOURCE 1, which hides readlink(); _DEFAULT_SOURCE restores it.
    ("src/ice/mcpp/system.c", '#include    "system.H"\n',
     '#define _DEFAULT_SOURCE 1 /* omero-deploy: readlink() under GCC 14 */\n#include    "system.H"\n'),
]


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    root = pathlib.Path(argv[1])
    edited = 0
    for rel, old, new in EDITS:
        path = root / rel
        text = path.read_text()
        if old in text and not (new and new in text):
            path.write_text(text.replace(old, new, 1))
            edited += 1
        elif new and new in text:
            continue  # already patched
        elif not new and old not in text:
            continue  # line already removed
        else:
            sys.exit(f"{path}: expected text not found: {old!r}")
    print(f"patched {root} ({edited} edits)" if edited else f"already patched: {root}")


if __name__ == "__main__":
    main(sys.argv)
