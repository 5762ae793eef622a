"""The Task model moves here from the exports app, its table (exports_task) and rows untouched.

Only Django's state moves (SeparateDatabaseAndState; exports' 0004 drops it from exports' state).
The content type moves too, so that staff permissions on tasks and the admin's history of them
carry over.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    old = ContentType.objects.using(db).filter(app_label="exports", model="task").first()
    if old is None:  # a new database: post_migrate creates the new one
        return
    # One left by an interrupted upgrade holds nothing yet: the old one keeps its rows' links.
    ContentType.objects.using(db).filter(app_label="usertasks", model="task").delete()
    old.app_label = "usertasks"
    old.save(update_fields=["app_label"])


def restore_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    ContentType.objects.using(db).filter(app_label="usertasks", model="task").update(
        app_label="exports"
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("exports", "0003_task_text_codes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Task',
                    fields=[
                        ('id', models.CharField(editable=False, max_length=64, primary_key=True, serialize=False)),
                        ('name', models.CharField(max_length=64)),
                        ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=16)),
                        ('progress', models.PositiveSmallIntegerField(default=0)),
                        ('done', models.PositiveBigIntegerField(default=0)),
                        ('total', models.PositiveBigIntegerField(default=0)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(blank=True, null=True)),
                        ('error_code', models.CharField(blank=True, max_length=32)),
                        ('error_params', models.JSONField(blank=True, default=dict)),
                        ('notice_code', models.CharField(blank=True, max_length=32)),
                        ('notice_params', models.JSONField(blank=True, default=dict)),
                        ('result', models.FileField(blank=True, max_length=255, upload_to='exports/')),
                        ('result_size', models.PositiveBigIntegerField(blank=True, null=True)),
                        ('purged_at', models.DateTimeField(blank=True, null=True)),
                        ('dismissed_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tasks', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'exports_task',
                        'ordering': ['-created_at'],
                        'indexes': [models.Index(fields=['user', '-created_at'], name='task_user_created')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('status__in', ['queued', 'running'])), fields=('user', 'name'), name='one_active_task_per_user_and_name'), models.CheckConstraint(condition=models.Q(('progress__lte', 100)), name='progress_at_most_100')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, restore_content_type, elidable=False),
    ]
