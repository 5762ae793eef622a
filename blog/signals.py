"""What makes a stored timeline page stale, for the writes that go through the ORM one row at
a time (the site's forms, the admin): the bulk writers call ``users_changed`` themselves.

No receiver on a post's deletion: one would make Django load every post it deletes (an
import's undo, an account's cascade) to send it, where it now deletes them in one statement.
Those paths mark their authors changed instead (imports/publishing.py, blog/admin.py, and a
user's own deletion below).
"""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from blog.models import Follow, Post
from blog.timeline_page import users_changed


@receiver(post_save, sender=Post)
def post_saved(sender, instance, **kwargs):
    users_changed(instance.author_id)


@receiver(post_save, sender=Follow)
@receiver(post_delete, sender=Follow)
def follow_changed(sender, instance, **kwargs):
    users_changed(instance.follower_id)


@receiver(post_save, sender=get_user_model())
def user_saved(sender, instance, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= {"last_login", "password"}:
        return  # a log-in or a new password: nothing a timeline shows
    users_changed(instance.pk)


@receiver(post_delete, sender=get_user_model())
def user_deleted(sender, instance, **kwargs):
    users_changed(instance.pk)
