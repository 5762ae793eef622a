from django.urls import path

from usertasks.consumers import TaskConsumer

websocket_urlpatterns = [
    path("ws/notifications/", TaskConsumer.as_asgi()),
    path("ws/tasks/", TaskConsumer.as_asgi()),  # the stream's first name, kept for old pages
]
