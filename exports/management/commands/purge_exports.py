"""manage.py purge_exports: delete export files older than EXPORT_RETENTION_DAYS now.

Workers already do this hourly; the command is for cron or an operator in a hurry.
"""

from django.core.management.base import BaseCommand

from exports.retention import purge_expired_exports


class Command(BaseCommand):
    help = "Delete export files older than EXPORT_RETENTION_DAYS."

    def handle(self, **options):
        self.stdout.write(f"Purged {purge_expired_exports()} export file(s).")
