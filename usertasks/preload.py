"""Built once in the worker, before it forks: what every work-horse would otherwise build.

RQ runs each job in a process forked from the worker, and that process ends with the job.
What Django builds on first use (the URL resolver's reverse tables and the translation catalog
of each language, compiled templates, the jobs' modules) was built again in every horse and
thrown away with it: a fifth of the CPU an export of 2,000 posts took through the worker
(bench/RESULTS.md §7).
Built in the worker, each horse inherits it with the fork's copy of memory.
"""

import contextlib
from pathlib import Path

from django.conf import settings
from django.template import TemplateSyntaxError, engines
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import translation
from django.utils.module_loading import import_string

from usertasks.kinds import all_kinds

UNUSED_NAME = "-preload-"  # no URL pattern is named so


def preload() -> None:
    for kind in all_kinds():
        import_string(kind.job)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):  # loads the language's catalog
            _build_reverse_tables(get_resolver(), path="")
    for engine in engines.all():
        for name in _project_templates(engine):
            try:
                engine.get_template(name)  # compiled once, kept by the cached loader
            except TemplateSyntaxError:
                continue  # a page's template, broken: its page reports it, not the worker


def _build_reverse_tables(resolver, path) -> None:
    """The active language's reverse tables, of the resolver and of each namespace in it.

    ``reverse`` builds the tables it searches before it searches them, so reversing a name
    that is in no table builds them all, reverse's own table of a namespace's prefix included.
    """
    with contextlib.suppress(NoReverseMatch):
        reverse(f"{path}{UNUSED_NAME}")
    for namespace, (_prefix, inner) in resolver.namespace_dict.items():
        _build_reverse_tables(inner, path=f"{path}{namespace}:")


def _project_templates(engine):
    """The project's own templates (e-mails among them): a few dozen, compiled in ~0.1 s."""
    for directory in engine.dirs:
        root = Path(directory)
        for path in sorted(root.rglob("*")):
            if path.is_file():
                yield path.relative_to(root).as_posix()
