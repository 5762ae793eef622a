"""Soak: many people use the site while its parts fail underneath it.

3 workers and 2 daphne processes share one Redis and the test database. 10 users each run 4
exports one after the other (40 in all) through either web process, keep posting and logging
in, and hold 10 websockets each (100) that reconnect as browsers do. Meanwhile the test SIGKILLs
3 workers while they run an export, restarts Redis (losing its data) and, on PostgreSQL, ends
the database sessions of a running export. At the end: no task is active, every task succeeded
or failed with a reason, no unfinished file is left, no HTTP response was a 500, and every open
websocket holds each of its user's tasks in its final state.
"""

import asyncio
import json
import random
import threading
import time
from collections import Counter

import psutil
import pytest
import requests
import websockets
from django.db import connection

from blog.seeding import seed_posts
from devtools.embedded_redis import EmbeddedRedis
from testkit import database, processes
from testkit.factories import PASSWORD, UserFactory
from testkit.visitor import Visitor, card_of
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.longest,
    pytest.mark.fault,
    pytest.mark.timeout(600),
]

USERS = 10
EXPORTS_PER_USER = 4
SOCKETS_PER_USER = 10
POSTS_PER_USER = 1_000  # ~250 kB exports, each mailed as an attachment
FINAL = {"succeeded", "failed", "cancelled"}


class Site:
    """The processes under test, and the faults the test may inflict on them."""

    def __init__(self, tmp_path, env):
        self.tmp_path = tmp_path
        self.env = env
        self.webs = [processes.start_daphne(tmp_path / f"web-{n}.log", **env) for n in (1, 2)]
        self.workers_started = 0
        self.workers = [self.start_worker() for _ in range(3)]
        self.faults = Counter()

    def start_worker(self):
        self.workers_started += 1
        log = self.tmp_path / f"worker-{self.workers_started}.log"
        return processes.start_listening_worker(log, timeout=60, **self.env)

    def busy_worker(self):
        """A worker running an export now (or, failing that, any worker)."""
        try:
            return wait_until(
                lambda: next((w for w in self.workers if processes.work_horse_pid(w)), None), 20
            )
        except AssertionError:
            return self.workers[0]

    def kill_a_busy_worker(self):
        worker = self.busy_worker()
        processes.kill_worker_and_horse(worker)
        self.workers.remove(worker)
        self.faults["worker SIGKILL"] += 1
        self.workers.append(self.start_worker())  # as systemd or compose would

    def restart_redis(self, redis_servers):
        server = redis_servers[-1]
        before = self._redis_complaints()
        server.stop()
        wait_until(lambda: self._redis_complaints() > before, 60)
        redis_servers.append(EmbeddedRedis(port=server.port).start())
        self.faults["Redis restart"] += 1

    def _redis_complaints(self):
        return sum(w.output().count("Redis") for w in self.workers)

    def end_the_database_sessions_of_an_export(self):
        """Terminate the sessions of a work-horse that holds some (one is exporting)."""
        backends = wait_until(self._sessions_of_a_work_horse, 60, 0.05)
        database.terminate(backends)
        self.faults["PostgreSQL backend termination"] += 1

    def _sessions_of_a_work_horse(self):
        for worker in self.workers:
            horse = processes.work_horse_pid(worker)
            try:
                backends = horse and [pid for pid, _ in database.backends_of(horse)]
            except psutil.Error:  # the horse finished between the two looks
                continue
            if backends:
                return backends
        return None

    def stop(self):
        for process in self.webs + self.workers:
            process.stop()


class Sockets(threading.Thread):
    """Browsers' websockets: each keeps the newest state of every task it hears about, and
    reconnects with backoff whenever its connection drops."""

    def __init__(self, endpoints):
        super().__init__(daemon=True)
        self.endpoints = endpoints  # (user pk, ws url, origin, session id) per socket
        self.views = [{} for _ in endpoints]
        self.reconnects = 0
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.connected = 0

    def run(self):
        asyncio.run(self._main())

    async def _main(self):
        await asyncio.gather(*(self._keep(n) for n in range(len(self.endpoints))))

    async def _keep(self, n):
        _, url, origin, session_id = self.endpoints[n]
        delay, first = 0.2, True
        while not self.stopping.is_set():
            try:
                async with websockets.connect(
                    url,
                    origin=origin,
                    additional_headers={"Cookie": f"sessionid={session_id}"},
                    open_timeout=20,
                    proxy=None,
                ) as socket:
                    delay = 0.2
                    if first:
                        first = False
                        self.connected += 1
                        if self.connected == len(self.endpoints):
                            self.ready.set()
                    while not self.stopping.is_set():
                        try:
                            raw = await asyncio.wait_for(socket.recv(), 0.5)
                        except TimeoutError:
                            continue
                        self._note(n, json.loads(raw))
            except (OSError, websockets.WebSocketException, TimeoutError):
                if self.stopping.is_set():
                    return
                self.reconnects += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _note(self, n, message):
        if message["type"] != "task":
            return
        task = message["task"]
        known = self.views[n].get(task["id"])
        if known is None or known["updated_at"] <= task["updated_at"]:
            self.views[n][task["id"]] = task

    def explain(self, final_by_user):
        stale = self.stale(final_by_user)
        n = stale[0]
        user_pk, url, *_ = self.endpoints[n]
        seen = {tid: task["status"] for tid, task in self.views[n].items()}
        return (
            f"{len(stale)} of {len(self.endpoints)} sockets lack final states; socket {n} "
            f"({url}): expected {final_by_user[user_pk]}, saw {seen}"
        )

    def stale(self, final_by_user):
        """Sockets that do not (yet) hold the final state of each of their user's tasks."""
        stale = []
        for n, (user_pk, *_) in enumerate(self.endpoints):
            seen = {tid: task["status"] for tid, task in self.views[n].items()}
            if any(seen.get(tid) != status for tid, status in final_by_user[user_pk].items()):
                stale.append(n)
        return stale


class Person(threading.Thread):
    """One user: five exports in a row through either web process, watched over /status."""

    def __init__(self, user, webs, statuses, on_export):
        super().__init__(daemon=True)
        self.user = user
        self.visitors = [Visitor(web.url) for web in webs]
        self.statuses = statuses
        self.on_export = on_export
        self.errors = []

    def log_in(self):
        for visitor in self.visitors:
            visitor.log_in(self.user.username, PASSWORD)

    def run(self):
        try:
            for _ in range(EXPORTS_PER_USER):
                self.export_once(random.choice(self.visitors))
        except (requests.RequestException, AssertionError) as error:  # the test reports it
            self.errors.append(repr(error))

    def export_once(self, visitor):
        task_id = _start_export(visitor, self.statuses)
        self.on_export()
        wait_until(lambda: _final(visitor, task_id, self.statuses), 180, 0.2)


class Chatter(threading.Thread):
    """Posts every now and then and logs out and in again, until told to stop."""

    def __init__(self, user, web, statuses):
        super().__init__(daemon=True)
        self.user = user
        self.visitor = Visitor(web.url)
        self.statuses = statuses
        self.posts = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.2):
            try:
                response = self.visitor.post(
                    "/", {"body": f"soak post {self.posts}"}, allow_redirects=False
                )
                self.statuses[response.status_code] += 1
                self.posts += 1
                if self.posts % 10 == 0:
                    self.statuses[self.visitor.post("/accounts/logout/").status_code] += 1
                    login = self.visitor.log_in(self.user.username, PASSWORD)
                    self.statuses[login.status_code] += 1
            except (requests.RequestException, AssertionError) as error:
                self.statuses[type(error).__name__] += 1


def _start_export(visitor, statuses):
    response = visitor.post("/exports/", {"next": "/exports/"})
    statuses[response.status_code] += 1
    response.raise_for_status()
    task_id = card_of(response.text, "export_posts")
    assert task_id, response.text[-2000:]
    return task_id


def _final(visitor, task_id, statuses):
    response = visitor.get(f"/exports/{task_id}/status")
    statuses[response.status_code] += 1
    return response.status_code == 200 and response.json()["status"] in FINAL


def _reached(count, started, people):
    if errors := [p.errors for p in people if p.errors]:
        raise AssertionError(f"after {started['exports']} exports: {errors}")
    return started["exports"] >= count


def test_the_site_keeps_every_promise_under_load_while_its_parts_fail(
    private_redis, media_root, smtp_server, tmp_path
):
    users = [UserFactory(username=f"soak{n}") for n in range(USERS)]
    for n, user in enumerate(users):
        seed_posts(author=user, count=POSTS_PER_USER, seed=100 + n)
    env = {
        "REDIS_URL": private_redis[0].url,
        "MEDIA_ROOT": media_root,
        "TASKS_PER_HOUR": 0,
        **processes.FAST_DETECTION,
        **smtp_server.env(),
    }
    site = Site(tmp_path, env)
    statuses = Counter()
    started = Counter()
    lock = threading.Lock()

    def on_export():
        with lock:
            started["exports"] += 1

    began = time.monotonic()
    try:
        endpoints = []
        for n, user in enumerate(users):
            visitor = Visitor(site.webs[n % 2].url)
            visitor.log_in(user.username, PASSWORD)
            for s in range(SOCKETS_PER_USER):
                web = site.webs[(n + s) % 2]
                url = f"ws://127.0.0.1:{web.port}/ws/tasks/"
                endpoints.append((user.pk, url, web.url, visitor.session_id))
        sockets = Sockets(endpoints)
        sockets.start()
        assert sockets.ready.wait(120), f"{sockets.connected} of {len(endpoints)} connected"

        chatters = [Chatter(u, site.webs[n % 2], statuses) for n, u in enumerate(users)]
        for chatter in chatters:
            chatter.visitor.log_in(chatter.user.username, PASSWORD)
            chatter.start()
        people = [Person(user, site.webs, statuses, on_export) for user in users]
        # Logged in one after the other, as the chatters are, before the load begins.
        for person in people:
            person.log_in()
        for person in people:
            person.start()

        schedule = [
            (4, site.kill_a_busy_worker),
            (12, lambda: site.restart_redis(private_redis)),
            (20, site.kill_a_busy_worker),
            (26, site.end_the_database_sessions_of_an_export),
            (32, site.kill_a_busy_worker),
        ]
        for threshold, fault in schedule:
            if fault == site.end_the_database_sessions_of_an_export and (
                connection.vendor != "postgresql"
            ):
                continue
            wait_until(lambda threshold=threshold: _reached(threshold, started, people), 300)
            fault()

        for person in people:
            person.join(300)
        for chatter in chatters:
            chatter.stopping.set()
            chatter.join(60)

        wait_until(lambda: not Task.objects.active().exists(), 120)
        tasks = list(Task.objects.filter(user__in=users))
        final_by_user = {u.pk: {} for u in users}
        for task in tasks:
            final_by_user[task.user_id][task.pk] = task.status
        try:
            wait_until(lambda: not sockets.stale(final_by_user), 120)
        except AssertionError:
            raise AssertionError(sockets.explain(final_by_user)) from None
        wait_until(lambda: not list((media_root / "exports" / "tmp").glob("*.part")), 60)
        sockets.stopping.set()
        sockets.join(30)
    finally:
        site.stop()
    elapsed = time.monotonic() - began

    outcome = Counter(task.status for task in tasks)
    print(
        f"\nsoak on {connection.vendor}: {len(tasks)} exports {dict(outcome)} in {elapsed:.0f} s;"
        f" faults {dict(site.faults)}; HTTP {dict(statuses)};"
        f" posts {sum(c.posts for c in chatters)}; websocket reconnects {sockets.reconnects};"
        f" reasons {dict(Counter(t.error for t in tasks if t.status == 'failed'))}"
    )
    assert [p.errors for p in people if p.errors] == []
    assert len(tasks) == USERS * EXPORTS_PER_USER
    assert set(outcome) <= {"succeeded", "failed"}
    assert all(task.error for task in tasks if task.status == "failed")
    assert outcome["succeeded"] >= len(tasks) // 2
    assert site.faults["worker SIGKILL"] == 3 and site.faults["Redis restart"] == 1
    postgres = connection.vendor == "postgresql"
    assert site.faults["PostgreSQL backend termination"] == (1 if postgres else 0)
    assert not any(isinstance(code, int) and code >= 500 for code in statuses), statuses
    assert sum(c.posts for c in chatters) > 0
