"""The export_posts task kind (usertasks/kinds.py): its job, texts and clean-up hooks."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from usertasks import reasons
from usertasks.kinds import TaskKind, register

EXPORT_POSTS = register(
    TaskKind(
        name="export_posts",
        job="exports.jobs.export_posts",
        description=_("Export of your posts"),
        staff_description=_("Export of %(username)s's posts"),
        label=_("Export"),
        titles={
            "queued": _("Export of your posts — waiting to start"),
            "running": _("Export of your posts — in progress"),
            "succeeded": _("Export of your posts — ready"),
            "purged": _("Export of your posts — file deleted"),
            "failed": _("Export of your posts — failed"),
            "cancelled": _("Export of your posts — cancelled"),
        },
        started=_("Your export has started. You will get an e-mail when it is ready."),
        already_active=_("An export task is currently in progress."),
        cancelled=_("The export was cancelled."),
        rate_limited=ngettext_lazy(
            "You can start at most %(limit)d export per hour. You can try again at %(time)s.",
            "You can start at most %(limit)d exports per hour. You can try again at %(time)s.",
            "limit",
        ),
        texts={
            reasons.INTERNAL_ERROR: _(
                "The export failed because of an internal error — please try again."
            ),
            reasons.TIMEOUT: _(
                "The export took too long and was stopped — please try again later."
            ),
            reasons.DISK_FULL: _(
                "The server has no room to store your export right now. "
                "Please try again in an hour."
            ),
            reasons.EMAIL_FAILED: _("The export is ready, but the e-mail could not be sent."),
            reasons.DATABASE_UNAVAILABLE: _(
                "The database was unavailable for a moment and the export was stopped — "
                "please try again."
            ),
        },
        cleanup="exports.partials.clean_up_export",
        sweep="exports.partials.sweep_orphan_partials",
        hourly="exports.retention.purge_expired_exports",
        relaunch="exports.services.export_launch",
    )
)
