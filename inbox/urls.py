from django.urls import path

from inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.received, name="messages"),
    path("send/<str:username>/", views.send, name="send"),
]
