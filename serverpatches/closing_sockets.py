"""Drop what the application sends on a websocket that daphne has begun to close.

daphne skips a reply for a connection it knows is gone, but between its own close frame (the
``--websocket_timeout``, a flood's ``FLOODING`` close, an application's close) and the client's
answer, up to autobahn's one-second close handshake, the connection is not yet gone: a message
sent then reaches autobahn, which raises ``Disconnected``, and the consumer ends with a traceback
in daphne's log. A socket's snapshot, still being sent when its timeout closed it, did so on a
loaded machine. The client can no longer receive anything there, so the message is dropped, as
daphne drops one for a closed connection.

Written for one daphne and autobahn: ``serverpatches.install()`` refuses, with one log line, to
patch others.
"""

import functools
import sys

REQUIRES = ("daphne", "autobahn")
WITHOUT = "a message sent to a closing websocket ends its consumer with a traceback"


def install():
    """Wrap daphne's websocket reply handler; idempotent."""
    protocol = sys.modules["daphne.ws_protocol"].WebSocketProtocol
    if getattr(protocol.handle_reply, "drops_on_closing", False):
        return
    protocol.handle_reply = _dropping_sends_on_closing(protocol.handle_reply)


def _dropping_sends_on_closing(handle_reply):
    @functools.wraps(handle_reply)
    def wrapper(self, message):
        closing = self.state in (self.STATE_CLOSING, self.STATE_CLOSED)
        if closing and message["type"] == "websocket.send":
            return
        handle_reply(self, message)

    wrapper.drops_on_closing = True
    return wrapper
