"""Task now belongs to the usertasks app (its 0001): Django's state forgets it here, while its
table, exports_task, stays as it is."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("exports", "0003_task_text_codes"),
        ("usertasks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Task")],
            database_operations=[],
        ),
    ]
