"""launch_task / cancel_task / retry_task and reconciliation, against the real Redis and RQ."""

import pytest
from django.db import transaction
from django.utils import timezone
from rq.job import Job, JobStatus

from devtools.embedded_redis import EmbeddedRedis
from exports.services import export_launch, export_timeout
from redis_clients import RedisConfig
from testkit.factories import TaskFactory
from usertasks import reasons, services
from usertasks.models import Task
from usertasks.reconciliation import reconcile_active_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_launch_records_a_queued_task_and_enqueues_its_job_under_the_same_id(user, redis_client):
    task = export_launch(user=user)

    assert Task.objects.get().pk == task.pk
    assert task.status == Task.Status.QUEUED
    job = Job.fetch(task.pk, connection=redis_client)
    assert job.func_name == "exports.jobs.export_posts"
    assert job.args == (task.pk, 0)  # the task id and the post count it will export
    assert job.get_status() == JobStatus.QUEUED
    assert job.timeout == export_timeout(0)


def test_job_is_published_only_when_the_transaction_commits(user, redis_client):
    with transaction.atomic():
        task = export_launch(user=user)
        assert redis_client.llen("rq:queue:default") == 0
    assert redis_client.lrange("rq:queue:default", 0, -1) == [task.pk.encode()]


def test_second_export_is_refused_while_one_is_active(user, redis_client):
    export_launch(user=user)

    with pytest.raises(services.TaskAlreadyActive, match="An export task is currently in progress"):
        export_launch(user=user)
    assert Task.objects.count() == 1


def test_a_new_export_can_start_once_the_previous_one_finished(user, redis_client):
    TaskFactory(user=user, status=Task.Status.SUCCEEDED)

    assert export_launch(user=user).status == Task.Status.QUEUED


def test_database_refuses_a_second_active_task_even_without_the_service(user):
    from django.db import IntegrityError

    TaskFactory(user=user, status=Task.Status.RUNNING)
    with pytest.raises(IntegrityError):
        TaskFactory(user=user, status=Task.Status.QUEUED)


def test_when_redis_is_down_the_task_ends_failed_with_a_clear_message(user, settings):
    dead = EmbeddedRedis().start()
    dead.stop()
    settings.REDIS = RedisConfig(url=dead.url)

    with pytest.raises(services.TaskLaunchFailed, match="could not be queued"):
        export_launch(user=user)

    task = Task.objects.get()
    assert task.status == Task.Status.FAILED
    assert not Task.objects.active().exists()


def test_launches_share_the_process_redis_client_and_follow_its_url(user, redis_client, settings):
    """One client per process: django_rq alone opens a connection per launch."""
    first = export_launch(user=user)
    services.cancel_task(task=first)
    export_launch(user=user)
    queue = services.get_queue()
    assert queue.connection is services.get_queue().connection
    assert queue.connection.client_list(), "the shared client reaches the test's Redis"
    settings.REDIS = RedisConfig(url="redis://127.0.0.1:1/0")

    assert services.get_queue().connection is not queue.connection


def test_exports_are_rate_limited_per_hour(user, redis_client, settings):
    settings.TASKS_PER_HOUR = 2
    TaskFactory(user=user, status=Task.Status.SUCCEEDED)
    TaskFactory(user=user, status=Task.Status.FAILED, started_at=timezone.now())

    with pytest.raises(services.TaskRateLimited, match="at most 2 exports per hour"):
        export_launch(user=user)


def test_exports_that_never_ran_do_not_count_against_the_rate_limit(user, redis_client, settings):
    settings.TASKS_PER_HOUR = 1
    TaskFactory(user=user, status=Task.Status.FAILED, error_code=reasons.QUEUE_FAILED)

    assert export_launch(user=user).status == Task.Status.QUEUED


def test_cancelling_a_queued_task_cancels_its_job(user, redis_client):
    task = export_launch(user=user)

    services.cancel_task(task=task)

    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert task.finished_at is not None
    assert Job.fetch(task.pk, connection=redis_client).get_status() == JobStatus.CANCELED


def test_a_finished_task_cannot_be_cancelled(user, redis_client):
    task = TaskFactory(user=user, status=Task.Status.SUCCEEDED)

    with pytest.raises(services.TaskNotActive):
        services.cancel_task(task=task)
    task.refresh_from_db()
    assert task.status == Task.Status.SUCCEEDED


def test_retry_starts_a_new_export_for_a_failed_task(user, redis_client):
    failed = TaskFactory(user=user, status=Task.Status.FAILED)

    retried = services.retry_task(task=failed)

    assert retried.pk != failed.pk
    assert retried.status == Task.Status.QUEUED


def _age(task, seconds=120):
    from datetime import timedelta

    from django.utils import timezone

    Task.objects.filter(pk=task.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def test_reconciliation_fails_an_active_task_whose_job_vanished(user, redis_client):
    task = TaskFactory(user=user, status=Task.Status.RUNNING)
    _age(task)

    assert reconcile_active_tasks(connection=redis_client) == 1

    task.refresh_from_db()
    assert (task.status, task.error_code) == (Task.Status.FAILED, reasons.WORKER_LOST)
    assert task.error == "The worker stopped unexpectedly — please try again."


def test_reconciliation_leaves_queued_jobs_and_fresh_tasks_alone(user, other_user, redis_client):
    queued = export_launch(user=user)
    _age(queued)
    fresh = TaskFactory(user=other_user, status=Task.Status.QUEUED)

    assert reconcile_active_tasks(connection=redis_client) == 0

    assert Task.objects.get(pk=queued.pk).status == Task.Status.QUEUED
    assert Task.objects.get(pk=fresh.pk).status == Task.Status.QUEUED


def test_reconciliation_fails_a_task_whose_job_a_dead_worker_popped_but_never_started(
    user, redis_client
):
    task = export_launch(user=user)
    redis_client.lmove("rq:queue:default", "rq:queue:default:intermediate")
    _age(task)

    assert reconcile_active_tasks(connection=redis_client) == 1

    task.refresh_from_db()
    assert (task.status, task.error_code) == (Task.Status.FAILED, reasons.WORKER_LOST)
