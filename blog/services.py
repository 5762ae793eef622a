"""The only places that change posts and the follow graph."""

from blog.models import Follow, Post


def post_create(*, author, body):
    post = Post(author=author, body=body)
    post.full_clean()
    post.save()
    return post


def follow(*, follower, followed):
    if follower.pk == followed.pk:
        raise ValueError("You cannot follow yourself.")
    Follow.objects.get_or_create(follower=follower, followed=followed)


def unfollow(*, follower, followed):
    Follow.objects.filter(follower=follower, followed=followed).delete()
