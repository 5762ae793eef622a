"""Puts the user's current tasks in every page, for the progress bars in base.html."""

from django.utils.functional import SimpleLazyObject

from usertasks.selectors import current_tasks


def tasks(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_tasks": [], "final_task_ids": []}
    cards = SimpleLazyObject(lambda: [task.as_message() for task in current_tasks(user)])
    return {
        "current_tasks": cards,
        # A flash about one of these gives way to its card (usertasks/flashes.py).
        "final_task_ids": SimpleLazyObject(
            lambda: [card["id"] for card in cards if not card["active"]]
        ),
    }
