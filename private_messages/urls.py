from django.urls import path

from private_messages import views

app_name = "private_messages"

urlpatterns = [
    path("", views.received, name="messages"),
    path("send/<str:username>/", views.send, name="send"),
]
