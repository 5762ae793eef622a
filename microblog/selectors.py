"""Reads used by the blog's views."""

from microblog.models import Follow


def follow_counts(user):
    return {
        "followers": Follow.objects.filter(followed=user).count(),
        "following": Follow.objects.filter(follower=user).count(),
    }


def is_following(follower, followed):
    if not follower.is_authenticated:
        return False
    return Follow.objects.filter(follower=follower, followed=followed).exists()
