"""The timeline page, kept rendered for each reader (pagecache/): what it depends on, what it
shows, and the one call every writer of those makes (``users_changed``).

A page's sources are its reader and everyone they follow: a user's token changes when their
posts, their name or the list of whom they follow change (blog/signals.py, imports/publishing.py,
blog/admin.py). Its key holds the rest: the reader (who they are, whether staff) and the
language. Only the first page is kept (blog/views.py): it is the one readers reload, and a
reader paging back cannot fill Redis with a page for each cursor.
"""

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language

import pagecache
from blog.models import Follow
from pagecache.store import Page

# A post under a minute old shows its age in seconds ("12 seconds ago"): its page is kept for
# one second only. Older ones show minutes, hours or dates, which PAGE_CACHE_SECONDS never
# puts more than a unit behind.
FRESH = 60


def _source(user_id) -> str:
    return f"user:{user_id}"


def users_changed(*user_ids) -> None:
    """The posts, name or follow list of these users changed: their timelines and those of
    their followers are rendered again."""
    pagecache.touch(*(_source(pk) for pk in user_ids))


def _sources(user) -> list[str]:
    followed = Follow.objects.filter(follower=user).values_list("followed_id", flat=True)
    return [_source(user.pk), *(_source(pk) for pk in followed)]


def _key(request) -> str:
    user = request.user
    who = f"{user.pk}:{user.date_joined.isoformat()}:{user.username}:{user.is_staff}"
    return f"timeline:{who}:{get_language()}:{request.path}"


def _ttl(page) -> int:
    if not page.rows:
        return settings.PAGE_CACHE_SECONDS
    age = (timezone.now() - page.rows[0].timestamp).total_seconds()
    return 1 if age < FRESH else settings.PAGE_CACHE_SECONDS


def serve(request, context):
    """The reader's timeline page; ``context()`` gives the template's context (with its
    ``page``) when it has to be rendered."""

    def page():
        values = context()
        return Page("microblog/index.html", values, _ttl(values["page"]))

    return pagecache.serve(
        request, key=_key(request), sources=lambda: _sources(request.user), page=page
    )
