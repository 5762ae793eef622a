"""daphne's access log through logging, so it keeps the one event per line format.

daphne's CLI writes its access log (HTTP requests, websocket connects) straight to stdout as
NCSA text. It builds its access logger only after importing the application, so ``install()``
from asgi.py swaps the class in time; nothing changes if daphne's CLI is not what runs.
"""

import logging
import sys

from daphne.access import AccessLogGenerator

REQUIRES = ("daphne",)
WITHOUT = "daphne's access log is plain text on stdout"


class LoggingAccessLog(AccessLogGenerator):
    """daphne's access log entries as ``daphne.access`` log records instead of raw writes."""

    logger = logging.getLogger("daphne.access")

    def write_entry(self, host, date, request, status=None, length=None, ident=None, user=None):
        self.logger.info('%s "%s" %s %s', host, request, status or "-", length or "-")


def install():
    cli = sys.modules.get("daphne.cli")
    if cli is not None and getattr(cli, "AccessLogGenerator", None) is AccessLogGenerator:
        cli.AccessLogGenerator = LoggingAccessLog
