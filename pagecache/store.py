"""Pages in Redis: ``serve`` for the views that cache one, ``touch`` for the writers of what
they show (pagecache/__init__.py)."""

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse

import redis_clients
from pagecache import holes

logger = logging.getLogger(__name__)
# Seconds to wait for Redis: a page that cannot be read from it is rendered instead.
TIMEOUT = 0.5
# Between a stored page's parts: NUL, which no post, name or text of the site can hold (a page
# that holds one anyway is not stored). Splitting on it costs a tenth of decoding JSON.
SEPARATOR = "\0"


@dataclass
class Page:
    """What ``serve`` renders on a miss: a template, its context, and for how many seconds at
    most the result may be served again (relative times age)."""

    template_name: str
    context: dict
    ttl: int


def _client() -> redis.Redis:
    return redis_clients.client(timeout=TIMEOUT)


def _token_key(source: str) -> str:
    return f"pagecache:source:{source}"


def _digest(tokens) -> str:
    """What CHECK computes in Redis from the same tokens."""
    return hashlib.sha1(b"\n".join(token or b"-" for token in tokens)).hexdigest()  # noqa: S324


# A stored page's parts if its sources' tokens still give its digest, else nil: one round trip.
CHECK = """
local page = redis.call('HMGET', KEYS[1], 'digest', 'sources', 'parts')
if not page[1] then return false end
local keys, tokens = {}, {}
for source in string.gmatch(page[2], '[^\\n]+') do keys[#keys + 1] = ARGV[1] .. source end
for first = 1, #keys, 1000 do
  local chunk = redis.call('MGET', unpack(keys, first, math.min(first + 999, #keys)))
  for _, token in ipairs(chunk) do tokens[#tokens + 1] = token or '-' end
end
if redis.sha1hex(table.concat(tokens, '\\n')) ~= page[1] then return false end
return page[3]
"""


@cache
def _check(client):
    return client.register_script(CHECK)


def _rendered(page: Page, request) -> list[str]:
    return holes.render(page.template_name, page.context, request)


def _uncached(page: Callable[[], Page], request) -> HttpResponse:
    return HttpResponse(holes.fill(_rendered(page(), request), request))


def serve(
    request, *, key: str, sources: Callable[[], list[str]], page: Callable[[], Page]
) -> HttpResponse:
    """The page stored under ``key`` if none of the sources it was rendered from changed since,
    else ``page()`` rendered, stored and returned. ``key`` names everything else the page
    depends on (the user, the language, the path ...). ``sources()`` names what it shows; it is
    read before ``page()`` runs the page's queries."""
    if settings.PAGE_CACHE_SECONDS <= 0:
        return _uncached(page, request)
    client = _client()
    stored_key = "pagecache:page:" + hashlib.sha256(key.encode()).hexdigest()
    try:
        stored = _check(client)(keys=[stored_key], args=[_token_key("")])
        if stored is not None:
            return HttpResponse(holes.fill(stored.decode().split(SEPARATOR), request))
        names = sources()
        digest = _digest(client.mget([_token_key(name) for name in names]) if names else [])
    except redis.RedisError as error:
        logger.debug("page cache unreachable, rendering: %s", error)
        return _uncached(page, request)
    rendered = page()
    parts = _rendered(rendered, request)
    ttl = min(rendered.ttl, settings.PAGE_CACHE_SECONDS)
    if ttl > 0 and not any(SEPARATOR in part for part in parts):
        entry = {"digest": digest, "sources": "\n".join(names), "parts": SEPARATOR.join(parts)}
        try:
            with client.pipeline() as pipe:  # MULTI: never a page without its expiry
                pipe.hset(stored_key, mapping=entry).expire(stored_key, ttl).execute()
        except redis.RedisError as error:
            logger.debug("page cache unreachable, not stored: %s", error)
    return HttpResponse(holes.fill(parts, request))


def touch(*sources: str) -> None:
    """New change tokens for these sources once the current transaction commits (at once
    outside one): every stored page that shows one of them is stale from then on."""
    if sources:
        transaction.on_commit(lambda: _touch(set(sources)))


def _touch(sources: set[str]) -> None:
    # A token outlives every page stored before it was written: a page stored while the
    # source had no token could otherwise match again once the token expired.
    ttl = 2 * max(settings.PAGE_CACHE_SECONDS, 0) + 60
    try:
        with _client().pipeline(transaction=False) as pipe:
            for source in sources:
                pipe.set(_token_key(source), secrets.token_hex(8), ex=ttl)
            pipe.execute()
    except redis.RedisError as error:
        # The pages that show them are then served until they expire (PAGE_CACHE_SECONDS).
        logger.warning("page cache: could not mark %d sources changed: %s", len(sources), error)
