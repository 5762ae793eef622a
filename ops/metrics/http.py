"""What only this web process knows: the requests it served and the websockets it holds."""

import functools
import time

from django.conf import settings
from prometheus_client import Counter, Gauge, Histogram

from ops.metrics import PROCESS

HTTP_REQUESTS = Counter(
    "microblog_http_requests",
    "HTTP requests served by this web process, by view, method and status code.",
    ["view", "method", "status"],
    registry=PROCESS,
)
HTTP_LATENCY = Histogram(
    "microblog_http_request_duration_seconds",
    "Time this web process took to answer, by view.",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=PROCESS,
)
OPEN_WEBSOCKETS = Gauge(
    "microblog_websockets_open",
    "Websockets this web process holds open (/ws/tasks/).",
    registry=PROCESS,
)

# Anything else is counted as "other": a client must not be able to invent label values.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class HttpMetricsMiddleware:
    """Counts and times each request of this process, labelled by the view that answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match:
            view = match.view_name
        elif request.path.startswith(settings.STATIC_URL):
            # WhiteNoise answers before URL resolution: most requests of a page, kept apart from
            # the requests no view answered.
            view = "<static>"
        else:
            view = "<unresolved>"
        method = request.method if request.method in KNOWN_METHODS else "other"
        latency, requests = self._series(view, method, response.status_code)
        latency.observe(time.perf_counter() - start)
        requests.inc()
        return response

    @staticmethod
    @functools.cache  # views x methods x statuses: a bounded set, kept apart from labels()' lock
    def _series(view, method, status):
        return HTTP_LATENCY.labels(view), HTTP_REQUESTS.labels(view, method, str(status))


class OpenWebsocketsMiddleware:
    """ASGI middleware: keeps OPEN_WEBSOCKETS equal to this process's accepted websockets."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        accepted = False

        async def counting_send(message):
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                OPEN_WEBSOCKETS.inc()
            await send(message)

        try:
            return await self.app(scope, receive, counting_send)
        finally:
            if accepted:
                OPEN_WEBSOCKETS.dec()
