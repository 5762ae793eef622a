"""Redis goes away and comes back while daphne, a worker and a browser stay up."""

import pytest

from devtools.embedded_redis import EmbeddedRedis
from testkit import processes
from testkit.browser import log_in
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault, pytest.mark.e2e]


def test_redis_outage_is_explained_and_everything_recovers_without_restarts(
    private_redis, user, password, media_root, smtp_server, tmp_path, page
):
    redis = private_redis[0]
    env = {"REDIS_URL": redis.url, "MEDIA_ROOT": media_root, **smtp_server.env()}
    web = processes.start_daphne(tmp_path / "web.log", **env)
    worker = processes.start_worker(tmp_path / "worker.log", **env)
    try:
        log_in(page, web.url, user, password)
        page.goto(f"{web.url}/user/{user.username}/")
        connected = "document.getElementById('tasks').dataset.connection === ''"
        page.wait_for_function(connected)

        redis.stop()

        page.wait_for_selector("#tasks-connection:has-text('Reconnecting…')")
        page.click("#export-button")
        page.wait_for_selector("text=could not be queued")
        assert not Task.objects.active().exists()
        assert page.request.get(web.url + "/healthz").status == 503
        assert page.request.get(web.url + "/explore/").status == 200
        assert page.request.get(f"{web.url}/user/{user.username}/").status == 200

        private_redis.append(EmbeddedRedis(port=redis.port).start())

        page.wait_for_function(connected, timeout=40_000)
        assert page.request.get(web.url + "/healthz").status == 200
        refused = set(Task.objects.filter(user=user).values_list("pk", flat=True))
        page.click("#export-button")
        # Not "Your export has started": an export of no posts may end, and its card replace
        # that message, before the page is looked at.
        task = wait_until(
            lambda: Task.objects.filter(user=user).exclude(pk__in=refused).first(), 30
        )
        bar = f'[role="progressbar"][data-task-id="{task.pk}"][aria-valuenow="100"]'
        page.wait_for_selector(bar, timeout=60_000)
        assert Task.objects.get(pk=task.pk).status == Task.Status.SUCCEEDED
    finally:
        web.stop()
        worker.stop()
