"""Task.name held the name of the task's kind: the column is now called kind.

The rows stay as they are. The one-active-task-per-kind constraint names the column, so it is
dropped and made again on the renamed one (inside the migration's transaction on PostgreSQL,
so no second task can slip in between).
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("usertasks", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="task",
            name="one_active_task_per_user_and_name",
        ),
        migrations.RenameField(
            model_name="task",
            old_name="name",
            new_name="kind",
        ),
        migrations.AddConstraint(
            model_name="task",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["queued", "running"])),
                fields=("user", "kind"),
                name="one_active_task_per_user_and_kind",
            ),
        ),
    ]
