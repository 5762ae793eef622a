"""The versions the server patches were written and tested for, and the checks against them.

Each patch reaches into private parts of daphne, Twisted, autobahn or CPython's collector, which
any release may change without notice: on a version not listed here a patch could do nothing
(``ResponseBackpressure`` once did) or break the server, so ``install()`` refuses it. Upgrading
one of these means running ``serverpatches/tests/`` against it, then updating this table (and
``requirements.txt``, which pins the same versions).
"""

import hashlib
import importlib
import inspect
import sys

KNOWN = {
    "daphne": "4.2.3",
    "twisted": "26.10.0",
    "autobahn": "26.11.1",
    "cpython": "3.13",  # the collector's thresholds and pymalloc's block count
}


def found():
    """The running version of each component of ``KNOWN``."""
    running = {"cpython": "{}.{}".format(*sys.version_info[:2])}
    for name in KNOWN.keys() - running.keys():
        running[name] = importlib.import_module(name).__version__
    return running


def unknown(requires, running):
    """What, among the components a patch ``requires``, runs at a version it does not know."""
    return [
        f"written for {name} {KNOWN[name]}, this is {name} {running[name]}"
        for name in requires
        if running[name] != KNOWN[name]
    ]


def fingerprint(function):
    """The sha256 of a function's source, as ``inspect.getsource`` gives it."""
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()


def changed_copies(copies):
    """Which of ``copies`` ("module:Class.function" -> its fingerprint when a patch copied it)
    no longer has that source: the patch's copy would undo what the new version changed."""
    changed = []
    for path, recorded in copies.items():
        module, _, name = path.partition(":")
        function = importlib.import_module(module)
        for attribute in name.split("."):
            function = getattr(function, attribute)
        # Once patched, the attribute is the copy: compare daphne's own, which it replaces
        # (a wrapper made with functools.wraps is unwrapped by inspect itself).
        function = getattr(function, "replaces", function)
        if fingerprint(function) != recorded:
            changed.append(f"{name} differs from the copy it replaces")
    return changed
