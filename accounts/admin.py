from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from usertasks.models import Task


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "date_joined", "last_login", "post_count", "is_staff")
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined")
    search_fields = ("username", "email", "first_name", "last_name")
    fieldsets = (*BaseUserAdmin.fieldsets, ("Microblog", {"fields": ("about_me", "language")}))

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_post_count=Count("posts"))

    @admin.display(description=_("posts"), ordering="_post_count")
    def post_count(self, user):
        return user._post_count

    def get_deleted_objects(self, objs, request):
        """A user's tasks go with the user (and their files: exports/retention.py), although
        the admin lets no one delete a task on its own."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(Task._meta.verbose_name)
        return deleted, counts, perms_needed, protected
