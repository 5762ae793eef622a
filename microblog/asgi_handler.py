"""Django's ASGI handler, with the middleware chain run synchronously in one thread."""

from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    """Under ASGI Django builds an async middleware chain: every middleware that can run async
    does (Django's own: sessions, locale, CSRF, auth, messages...) and hops to a thread for each
    of its sync hooks, and a sync-only one (WhiteNoise) hops back to the event loop for the rest
    of the chain. The view and the database are sync here, so that was about a dozen thread
    hops per request for nothing. This handler builds the sync chain (as under WSGI) and runs
    all of it, view included, in one hop to the request's thread. Nothing else changes: the
    response is sent as Django's ASGI handler sends it."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        # The one hop: thread-sensitive, so the view runs where the middleware did.
        self._middleware_chain = self.adapt_method_mode(True, self._middleware_chain, False)
