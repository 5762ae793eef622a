"""Starting an export: count the user's posts once, then launch the task (usertasks/services.py)."""

from typing import TYPE_CHECKING

from django.conf import settings

from blog.models import Post
from exports.kinds import EXPORT_POSTS
from usertasks.models import Task
from usertasks.services import launch_task

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser as User


def export_timeout(post_count: int) -> int:
    """Seconds an export of ``post_count`` posts may run: generous, but scaled to its size."""
    return settings.TASK_TIMEOUT_BASE + post_count // settings.EXPORT_TIMEOUT_POSTS_PER_SECOND


def export_launch(*, user: "User") -> Task:
    # Counting a big user's posts takes a noticeable fraction of the export: count once, here,
    # and hand the figure to the job for its progress total.
    post_count = Post.objects.filter(author=user).count()
    return launch_task(
        user=user,
        kind=EXPORT_POSTS,
        args=(post_count,),
        job_timeout=export_timeout(post_count),
    )
