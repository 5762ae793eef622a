"""Puts the user's current tasks in every page, for the progress bars in base.html."""

from django.utils.functional import SimpleLazyObject

from exports.selectors import current_tasks


def tasks(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_tasks": []}
    return {
        "current_tasks": SimpleLazyObject(
            lambda: [task.as_message() for task in current_tasks(user)]
        )
    }
