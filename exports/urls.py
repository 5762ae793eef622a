from django.urls import path

from exports import views

app_name = "exports"
urlpatterns = [
    path("", views.exports, name="exports"),
    path("<str:task_id>/status", views.status, name="status"),
    path("<str:task_id>/download", views.download, name="download"),
    path("<str:task_id>/cancel", views.cancel, name="cancel"),
]
