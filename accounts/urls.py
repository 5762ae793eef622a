from django.urls import include, path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("profile/", views.edit_profile, name="edit_profile"),
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("", include("django.contrib.auth.urls")),
]
