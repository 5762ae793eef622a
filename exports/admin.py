"""Tasks in the admin: read-only rows; staff act through actions that take the users' path."""

from django.contrib import admin, messages
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from exports import retention, services
from exports.models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    # No 32-character id column: the list must fit a 1280 px screen. The description links
    # to the task, and the id stays searchable ("=id").
    list_display = ("description", "user", "state", "created", "duration", "purged")
    list_display_links = ("description",)
    list_filter = ("status", "name", ("purged_at", admin.EmptyFieldListFilter))
    search_fields = ("=id", "user__username")
    list_select_related = ("user",)
    fields = (
        "id",
        "user",
        "name",
        "description",
        "status",
        "progress",
        "done",
        "total",
        "error",
        "notice",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
        "duration",
        "result",
        "result_size",
        "purged_at",
        "dismissed_at",
    )
    readonly_fields = fields
    actions = ("cancel_selected", "retry_failed", "purge_files")

    # A row changes only through exports/transitions.py: no adding, editing or deleting here
    # (a hand-made row has no job; an edited status skips the broadcast and the job).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("description"))
    def description(self, task):
        return task.description

    @admin.display(description=_("status"), ordering="status")
    def state(self, task):
        if task.is_active:
            return f"{task.get_status_display()} · {task.progress}%"
        return task.get_status_display()

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, task):
        return _compact(task.created_at)

    @admin.display(description=_("purged"), ordering="purged_at")
    def purged(self, task):
        return _compact(task.purged_at) if task.purged_at else "-"

    @admin.display(description=_("error"))
    def error(self, task):
        return task.error

    @admin.display(description=_("notice"))
    def notice(self, task):
        return task.notice

    @admin.action(description=_("Cancel selected tasks"), permissions=["view"])
    def cancel_selected(self, request, queryset):
        cancelled = 0
        for task in queryset.active():
            try:
                services.cancel_task(task=task, by_staff=True)
                cancelled += 1
            except services.TaskError:
                pass
        message = ngettext("Cancelled %(count)d task.", "Cancelled %(count)d tasks.", cancelled)
        self.message_user(request, message % {"count": cancelled}, messages.SUCCESS)

    @admin.action(description=_("Retry failed tasks"), permissions=["view"])
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

    @admin.action(description=_("Delete the files of selected tasks"), permissions=["view"])
    def purge_files(self, request, queryset):
        purged = sum(retention.purge_task_file(task=task) for task in queryset)
        message = ngettext("Deleted %(count)d file.", "Deleted %(count)d files.", purged)
        self.message_user(request, message % {"count": purged}, messages.SUCCESS)


def _compact(moment):
    """A short local date and time, so that the list fits a 1280 px screen."""
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
