"""Keep daphne from parsing form bodies that only Django reads.

daphne's requests are Twisted ``http.Request`` objects, which by default parse every
multipart/form-data POST into ``request.args`` before daphne hands the body to the application:
the whole body read into memory, then through the standard library's e-mail parser. daphne never
reads ``args``; Django parses the same body again. For a 243 MB archive upload this took three
quarters of daphne's CPU (6 of 8 s) and held several copies of the body in memory at once.
Twisted's own switch, ``parsePOSTFormSubmission=False``, turns that off.
"""

import functools
import sys

REQUIRES = ("daphne", "twisted")
WITHOUT = "Twisted parses every form body that only Django reads"


def install():
    """Make every daphne request skip Twisted's form parsing; idempotent."""
    protocol = sys.modules["daphne.http_protocol"]
    if getattr(protocol.WebRequest.__init__, "bodies_left_to_django", False):
        return
    original = protocol.WebRequest.__init__

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    __init__.bodies_left_to_django = True
    protocol.WebRequest.__init__ = __init__
