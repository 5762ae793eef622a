from django.contrib import admin

from private_messages.models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Who wrote to whom and when, never what: only the sender and the recipient read a
    message. Read-only; deleting stays possible, so that deleting a user deletes theirs."""

    list_display = ("timestamp", "sender", "recipient")
    list_display_links = None
    list_select_related = ("sender", "recipient")
    search_fields = ("sender__username", "recipient__username")
    show_full_result_count = False
    fields = ("sender", "recipient", "timestamp")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
