"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "microblog.settings")
# Django must be set up before anything imports models (the consumers do).
django.setup(set_prefix=False)

from microblog.asgi_handler import SyncChainASGIHandler  # noqa: E402

django_asgi_app = SyncChainASGIHandler()  # Django's, with one thread hop per request

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from imports.size_guard import ImportSizeGuard  # noqa: E402
from microblog.request_guard import MalformedRequestGuard  # noqa: E402
from microblog.websocket_origins import SameOriginValidator  # noqa: E402
from ops.metrics.http import OpenWebsocketsMiddleware  # noqa: E402
from serverpatches import CountSends, ResponseBackpressure, install  # noqa: E402
from usertasks.routing import websocket_urlpatterns  # noqa: E402

install()  # daphne's internals, patched for this site's scale (serverpatches/; SERVER_PATCHES)

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
