from django.contrib import admin

from blog.models import Follow, Post
from blog.timeline_page import users_changed


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("short_body", "author", "timestamp")
    list_filter = (("timestamp", admin.DateFieldListFilter),)
    search_fields = ("body", "author__username")
    list_select_related = ("author",)
    raw_id_fields = ("author",)
    date_hierarchy = "timestamp"
    show_full_result_count = False  # counting millions of posts on every page is slow

    # Deleting posts sends no signal the timeline pages hear (blog/signals.py): say it here.
    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        users_changed(obj.author_id)

    def delete_queryset(self, request, queryset):
        authors = set(queryset.values_list("author_id", flat=True))
        super().delete_queryset(request, queryset)
        users_changed(*authors)

    @admin.display(description="body")
    def short_body(self, post):
        return post.body if len(post.body) <= 60 else post.body[:59] + "…"


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followed", "created_at")
    search_fields = ("follower__username", "followed__username")
    list_select_related = ("follower", "followed")
    raw_id_fields = ("follower", "followed")
