"""/metrics (ops/metrics.py): who may read it, and figures that match the database with
several web and worker processes, one of them killed mid-export."""

import socket
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from blog.seeding import seed_posts
from exports.services import export_launch
from ops.mail import EMAIL_FAILURES_KEY, record_email_failure
from testkit import processes
from testkit.factories import PASSWORD, UserFactory
from testkit.metrics import samples, scrape, value
from testkit.processes import kill_worker_and_horse, work_horse_pid
from testkit.visitor import Visitor
from testkit.waiting import wait_until
from usertasks.models import Task

# Production notices a dead worker within ~35 s; these timings keep the test short.
FAST_DETECTION = {
    **processes.FAST_DETECTION,
    "RQ_MAINTENANCE_INTERVAL": 1,
    "HEALTH_WORKER_MAX_AGE": 5,
}


# -- access ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_loopback_clients_read_the_metrics(client, redis_client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert b"microblog_tasks_active" in response.content
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("meta", "status"),
    [
        ({"REMOTE_ADDR": "203.0.113.9"}, 404),
        ({"HTTP_X_FORWARDED_FOR": "127.0.0.1"}, 404),  # a proxy could be relaying anyone
        ({"HTTP_X_REAL_IP": "203.0.113.9"}, 404),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer wrong"}, 403),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer s3cret"}, 200),
        ({"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "s3cret"}, 403),
    ],
    ids=["remote", "forwarded", "real-ip", "wrong-token", "token", "token-without-bearer"],
)
def test_other_clients_need_the_bearer_token(client, redis_client, settings, meta, status):
    settings.METRICS_TOKEN = "s3cret"

    response = client.get("/metrics", **meta)

    assert response.status_code == status
    assert (b"microblog_tasks" in response.content) is (status == 200)


@pytest.mark.django_db
def test_without_a_configured_token_no_token_is_accepted(client, redis_client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 403


# -- figures read at scrape time -----------------------------------------------------------


@pytest.mark.django_db
def test_tasks_and_the_oldest_active_one_are_read_from_the_database(client, redis_client):
    now = timezone.now()
    users = UserFactory.create_batch(3)
    Task.objects.create(id="a" * 32, kind="export_posts", user=users[0], status="running")
    Task.objects.filter(pk="a" * 32).update(created_at=now - timedelta(minutes=10))
    Task.objects.create(id="b" * 32, kind="export_posts", user=users[1], status="queued")
    Task.objects.create(
        id="c" * 32,
        kind="export_posts",
        user=users[2],
        status="succeeded",
        started_at=now - timedelta(seconds=7),
        finished_at=now,
        done=2500,
    )

    figures = samples(client.get("/metrics").content.decode())

    assert value(figures, "microblog_tasks", name="export_posts", status="running") == 1
    assert value(figures, "microblog_tasks", name="export_posts", status="failed") == 0
    assert value(figures, "microblog_tasks_active", name="export_posts") == 2
    assert value(figures, "microblog_task_oldest_active_age_seconds", name="export_posts") >= 600
    assert value(figures, "microblog_export_duration_seconds_bucket", le="5.0") == 0
    assert value(figures, "microblog_export_duration_seconds_bucket", le="10.0") == 1
    assert value(figures, "microblog_export_duration_seconds_sum") == pytest.approx(7)
    assert value(figures, "microblog_export_posts_bucket", le="1000.0") == 0
    assert value(figures, "microblog_export_posts_bucket", le="10000.0") == 1
    assert value(figures, "microblog_export_posts_sum") == 2500


@pytest.mark.django_db
def test_email_failures_of_every_process_are_counted_in_redis(client, redis_client):
    record_email_failure()
    record_email_failure()

    figures = samples(client.get("/metrics").content.decode())

    assert int(redis_client.get(EMAIL_FAILURES_KEY)) == 2
    assert value(figures, "microblog_email_failures_total") == 2


@pytest.mark.django_db
def test_the_redis_primary_this_process_reaches_is_named(client, redis_client, settings):
    figures = samples(client.get("/metrics").content.decode())

    port = redis_client.connection_pool.connection_kwargs["port"]
    assert value(figures, "microblog_redis_primary", address=f"127.0.0.1:{port}") == 1
    assert value(figures, "microblog_metrics_source_up", source="redis_topology") == 1
    assert not [name for name, _ in figures if name == "microblog_redis_sentinels"]


@pytest.mark.django_db
def test_http_requests_are_counted_and_timed_per_view(client, redis_client):
    def requests_of(view, status):
        figures = samples(client.get("/metrics").content.decode())
        key = (
            "microblog_http_requests_total",
            frozenset({"view": view, "method": "GET", "status": status}.items()),
        )
        return figures.get(key, 0)

    before = requests_of("explore", "200")
    client.get("/explore/")
    client.get("/explore/")

    assert requests_of("explore", "200") == before + 2


def test_static_files_are_counted_as_such_and_no_created_series_is_sent(client, redis_client):
    def requests_of(view):
        figures = samples(client.get("/metrics").content.decode())
        return sum(
            value
            for (name, labels), value in figures.items()
            if name == "microblog_http_requests_total" and ("view", view) in labels
        )

    before = requests_of("<static>"), requests_of("<unresolved>")
    client.get("/static/js/tasks.js")
    client.get("/static/vendor/bootstrap/bootstrap.min.css")
    client.get("/no-such-page/")

    assert (requests_of("<static>"), requests_of("<unresolved>")) == (
        before[0] + 2,
        before[1] + 1,
    )
    assert "_created" not in client.get("/metrics").content.decode()


# -- several processes --------------------------------------------------------------------


def non_loopback_address():
    """This machine's address on its default route, or None (then the test says so)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # no packet is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.mark.slow
@pytest.mark.fault
@pytest.mark.django_db(transaction=True)
def test_two_webs_and_two_workers_one_killed_mid_export_report_what_the_database_holds(
    redis_client, media_root, smtp_server, tmp_path, settings
):
    settings.TASKS_PER_HOUR = 0
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    seed_posts(author=alice, count=200_000, seed=14)
    seed_posts(author=bob, count=25, seed=15)
    env = {"MEDIA_ROOT": media_root, **FAST_DETECTION, **smtp_server.env()}
    remote = non_loopback_address()
    env["ALLOWED_HOSTS"] = ",".join(filter(None, ["localhost", "127.0.0.1", remote]))
    webs = [
        processes.start_daphne(  # reachable from this machine's other address too
            tmp_path / "web-a.log",
            bind="0.0.0.0",  # noqa: S104 - a client from another address must be refused
            METRICS_TOKEN="tok",
            **env,
        ),
        processes.start_daphne(tmp_path / "web-b.log", **env),
    ]
    workers = [
        processes.start_listening_worker(tmp_path / f"worker-{i}.log", **env) for i in (1, 2)
    ]
    try:
        # A websocket open on web B only: open websockets are a per-process figure.
        visitor = Visitor(webs[1].url)
        visitor.log_in("bob", PASSWORD)
        socket_b = visitor.websocket()  # closed below, once both processes were scraped

        doomed = export_launch(user=alice)
        wait_until(lambda: _running_with_progress(doomed), 60, 0.01)
        victim = next(w for w in workers if work_horse_pid(w))
        kill_worker_and_horse(victim)

        ok = export_launch(user=bob)
        wait_until(lambda: _settled(ok) and _settled(doomed), 90, 0.2)
        assert (ok.status, doomed.status) == ("succeeded", "failed")

        # The killed worker's last beat ages past HEALTH_WORKER_MAX_AGE (5 s here).
        wait_until(
            lambda: value(scrape(webs[0].url), "microblog_rq_workers_live", queue="default") == 1,
            30,
            0.5,
        )
        a, b = scrape(webs[0].url), scrape(webs[1].url)
        socket_b.close()

        # A remote client: through a proxy (forwarded), and straight from another address.
        refused = [
            requests.get(
                f"http://127.0.0.1:{webs[0].port}/metrics",
                headers={"X-Forwarded-For": "203.0.113.9"},
                timeout=10,
            )
        ]
        if remote:
            refused.append(requests.get(f"http://{remote}:{webs[0].port}/metrics", timeout=10))
            with_token = requests.get(
                f"http://{remote}:{webs[0].port}/metrics",
                headers={"Authorization": "Bearer tok"},
                timeout=10,
            )
            assert with_token.status_code == 200
    finally:
        for process in [*webs, *workers]:
            process.stop()

    database = {s: Task.objects.filter(kind="export_posts", status=s).count() for s in Task.Status}
    assert database == {"queued": 0, "running": 0, "succeeded": 1, "failed": 1, "cancelled": 0}
    for figures in (a, b):
        for status, count in database.items():
            assert value(figures, "microblog_tasks", name="export_posts", status=status) == count
        assert value(figures, "microblog_tasks_active", name="export_posts") == 0
        assert value(figures, "microblog_task_oldest_active_age_seconds", name="export_posts") == 0
        assert value(figures, "microblog_export_duration_seconds_count") == 1
        assert value(figures, "microblog_export_duration_seconds_sum") == pytest.approx(
            ok.duration.total_seconds()
        )
        assert value(figures, "microblog_export_posts_count") == 1
        assert value(figures, "microblog_export_posts_sum") == 25
        assert value(figures, "microblog_rq_jobs", queue="default", state="queued") == 0
        assert value(figures, "microblog_rq_jobs", queue="default", state="started") == 0
        assert value(figures, "microblog_metrics_source_up", source="database") == 1
        assert value(figures, "microblog_metrics_source_up", source="redis") == 1
    assert value(a, "microblog_websockets_open") == 0
    assert value(b, "microblog_websockets_open") == 1
    assert all(response.status_code == 404 for response in refused), refused
    assert b"microblog_tasks" not in b"".join(response.content for response in refused)


def _running_with_progress(task):
    task.refresh_from_db()
    return task.status == Task.Status.RUNNING and task.progress >= 5


def _settled(task):
    task.refresh_from_db()
    return not task.is_active
