"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microblog.settings")
# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from exports.routing import websocket_urlpatterns  # noqa: E402
from imports.size_guard import ImportSizeGuard  # noqa: E402
from microblog.backpressure import ResponseBackpressure  # noqa: E402
from microblog.connection_checks import spread_connection_checks  # noqa: E402
from microblog.logging import route_daphne_access_log  # noqa: E402
from microblog.metrics import OpenWebsocketsMiddleware  # noqa: E402
from microblog.quiet_collections import CountSends, collect_when_quiet  # noqa: E402
from microblog.request_bodies import leave_request_bodies_to_django  # noqa: E402
from microblog.request_guard import MalformedRequestGuard  # noqa: E402
from microblog.request_limits import limit_request_bodies  # noqa: E402
from microblog.websocket_frames import limit_client_frames  # noqa: E402
from microblog.websocket_origins import SameOriginValidator  # noqa: E402

route_daphne_access_log()  # daphne's access log in the same one-event-per-line format
leave_request_bodies_to_django()  # daphne's Twisted would parse every upload once more
limit_request_bodies()  # daphne held every request body in memory, whatever its size
spread_connection_checks()  # daphne's sweeps over every socket at once held the loop 20-70 ms
collect_when_quiet()  # a full collection with 5,000 sockets held it 0.5-1.3 s
limit_client_frames()  # daphne queued every client frame without bound

application = MalformedRequestGuard(
    ProtocolTypeRouter(
        {
            # daphne holds response bodies in memory unless the sender waits. The
            # pacing needs daphne's own send: CountSends, which wraps it, goes inside.
            "http": ResponseBackpressure(CountSends(ImportSizeGuard(django_asgi_app))),
            "websocket": CountSends(
                OpenWebsocketsMiddleware(
                    SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
                )
            ),
        }
    )
)
