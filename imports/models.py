"""ImportRun: an import whose posts are still provisional (imports/publishing.py).

A row exists from the moment a job starts writing posts until its task succeeded (the posts
stay) or its posts were deleted (it failed or was cancelled). A worker killed in between leaves
the row, and the next reconciliation pass finishes the job's undo.
"""

from django.db import models


class ImportRun(models.Model):
    task_id = models.CharField(primary_key=True, max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.task_id
