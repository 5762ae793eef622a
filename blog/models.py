"""Posts and the follow graph."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

POST_MAX_LENGTH = 280


class Post(models.Model):
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    body = models.CharField(max_length=POST_MAX_LENGTH)
    timestamp = models.DateTimeField(default=timezone.now)
    # The import task that wrote this post (imports/publishing.py): while that task is not
    # succeeded, its posts are provisional and deleted if it fails or is cancelled.
    import_task_id = models.CharField(  # noqa: DJ001 - NULL: not from an import
        max_length=64, null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-timestamp"]
        # Pages walk these from a (timestamp, id) cursor (keyset/__init__.py): with the id in
        # the key the index alone gives their order, ties included, so no page sorts.
        indexes = [
            # "Posts of a user in time order": profiles, timelines and exports.
            models.Index(fields=["author", "timestamp", "id"], name="post_author_time"),
            # Everyone's posts in time order: explore.
            models.Index(fields=["timestamp", "id"], name="post_time"),
            # Finding an import's posts by its tag (undo): a partial index, which posts written
            # on the site do not enter, and no LIKE twin (PostgreSQL's varchar_pattern_ops
            # index that db_index adds): every indexed row costs an import a write.
            models.Index(
                fields=["import_task_id"],
                name="post_import_task",
                condition=Q(import_task_id__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.author}: {self.body[:40]}"


class Follow(models.Model):
    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_links"
    )
    followed = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followed"], name="follow_once"),
            models.CheckConstraint(
                condition=~Q(follower=models.F("followed")), name="no_self_follow"
            ),
        ]

    def __str__(self):
        return f"{self.follower} → {self.followed}"
