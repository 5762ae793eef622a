"""Pages kept rendered in Redis and checked, on every hit, against the sources they show.

A page is rendered once with its per-request parts left as holes (holes.py): each CSRF token
and each ``{% live "template" %}`` (the task cards, the flashes, the unread count). It is stored
with a digest of its sources' change tokens (for the timeline: the reader and everyone they
follow). A hit costs one Redis call (a Lua script reads the page and its sources' tokens and
compares the digest) and the holes' small templates, where a render costs the page's queries
and every node of its templates (bench/RESULTS.md §13).

A source takes a new token (``touch``) after each commit that changes what it shows; the next
hit of a page that shows it sees another digest and renders the page again. Tokens are read
before the page's queries and written after the writer's commit, so a page never keeps a
digest newer than its content. Pages expire after their ``ttl`` anyway: relative times age,
and a touch lost while Redis was unreachable is forgotten by then. Without Redis, pages are
rendered on every request as if there were no cache.
"""

from pagecache.store import serve, touch

__all__ = ["serve", "touch"]
