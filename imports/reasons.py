"""The import kind's own reason codes (usertasks/reasons.py holds those every kind shares).

They reach the renderer through the kind's ``texts`` (imports/kinds.py): a kind brings its own
vocabulary, and the shared modules know nothing of archives.
"""

from collections.abc import Mapping

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Why an archive cannot be imported (imports/archive.py): an import keeps all its posts or
# none, so each text says that none were kept. ``index`` counts posts from 0, as in
# the file's "posts" array; ``value`` is the start of the offending timestamp.
ARCHIVE_NOT_JSON = "archive_not_json"
ARCHIVE_TRUNCATED = "archive_truncated"
ARCHIVE_WRONG_SHAPE = "archive_wrong_shape"
ARCHIVE_OVERSIZED_VALUE = "archive_oversized_value"  # a string or number no archive holds
POST_WRONG_SHAPE = "post_wrong_shape"
POST_BODY_EMPTY = "post_body_empty"
POST_BODY_TOO_LONG = "post_body_too_long"
POST_BODY_NUL = "post_body_nul"
POST_BAD_TIMESTAMP = "post_bad_timestamp"
POST_FUTURE_TIMESTAMP = "post_future_timestamp"
# What a finished import did.
IMPORTED = "imported"  # {"imported": n, "skipped": m}

TEXTS: Mapping[str, Promise] = {
    ARCHIVE_NOT_JSON: _("The file is not a JSON archive of posts. No post was imported."),
    ARCHIVE_TRUNCATED: _(
        "The file ends too early: the archive is truncated. No post was imported."
    ),
    ARCHIVE_WRONG_SHAPE: _(
        'The file is JSON but not an archive of posts: it must be {"posts": [...]}. '
        "No post was imported."
    ),
    ARCHIVE_OVERSIZED_VALUE: _(
        "The file holds a value far longer than any post: it is not an archive of posts. "
        "No post was imported."
    ),
    POST_WRONG_SHAPE: _(
        'Post %(index)d is not an object with a text "body" and a text "timestamp". '
        "No post was imported."
    ),
    POST_BODY_EMPTY: _("Post %(index)d has an empty body. No post was imported."),
    POST_BODY_TOO_LONG: _(
        "Post %(index)d has %(length)d characters; posts are limited to %(limit)d. "
        "No post was imported."
    ),
    POST_BODY_NUL: _(
        "Post %(index)d contains a NUL character, which posts cannot hold. No post was imported."
    ),
    POST_BAD_TIMESTAMP: _(
        'Post %(index)d has a timestamp that is not ISO 8601: "%(value)s". No post was imported.'
    ),
    POST_FUTURE_TIMESTAMP: _(
        'Post %(index)d has a timestamp in the future: "%(value)s". No post was imported.'
    ),
    IMPORTED: _("Imported %(imported)s posts; skipped %(skipped)s already present."),
}
