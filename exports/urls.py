from django.urls import path

import usertasks.urls  # noqa: F401 - registers the task_id path converter
from exports import views

app_name = "exports"
urlpatterns = [
    path("", views.exports, name="exports"),
    path("<task_id:task_id>/download", views.download, name="download"),
]
