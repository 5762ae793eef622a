from django.contrib import admin

from blog.models import Follow, Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("short_body", "author", "timestamp")
    list_filter = (("timestamp", admin.DateFieldListFilter),)
    search_fields = ("body", "author__username")
    list_select_related = ("author",)
    raw_id_fields = ("author",)
    date_hierarchy = "timestamp"
    show_full_result_count = False  # counting millions of posts on every page is slow

    @admin.display(description="body")
    def short_body(self, post):
        return post.body if len(post.body) <= 60 else post.body[:59] + "…"


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followed", "created_at")
    search_fields = ("follower__username", "followed__username")
    list_select_related = ("follower", "followed")
    raw_id_fields = ("follower", "followed")
