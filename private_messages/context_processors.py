"""The unread count of the navigation bar's "Messages" link, read only by pages that show it."""

from django.utils.functional import SimpleLazyObject

from private_messages.selectors import unread_count


def unread_messages(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_messages": SimpleLazyObject(lambda: unread_count(user.pk))}
