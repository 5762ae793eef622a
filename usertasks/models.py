"""Task: one row per background job, its id being the RQ job id.

Rows are written only by usertasks/transitions.py. Texts are stored as codes with parameters
(usertasks/reasons.py) and rendered in the reader's language by the properties below.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from usertasks.kinds import TaskKind, get_kind


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
    kind = models.CharField(max_length=64)  # the name of its kind (usertasks/kinds.py)
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
    # Why it failed, and something its owner should know otherwise: codes of usertasks/reasons.py.
    error_code = models.CharField(max_length=32, blank=True)
    error_params = models.JSONField(default=dict, blank=True)
    notice_code = models.CharField(max_length=32, blank=True)
    notice_params = models.JSONField(default=dict, blank=True)
    result = models.FileField(upload_to="exports/", max_length=255, blank=True)
    result_size = models.PositiveBigIntegerField(null=True, blank=True)
    # Set when the retention job deleted the file; downloads then answer 410 Gone.
    purged_at = models.DateTimeField(null=True, blank=True)
    # The owner closed its finished card: no page shows it again (the history still lists it).
    dismissed_at = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        # The table the exports app created: the model moved here without touching data
        # (usertasks/migrations/0001_initial.py).
        db_table = "exports_task"
        ordering = ["-created_at"]
        constraints = [
            # Two quick clicks must not start two exports: the database decides.
            models.UniqueConstraint(
                fields=["user", "kind"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_task_per_user_and_kind",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="progress_at_most_100"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="task_user_created")]

    def __str__(self):
        """For staff (the admin's headings): whose task it is, and its state."""
        described = self.kind_spec.described_for_staff(self.user.username)
        return f"{described} ({self.get_status_display()})"

    @property
    def kind_spec(self) -> TaskKind:
        """The registered kind that ``kind`` names: its job and the texts people read."""
        return get_kind(self.kind)

    @property
    def description(self) -> str:
        return str(self.kind_spec.description)

    @property
    def title(self) -> str:
        """What happened, for a card's heading: "Export of your posts — ready"."""
        return self.kind_spec.title(self.status, purged=self.purged_at is not None)

    @property
    def error(self) -> str:
        return self.kind_spec.text(self.error_code, self.error_params)

    @property
    def notice(self) -> str:
        return self.kind_spec.text(self.notice_code, self.notice_params)

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

    def as_message(self) -> dict:
        """The websocket task object in the active language (usertasks/payloads.py)."""
        from usertasks.payloads import task_message, task_state

        return task_message(task_state(self))
