"""The image's HEALTHCHECK: is what this container runs healthy? (`python -m ops.probe`)

One image runs web, worker and migrate, so the probe looks at the processes of its own
container (PID 1 and its descendants; --root-pid for tests) and checks each by its kind:

- daphne: GET /healthz on the port that this daphne listens on (its own -p/--port, or the port
  of its -e tcp: endpoint), from 127.0.0.1, with a Host that ALLOWED_HOSTS accepts. Another
  container's port is never asked.
- `manage.py rqworker`: its heartbeat file (usertasks/workers.py) was touched within
  HEALTH_WORKER_MAX_AGE seconds (default 60). A dead or frozen (SIGSTOP) worker fails it.

Exit status 0 when every process found is healthy, 1 otherwise or when none is found; one line
on stdout says why. Django is not loaded: the probe stays cheap.
"""

import argparse
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

DEFAULT_PORT = 8000


def heartbeat_file(pid):
    """Where the worker of that pid beats (usertasks/workers.py): a container's own /tmp."""
    return Path(tempfile.gettempdir()) / f"microblog-worker-{pid}.heartbeat"


def command_line(pid):
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _stat(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_state(pid):
    stat = _stat(pid)
    return stat[0] if stat else None  # R, S, T (stopped), Z (zombie)...


def parent_pid(pid):
    stat = _stat(pid)
    return int(stat[1]) if stat else None


def tree(root):
    """``root`` and its descendants, parents first."""
    pids, seen = [root], []
    while pids:
        pid = pids.pop(0)
        seen.append(pid)
        try:
            tasks = Path(f"/proc/{pid}/task").iterdir()
            for task in tasks:
                pids.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return seen


def daphne_port(argv):
    for index, arg in enumerate(argv):
        value = argv[index + 1] if index + 1 < len(argv) else ""
        if arg in {"-p", "--port"}:
            return int(value)
        if arg.startswith("--port="):
            return int(arg.split("=", 1)[1])
        if arg in {"-e", "--endpoint"} and value.startswith("tcp:"):
            # Twisted's endpoint string, "tcp:port=8000:interface=0.0.0.0:backlog=1024"
            fields = dict(field.split("=", 1) for field in value.split(":")[1:] if "=" in field)
            if "port" in fields:
                return int(fields["port"])
    return DEFAULT_PORT


def is_daphne(argv):
    return any(Path(arg).name == "daphne" for arg in argv[:3])


def is_worker(argv):
    return "rqworker" in argv


def check_web(port):
    host = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".*") or "localhost"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310 - http only
            return response.status == 200, f"web on port {port}: {response.status}"
    except OSError as error:
        return False, f"web on port {port}: {error}"


def check_worker(pid, max_age):
    if process_state(pid) in {None, "T", "t", "Z"}:
        return False, f"worker {pid}: stopped"
    try:
        age = time.time() - heartbeat_file(pid).stat().st_mtime
    except FileNotFoundError:
        return False, f"worker {pid}: no heartbeat yet"
    if age > max_age:
        return False, f"worker {pid}: last heartbeat {age:.0f} s ago"
    return True, f"worker {pid}: beat {age:.0f} s ago"


def checks(root, max_age):
    for pid in tree(root):
        argv = command_line(pid)
        if is_daphne(argv):
            yield check_web(daphne_port(argv))
        elif is_worker(argv) and command_line(parent_pid(pid)) != argv:
            # The work-horse and the scheduler are forks of the worker, with its command line.
            yield check_worker(pid, max_age)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root-pid", type=int, default=1)
    args = parser.parse_args(argv)
    max_age = int(os.environ.get("HEALTH_WORKER_MAX_AGE", "60"))
    results = list(checks(args.root_pid, max_age))
    if not results:
        results = [(False, f"no daphne or rqworker under pid {args.root_pid}")]
    print("; ".join(message for _, message in results))
    sys.exit(0 if all(ok for ok, _ in results) else 1)


if __name__ == "__main__":
    main()
