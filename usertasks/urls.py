from django.urls import path, register_converter

from usertasks import views


class TaskIdConverter:
    """Task ids are RQ job ids we mint as uuid4 hex; anything else is simply not found."""

    regex = "[0-9a-f]{32}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(TaskIdConverter, "task_id")

# Mounted under /exports/, where the first kind put them: pages and links already use them.
app_name = "tasks"
urlpatterns = [
    path("<task_id:task_id>/status", views.status, name="status"),
    path("<task_id:task_id>/cancel", views.cancel, name="cancel"),
    path("<task_id:task_id>/dismiss", views.dismiss, name="dismiss"),
]
