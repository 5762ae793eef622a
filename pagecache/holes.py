"""Rendering a page with holes, and filling them for one request.

The parts a cached page cannot share between requests are rendered as markers: each CSRF token
(masked anew for every response, and tied to the browser's CSRF cookie) and each ``{% live %}``
template. A marker holds a nonce drawn for that render, so no post body or other content of the
page can forge one. ``render`` returns the page split at its markers: text, hole, text, ... ;
``fill`` puts the request's own values in the holes.
"""

import re
import secrets

from django.middleware.csrf import get_token
from django.template import RequestContext
from django.template.loader import get_template

CSRF = ":csrf"  # the hole of every {% csrf_token %} (template names have no leading colon)
RECORDER = "pagecache_recorder"  # the context variable {% live %} marks its holes through


class Recorder:
    """The holes of one render, each marked in the output as ``pagecache-<nonce>-<n>.``."""

    def __init__(self):
        self.nonce = secrets.token_hex(16)
        self.holes: list[str] = []

    def mark(self, hole: str) -> str:
        if hole not in self.holes:
            self.holes.append(hole)
        return f"pagecache-{self.nonce}-{self.holes.index(hole)}."

    def split(self, html: str) -> list[str]:
        pieces = re.split(rf"pagecache-{self.nonce}-(\d+)\.", html)
        return [self.holes[int(piece)] if i % 2 else piece for i, piece in enumerate(pieces)]


def render(template_name: str, context: dict, request) -> list[str]:
    """The page's parts: the even ones are text, the odd ones the names of its holes."""
    recorder = Recorder()
    context = {**context, RECORDER: recorder, "csrf_token": recorder.mark(CSRF)}
    return recorder.split(get_template(template_name).render(context, request))


def fill(parts: list[str], request) -> str:
    """The page for this request. A live template sees only what the context processors give
    (the request, its user, messages, tasks ...), not the view's context."""
    live = _live([hole for hole in dict.fromkeys(parts[1::2]) if hole != CSRF], request)
    token = get_token(request) if CSRF in parts[1::2] else None  # one masking a page
    return "".join(live.get(part, token) if i % 2 else part for i, part in enumerate(parts))


def _live(names: list[str], request) -> dict[str, str]:
    """Each live template rendered once, in page order, all in one context: its processors
    run once, and their lazy values (the user's tasks, the unread count) are read at most once."""
    if not names:
        return {}
    templates = {name: get_template(name).template for name in names}
    context = RequestContext(request)
    with context.bind_template(next(iter(templates.values()))):
        return {name: template.render(context) for name, template in templates.items()}
