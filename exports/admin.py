from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from exports import services
from exports.models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "name",
        "status",
        "progress",
        "created_at",
        "duration",
        "purged_at",
    )
    list_filter = ("status", "name", ("purged_at", admin.EmptyFieldListFilter))
    search_fields = ("=id", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = (
        "id",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
        "duration",
        "done",
        "total",
        "progress",
        "result_size",
    )
    actions = ("cancel_selected", "retry_failed")

    @admin.action(description=_("Cancel selected tasks"))
    def cancel_selected(self, request, queryset):
        cancelled = 0
        for task in queryset.active():
            try:
                services.cancel_task(task=task)
                cancelled += 1
            except services.TaskError:
                pass
        message = ngettext("Cancelled %(count)d task.", "Cancelled %(count)d tasks.", cancelled)
        self.message_user(request, message % {"count": cancelled}, messages.SUCCESS)

    @admin.action(description=_("Retry failed tasks"))
    def retry_failed(self, request, queryset):
        retried = 0
        for task in queryset.filter(status=Task.Status.FAILED).select_related("user"):
            try:
                services.retry_task(task=task)
                retried += 1
            except services.TaskError as refusal:
                self.message_user(request, f"{task.user}: {refusal}", messages.WARNING)
        message = ngettext("Retried %(count)d task.", "Retried %(count)d tasks.", retried)
        self.message_user(request, message % {"count": retried}, messages.SUCCESS)
