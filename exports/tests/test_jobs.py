"""export_posts run in-process: the file's content and format."""

import json

import pytest
from django.core import mail

from blog.seeding import seed_posts
from exports.jobs import export_posts
from exports.services import export_launch
from testkit.factories import PostFactory, TaskFactory
from usertasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)


def _export(user):
    task = TaskFactory(user=user)
    export_posts(task.pk)
    task.refresh_from_db()
    return task


def _content(task):
    with task.result.open("rb") as handle:
        return json.loads(handle.read().decode("utf-8"))


def test_export_contains_every_post_oldest_first_in_the_spec_format(user, redis_client):
    seed_posts(author=user, count=250, seed=1)
    PostFactory(author=user, body='quote " backslash \\ tab \t newline \n bell \x07 emoji 🎉 ünï')

    task = _export(user)

    assert task.status == Task.Status.SUCCEEDED
    assert task.progress == 100
    assert task.done == task.total == 251
    posts = _content(task)["posts"]
    expected = list(user.posts.order_by("timestamp", "id"))
    assert [p["body"] for p in posts] == [p.body for p in expected]
    assert [p["timestamp"] for p in posts] == [
        p.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for p in expected
    ]


def test_export_escapes_hostile_text_into_valid_json(user, redis_client):
    hostile = 'quote " backslash \\ tab \t newline \n bell \x07 emoji 🎉 ünï </script>'
    PostFactory(author=user, body=hostile)

    posts = _content(_export(user))["posts"]

    assert posts == [{"body": hostile, "timestamp": posts[0]["timestamp"]}]
    assert posts[0]["timestamp"].endswith("Z")


def test_export_of_a_user_without_posts_is_an_empty_list(user, redis_client):
    task = _export(user)

    assert task.status == Task.Status.SUCCEEDED
    assert _content(task)["posts"] == []


def test_export_mails_the_file_and_a_download_link(user, redis_client):
    PostFactory(author=user, body="hello")

    task = _export(user)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "[Microblog] Your blog posts"
    assert message.to == [user.email]
    assert user.username in message.body
    assert f"/exports/{task.pk}/download" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f"/exports/{task.pk}/download" in html
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == ("posts.json", "application/json")
    assert json.loads(content)["posts"][0]["body"] == "hello"


def test_export_larger_than_the_limit_is_linked_but_not_attached(user, redis_client, settings):
    settings.EXPORT_ATTACHMENT_MAX_BYTES = 10
    PostFactory(author=user, body="hello")

    task = _export(user)

    message = mail.outbox[0]
    assert message.attachments == []
    assert f"/exports/{task.pk}/download" in message.body


def test_the_mails_text_reads_with_cat_the_link_on_one_line(user, redis_client, settings):
    """The raw message, as var/mail/*.log holds it: no quoted-printable soft line breaks."""
    settings.EXPORT_ATTACHMENT_MAX_BYTES = 10
    settings.SITE_URL = "http://127.0.0.1:8150"
    seed_posts(author=user, count=300, seed=3)

    task = _export(user)

    raw = mail.outbox[0].message().as_bytes().decode("utf-8")
    link = f"http://127.0.0.1:8150/exports/{task.pk}/download"
    assert f"Download it here: {link}\n" in raw
    size = f"{task.result_size / 1024:.1f}".replace(".0", "")
    assert f"(The file is {size}\u00a0KB, too big to attach" in raw
    assert "=C2=A0" not in raw
    assert not [line for line in raw.splitlines() if line.endswith("=") and "==" not in line]
    assert raw.count("Content-Transfer-Encoding: 8bit") == 2  # the text and the HTML part


def test_export_of_a_cancelled_task_stops_without_a_file(user, redis_client):
    task = TaskFactory(user=user, status=Task.Status.CANCELLED)

    export_posts(task.pk)

    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert not task.result


def test_failing_export_ends_failed_with_a_readable_reason(user, redis_client, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.MEDIA_ROOT = str(blocker)  # the job cannot create its files under a regular file
    task = TaskFactory(user=user)

    with pytest.raises(OSError):
        export_posts(task.pk)

    task.refresh_from_db()
    assert task.status == Task.Status.FAILED
    assert task.error == "The export failed because of an internal error — please try again."
    assert task.finished_at is not None
    # …and the user is free to try again.
    redis_client.flushall()
    assert export_launch(user=user).status == Task.Status.QUEUED


def test_progress_reports_during_the_stream_do_not_block_it(user, redis_client, settings):
    """On PostgreSQL the COPY holds its connection: reports must go through another one."""
    settings.EXPORT_PROGRESS_INTERVAL = 0  # report after every chunk
    seed_posts(author=user, count=5_000, seed=2)

    task = _export(user)

    assert (task.status, task.done) == (Task.Status.SUCCEEDED, 5_000)
