from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from accounts.views import set_language
from blog import views
from ops import health
from ops.metrics import endpoint as metrics
from usertasks.views import notifications

urlpatterns = [
    path("", views.index, name="index"),
    path("explore/", views.explore, name="explore"),
    path("user/<str:username>/", views.profile, name="profile"),
    path("user/<str:username>/follow", views.follow, name="follow"),
    path("user/<str:username>/unfollow", views.unfollow, name="unfollow"),
    path("accounts/", include("accounts.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("exports/", include("exports.urls")),
    path("exports/", include("usertasks.urls")),  # status, cancel, dismiss: every kind's
    path("imports/", include("imports.urls")),
    path("messages/", include("private_messages.urls")),
    path("notifications/", notifications, name="notifications"),
    path("admin/django-rq/", include("django_rq.urls")),
    # Staff bookmarks from before tasks had their own app (one release).
    re_path(
        r"^admin/exports/task/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/usertasks/task/%(rest)s", query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Browsers ask every site for it; the admin's pages name no icon, so answer without a 404.
    path("favicon.ico", views.favicon, name="favicon"),
]

handler500 = "ops.errors.server_error_or_unavailable"
