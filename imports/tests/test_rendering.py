"""Import reasons are codes with parameters, rendered in the reader's language."""

import pytest
from django.utils import translation

from testkit.factories import TaskFactory
from usertasks.models import Task

pytestmark = pytest.mark.django_db


def test_a_bad_post_and_the_final_counts_render_in_english_and_spanish(user):
    failed = TaskFactory(
        user=user,
        kind="import_posts",
        status=Task.Status.FAILED,
        error_code="post_body_too_long",
        error_params={"index": 3, "length": 281, "limit": 280},
    )
    done = TaskFactory(
        user=user,
        kind="import_posts",
        status=Task.Status.SUCCEEDED,
        notice_code="imported",
        notice_params={"imported": 100_000, "skipped": 2},
    )
    truncated = TaskFactory(
        user=user, kind="import_posts", status=Task.Status.FAILED, error_code="archive_truncated"
    )
    assert failed.error == (
        "Post 3 has 281 characters; posts are limited to 280. No post was imported."
    )
    assert truncated.error.endswith("the archive is truncated. No post was imported.")
    assert done.notice == "Imported 100,000 posts; skipped 2 already present."
    assert done.title == "Import of your posts — done"
    with translation.override("es"):
        assert failed.error == (
            "La publicación 3 tiene 281 caracteres; el límite es 280. "
            "No se importó ninguna publicación."
        )
        assert done.notice == (
            "Publicaciones importadas: 100\u00a0000; omitidas por estar ya presentes: 2."
        )
        assert failed.as_message()["title"] == "Importación de tus publicaciones — fallida"
