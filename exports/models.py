"""Task: one row per background job, its id being the RQ job id (SPEC §6)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class TaskQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=Task.ACTIVE_STATUSES)

    def of(self, user):
        return self.filter(user=user)


class Task(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)

    id = models.CharField(primary_key=True, max_length=64, editable=False)
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    done = models.PositiveBigIntegerField(default=0)
    total = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the worker produced the current state; clients measure latency and order by it.
    updated_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Something the user should know about a task that otherwise succeeded.
    notice = models.CharField(max_length=500, blank=True)
    result = models.FileField(upload_to="exports/", max_length=255, blank=True)
    result_size = models.PositiveBigIntegerField(null=True, blank=True)
    # Set when the retention job deleted the file; downloads then answer 410 Gone.
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two quick clicks must not start two exports: the database decides.
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_task_per_user_and_name",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="progress_at_most_100"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="task_user_created")]

    def __str__(self):
        return f"{self.description} ({self.status})"

    @property
    def is_active(self):
        return self.status in self.ACTIVE_STATUSES

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def download_url(self):
        if self.status == self.Status.SUCCEEDED and self.result and not self.purged_at:
            return reverse("exports:download", kwargs={"task_id": self.pk})
        return None

    def as_message(self):
        """The task object of SPEC §6, shared by the websocket, /status and the page."""
        return {
            "id": self.pk,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "progress": self.progress,
            "done": self.done,
            "total": self.total,
            "error": self.error,
            "notice": self.notice,
            "download_url": self.download_url,
            "created_at": _iso(self.created_at),
            "finished_at": _iso(self.finished_at),
            "updated_at": _iso(self.updated_at or self.created_at),
        }


def _iso(moment):
    return moment.isoformat(timespec="microseconds") if moment else None
