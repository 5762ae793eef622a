"""The import_posts task kind (usertasks/kinds.py): its job, texts and clean-up hooks."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from imports import reasons as import_reasons
from usertasks import reasons
from usertasks.kinds import TaskKind, register

IMPORT_POSTS = register(
    TaskKind(
        name="import_posts",
        job="imports.jobs.import_posts",
        description=_("Import of your posts"),
        staff_description=_("Import of %(username)s's posts"),
        label=_("Import"),
        titles={
            "queued": _("Import of your posts — waiting to start"),
            "running": _("Import of your posts — in progress"),
            "succeeded": _("Import of your posts — done"),
            "failed": _("Import of your posts — failed"),
            "cancelled": _("Import of your posts — cancelled"),
        },
        started=_("Your import has started."),
        already_active=_("An import task is currently in progress."),
        cancelled=_("The import was cancelled; none of its posts were kept."),
        rate_limited=ngettext_lazy(
            "You can start at most %(limit)d import per hour. You can try again at %(time)s.",
            "You can start at most %(limit)d imports per hour. You can try again at %(time)s.",
            "limit",
        ),
        texts={
            **import_reasons.TEXTS,
            reasons.INTERNAL_ERROR: _(
                "The import failed because of an internal error; no post was imported. "
                "Please try again."
            ),
            reasons.TIMEOUT: _("The import took too long and was stopped; no post was imported."),
            reasons.WORKER_LOST: _(
                "The worker stopped unexpectedly; no post was imported. Please try again."
            ),
            reasons.DATABASE_UNAVAILABLE: _(
                "The database was unavailable for a moment; no post was imported. Please try again."
            ),
        },
        cleanup="imports.settling.clean_up_import",
        sweep="imports.settling.sweep_imports",
    )
)
