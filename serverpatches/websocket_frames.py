"""Keep what websocket clients send small and rare: a socket that keeps sending is closed.

Task websockets only speak to the browser; a client has nothing to say (usertasks/consumers.py).
Yet daphne accepts client frames of up to 1 MB and puts every message into its connection's
application queue, which has no bound: one user flooding 50 sockets for 30 s took a daphne from
95 MB to 3.9 GB, kept after the flood, and stalled every other user of the process. The queue
fills in daphne's protocol layer, before any ASGI middleware or consumer sees a message, so the
limits are applied there:

- autobahn refuses a frame or a message larger than ``MAX_MESSAGE_BYTES`` (it drops the
  connection as soon as the frame's header announces the size);
- each socket may send ``BURST`` messages, then ``MESSAGES_PER_SECOND`` more; the next one is
  not queued and the socket is closed with ``FLOODING`` (docs/reliability.md).

Written for one daphne and autobahn: ``serverpatches.install()`` refuses, with one log line,
to patch others.
"""

import functools
import logging
import sys
import time

logger = logging.getLogger(__name__)

REQUIRES = ("daphne", "autobahn")
WITHOUT = "websocket client frames are NOT limited"
MAX_MESSAGE_BYTES = 4096
BURST = 20
MESSAGES_PER_SECOND = 2.0
FLOODING = 4008  # close code: autobahn lets a server send only 1000 or 3000-4999


def install():
    """Install the limits in daphne's websocket protocol; idempotent."""
    protocol = sys.modules["daphne.ws_protocol"]
    if getattr(protocol.WebSocketProtocol.onMessage, "limited", False):
        return
    protocol.WebSocketFactory.setProtocolOptions = _capped_sizes(
        protocol.WebSocketFactory.setProtocolOptions
    )
    protocol.WebSocketProtocol.onMessage = _rate_limited(protocol.WebSocketProtocol.onMessage)


def _capped_sizes(set_protocol_options):
    @functools.wraps(set_protocol_options)
    def setProtocolOptions(self, **options):
        for name in ("maxFramePayloadSize", "maxMessagePayloadSize"):
            given = options.get(name) or MAX_MESSAGE_BYTES  # autobahn's 0 means no limit
            options[name] = min(given, MAX_MESSAGE_BYTES)
        set_protocol_options(self, **options)

    return setProtocolOptions


def _rate_limited(on_message):
    @functools.wraps(on_message)
    def onMessage(self, payload, isBinary):
        if getattr(self, "_flooding", False):
            # Frames already on their way: dropped until autobahn ends the connection (it drops
            # it if the client does not answer the close within a second).
            return
        now = time.monotonic()
        allowance = getattr(self, "_client_message_allowance", BURST)
        last = getattr(self, "_client_message_time", now)
        allowance = min(BURST, allowance + (now - last) * MESSAGES_PER_SECOND)
        self._client_message_time = now
        if allowance < 1:
            self._flooding = True
            logger.warning("closing a websocket that keeps sending: %s", self.client_addr)
            self.sendClose(code=FLOODING, reason="Too many messages")
            return
        self._client_message_allowance = allowance - 1
        on_message(self, payload, isBinary)

    onMessage.limited = True
    return onMessage
