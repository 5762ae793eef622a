"""Tasks in the admin: read-only rows; staff act through actions that take the users' path."""

from collections import Counter

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from usertasks import results, services
from usertasks.kinds import all_kinds
from usertasks.models import Task


class KindFilter(admin.SimpleListFilter):
    """By kind, in words ("Export"), where a plain filter on ``kind`` showed "export_posts"."""

    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind.name, kind.label) for kind in all_kinds()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    # No 32-character id column: the list must fit a 1280 px screen. The description links
    # to the task, and the id stays searchable ("=id").
    list_display = ("description", "user", "state", "reason", "created", "duration", "purged")
    list_display_links = ("description",)
    list_filter = ("status", KindFilter, ("purged_at", admin.EmptyFieldListFilter))
    search_fields = ("=id", "user__username")
    list_select_related = ("user",)
    fields = (
        "id",
        "user",
        "kind",
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
        "file",
        "purged_at",
        "dismissed_at",
    )
    readonly_fields = fields
    actions = ("cancel_selected", "retry_failed", "purge_files")

    # A row changes only through usertasks/transitions.py: no adding, editing or deleting here
    # (a hand-made row has no job; an edited status skips the broadcast and the job).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [
            path("<str:task_id>/download/", download, name="usertasks_task_download"),
            *super().get_urls(),
        ]

    def download_view(self, request, task_id):
        """The task's file for staff: MEDIA_ROOT is served by no one (the owner's own link
        checks the owner, this one the staff member's view permission)."""
        task = get_object_or_404(Task, pk=task_id)
        if not self.has_view_permission(request, task):
            raise PermissionDenied
        response = results.file_response(task)
        if response is None:
            self.message_user(request, gettext("This task's file is gone."), messages.WARNING)
            return redirect("admin:usertasks_task_change", task.pk)
        return response

    @admin.display(description=_("description"))
    def description(self, task):
        return task.kind_spec.described_for_staff(task.user.username)

    @admin.display(description=_("status"), ordering="status")
    def state(self, task):
        if task.is_active:
            return f"{task.get_status_display()} · {task.progress}%"
        return task.get_status_display()

    @admin.display(description=_("reason"))
    def reason(self, task):
        return task.error or task.notice or "-"

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, task):
        return _compact(task.created_at)

    @admin.display(description=_("duration"))
    def duration(self, task):
        return _duration(task.duration) if task.duration is not None else "-"

    @admin.display(description=_("purged"), ordering="purged_at")
    def purged(self, task):
        return _compact(task.purged_at) if task.purged_at else "-"

    @admin.display(description=_("error"))
    def error(self, task):
        return task.error or self.get_empty_value_display()

    @admin.display(description=_("notice"))
    def notice(self, task):
        return task.notice or self.get_empty_value_display()

    @admin.display(description=_("file"))
    def file(self, task):
        if not task.result:
            return "-"
        if task.purged_at:
            return task.notice or gettext("Deleted")
        url = reverse("admin:usertasks_task_download", args=[task.pk])
        size = filesizeformat(task.result_size) if task.result_size is not None else ""
        return format_html('<a href="{}">{}</a> {}', url, gettext("Download posts.json"), size)

    @admin.action(description=_("Cancel selected tasks"), permissions=["view"])
    def cancel_selected(self, request, queryset):
        cancelled = finished = 0
        for task in queryset:
            try:
                services.cancel_task(task=task, by_staff=True)
                cancelled += 1
            except services.TaskError:  # finished before, or while staff looked
                finished += 1
        if cancelled:
            message = ngettext("Cancelled %(count)d task.", "Cancelled %(count)d tasks.", cancelled)
            self.message_user(request, message % {"count": cancelled}, messages.SUCCESS)
        if finished:
            message = ngettext(
                "%(count)d task was not cancelled because it had already finished.",
                "%(count)d tasks were not cancelled because they had already finished.",
                finished,
            )
            self.message_user(request, message % {"count": finished}, messages.WARNING)

    @admin.action(description=_("Retry failed tasks"), permissions=["view"])
    def retry_failed(self, request, queryset):
        retried = 0
        skipped = Counter()
        for task in queryset.select_related("user"):
            if task.status != Task.Status.FAILED:
                skipped["not_failed"] += 1
            elif not task.kind_spec.relaunch:
                skipped["not_retryable"] += 1
            else:
                try:
                    services.retry_task(task=task)
                    retried += 1
                except services.TaskError as refusal:
                    text = gettext("%(task)s was not retried: %(reason)s")
                    described = task.kind_spec.described_for_staff(task.user.username)
                    self.message_user(
                        request, text % {"task": described, "reason": refusal}, messages.WARNING
                    )
        if retried:
            message = ngettext("Retried %(count)d task.", "Retried %(count)d tasks.", retried)
            self.message_user(request, message % {"count": retried}, messages.SUCCESS)
        for why, phrase in RETRY_SKIPPED.items():
            if count := skipped[why]:
                self.message_user(request, phrase(count) % {"count": count}, messages.WARNING)

    @admin.action(description=_("Delete the files of selected tasks"), permissions=["view"])
    def purge_files(self, request, queryset):
        """Asks first, as Django's own delete action does; the owner is told staff did it."""
        with_file = [task for task in queryset.select_related("user") if _has_file(task)]
        without_file = queryset.count() - len(with_file)
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": gettext("Delete the files of these tasks?"),
                "opts": self.model._meta,
                "queryset": queryset,
                "with_file": [
                    (task.kind_spec.described_for_staff(task.user.username), task)
                    for task in with_file
                ],
                "without_file": without_file,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            template = "admin/usertasks/task/purge_confirmation.html"
            return TemplateResponse(request, template, context)
        purged = sum(results.purge_task_file(task=task, by_staff=True) for task in with_file)
        skipped = without_file + len(with_file) - purged
        if purged:
            message = ngettext("Deleted %(count)d file.", "Deleted %(count)d files.", purged)
            self.message_user(request, message % {"count": purged}, messages.SUCCESS)
        if skipped:
            message = ngettext(
                "%(count)d task was skipped because it has no file.",
                "%(count)d tasks were skipped because they have no file.",
                skipped,
            )
            self.message_user(request, message % {"count": skipped}, messages.WARNING)


RETRY_SKIPPED = {
    "not_failed": lambda count: ngettext(
        "%(count)d task was not retried because only failed tasks can be retried.",
        "%(count)d tasks were not retried because only failed tasks can be retried.",
        count,
    ),
    "not_retryable": lambda count: ngettext(
        "%(count)d task was not retried because tasks of its kind cannot be started again.",
        "%(count)d tasks were not retried because tasks of their kind cannot be started again.",
        count,
    ),
}


def _has_file(task):
    return bool(task.result) and task.purged_at is None


def _compact(moment):
    """A short local date and time, so that the list fits a 1280 px screen."""
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _duration(delta):
    """ "0.4 s", "2 min 5 s", "1 h 3 min": what a person reads, not "0:00:00.366839"."""
    seconds = delta.total_seconds()
    if seconds < 60:
        return gettext("%(seconds)s s") % {"seconds": formats.number_format(round(seconds, 1), 1)}
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return gettext("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": seconds}
    hours, minutes = divmod(minutes, 60)
    return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
