"""A visitor without JavaScript: real HTTP to a real server, with cookies and CSRF tokens."""

import json
import re
import threading
import time

import requests
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect


def card_of(page: str, name: str) -> str | None:
    """The id of the task card of kind ``name`` on ``page``: a page shows one per kind, the
    newest (so the task just started), wherever the other kinds' cards stand."""
    found = re.search(rf'data-task-id="([0-9a-f]{{32}})" data-task-name="{name}"', page)
    return found and found.group(1)


def open_websocket(base_url, session_id, timeout=10, path="/ws/tasks/"):
    """A browser's websocket to the site at ``base_url``: its session cookie and its origin."""
    return connect(
        base_url.replace("http", "ws", 1) + path,
        origin=base_url,
        additional_headers={"Cookie": f"sessionid={session_id}"},
        proxy=None,
        open_timeout=timeout,
    )


def read_past_snapshot(ws, timeout=10):
    """Read a connection's snapshot (its tasks, then the other event sources' parts) up to its
    end marker."""
    while json.loads(ws.recv(timeout=timeout))["type"] != "snapshot":
        pass


class Visitor:
    """One browser's session against ``base_url``; every state change carries its CSRF token."""

    def __init__(self, base_url, timeout=30):
        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only, never through a proxy

    def get(self, path, **kwargs):
        return self.session.get(self.base_url + path, timeout=self.timeout, **kwargs)

    def post(self, path, data=None, **kwargs):
        if "csrftoken" not in self.session.cookies:
            self.get("/accounts/login/")  # any form page sets the cookie
        headers = {
            "X-CSRFToken": self.session.cookies["csrftoken"],
            "Origin": self.base_url,
            **kwargs.pop("headers", {}),
        }
        return self.session.post(
            self.base_url + path, data=data, headers=headers, timeout=self.timeout, **kwargs
        )

    def log_in(self, username, password):
        response = self.post("/accounts/login/", {"username": username, "password": password})
        if response.status_code != 200 or response.url.rstrip("/") != self.base_url:
            raise AssertionError(f"log-in of {username} failed: {response.status_code}")
        return response

    @property
    def session_id(self):
        return self.session.cookies["sessionid"]

    def websocket(self):
        """The task websocket this visitor's page would open."""
        return open_websocket(self.base_url, self.session_id)

    def start_export(self):
        """Press "Export your posts"; returns the new task's id, read from the page shown next."""
        response = self.post("/exports/", {"next": "/exports/"})
        response.raise_for_status()
        task_id = card_of(response.text, "export_posts")
        # As for imports below: a quick export's card may already have replaced the flash.
        if 'class="alert alert-danger"' in response.text or not task_id:
            raise AssertionError(f"the export did not start:\n{response.text}")
        return task_id

    def upload_archive(self, path, *, filename="posts.json", next_page="/imports/"):
        """Choose ``path`` in the import form and press "Import posts"; returns the page shown
        next (redirects followed)."""
        with open(path, "rb") as archive:
            return self.post(
                "/imports/",
                {"next": next_page},
                files={"archive": (filename, archive, "application/json")},
            )

    def start_import(self, path, **kwargs):
        """Upload ``path`` and return the new import task's id, read from the page shown next."""
        response = self.upload_archive(path, **kwargs)
        response.raise_for_status()
        task_id = card_of(response.text, "import_posts")
        # No "has started" to look for: a quick worker's card already says how it ended, and
        # the flash gave way to it. A refusal is an error message instead.
        if 'class="alert alert-danger"' in response.text or not task_id:
            raise AssertionError(f"the import did not start:\n{response.text}")
        return task_id

    def task(self, task_id):
        response = self.get(f"/exports/{task_id}/status")
        response.raise_for_status()
        return response.json()

    def finished_task(self, task_id):
        """The task's state once it has ended (succeeded, failed, cancelled), else None."""
        task = self.task(task_id)
        return None if task["status"] in ("queued", "running") else task


class ReconnectingPage:
    """A page's task websocket held as static/js/tasks.js holds it, in a thread: whenever the
    server closes or refuses it, it reconnects after a delay (0.5 s, doubling up to 30 s, back
    to 0.5 s once a connection opens). ``messages``: (monotonic time, message) as they came."""

    def __init__(self, visitor):
        self.visitor = visitor
        self.messages = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stopping.set()
        self._thread.join(10)

    def _hold(self):
        delay = 0.5
        while not self._stopping.is_set():
            try:
                with self.visitor.websocket() as socket:
                    delay = 0.5
                    while not self._stopping.is_set():
                        try:
                            message = json.loads(socket.recv(timeout=0.2))
                        except TimeoutError:
                            continue
                        self.messages.append((time.monotonic(), message))
            except (OSError, WebSocketException):  # closed by the server, or refused
                pass
            self._stopping.wait(delay)
            delay = min(delay * 2, 30)

    def snapshots_since(self, moment):
        """When each snapshot that ended after ``moment`` (monotonic) arrived."""
        return [
            at for at, message in self.messages if at > moment and message["type"] == "snapshot"
        ]

    def shown(self, task_id):
        """The task as the page shows it now (its last state received), or None."""
        states = [m["task"] for _, m in self.messages if m.get("task", {}).get("id") == task_id]
        return states[-1] if states else None

    def first_time_shown(self, task_id, statuses, since=0.0):
        """When the page first received ``task_id`` in one of ``statuses`` after ``since``."""
        for at, message in self.messages:
            task = message.get("task", {})
            if at > since and task.get("id") == task_id and task.get("status") in statuses:
                return at
        return None
