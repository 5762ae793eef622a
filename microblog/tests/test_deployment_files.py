"""The Compose file says what docs/operations.md "Deploy" promises, as Compose itself reads it.

No Docker engine is needed: Compose validates and normalises the file itself (`config`). The
image is built and run by microblog/tests/test_image.py (`make test-image`), its health probe
against daphne and worker processes in ops/tests/test_probe.py, the systemd units in
microblog/tests/test_systemd_units.py, and the Procfile by honcho in
microblog/tests/test_procfile.py.
"""

import os
import shlex
import shutil
import subprocess
import tempfile

import pytest
import yaml
from django.conf import settings

from testkit import processes
from testkit.missing import missing

BASE_DIR = settings.BASE_DIR
APP_SERVICES = ("migrate", "web", "worker")
DEFAULT_HOSTS = "localhost,127.0.0.1,[::1]"  # settings.py's default ALLOWED_HOSTS


def compose_command():
    """docker-compose (v1, Debian's package) or the `docker compose` v2 plugin, or None."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def run_compose(*args, files=("docker-compose.yml",), **env):
    command = compose_command()
    if command is None:
        missing("docker-compose is not installed (apt-get install docker-compose)")
    # Only what Compose needs: a developer's own ALLOWED_HOSTS etc. must not leak in, nor a
    # `.env` a developer may keep beside the file, which Compose reads by default.
    child_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    with tempfile.NamedTemporaryFile(suffix=".env") as no_env_file:
        project = ["--project-directory", str(BASE_DIR), "--env-file", no_env_file.name]
        return subprocess.run(
            [*command, *project, *(f"-f{name}" for name in files), *args],
            cwd=BASE_DIR,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture(scope="module")
def compose():
    result = run_compose("config", SECRET_KEY="x", METRICS_TOKEN="t")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def volume_mounts(service):
    """{source: target} of a service's volumes, in v1's short or v2's long normalised form."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source"), volume["target"]
        mounts[source] = target
    return mounts


def published_ports(service):
    ports = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.add((int(port["published"]), int(port["target"])))
        else:
            published, target = str(port).split(":")[-2:]
            ports.add((int(published), int(target)))
    return ports


def command_of(service):
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(command)


def healthcheck_disabled(service):
    check = service.get("healthcheck", {})
    return check.get("disable") is True or check.get("test") == ["NONE"]


def test_the_compose_file_is_valid():
    result = run_compose("config", "-q", SECRET_KEY="x", METRICS_TOKEN="t")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "METRICS_TOKEN"])
def test_compose_refuses_to_start_without_a_secret_key_or_a_metrics_token(missing):
    given = {"SECRET_KEY": "x", "METRICS_TOKEN": "t"}
    del given[missing]

    result = run_compose("config", "-q", **given)

    assert result.returncode != 0
    assert missing in result.stderr


def test_compose_runs_the_whole_stack(compose):
    assert set(compose["services"]) == {
        "db",
        "redis",
        "mail",
        "migrate",
        "web",
        "worker",
        "static",
        "nginx",
        "prometheus",
    }
    assert compose["services"]["db"]["image"].startswith("postgres:16")
    assert compose["services"]["redis"]["image"].startswith("redis:7")
    assert compose["services"]["mail"]["image"].startswith("axllent/mailpit")
    assert {(8025, 8025), (1025, 1025)} <= published_ports(compose["services"]["mail"])


def test_workers_can_be_scaled(compose):
    worker = compose["services"]["worker"]

    assert "container_name" not in worker
    assert not worker.get("ports")
    assert command_of(worker) == "python manage.py rqworker --with-scheduler"
    # The image's probe checks the worker's own heartbeat (ops/probe.py).
    assert worker["healthcheck"]["test"] == ["CMD", "python", "-m", "ops.probe"]


def test_web_waits_for_migrations_and_redis_and_is_probed(compose):
    web = compose["services"]["web"]

    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert web["depends_on"]["redis"]["condition"] == "service_healthy"
    assert not published_ports(web)  # nginx is the way in
    assert web["healthcheck"]["test"] == ["CMD", "python", "-m", "ops.probe"]
    assert command_of(web).startswith(
        "daphne -e tcp:port=8000:interface=0.0.0.0:backlog=1024 --proxy-headers "
    )


def test_nginx_fronts_every_web_container_with_static_files_and_export_files(compose):
    nginx = compose["services"]["nginx"]

    assert nginx["image"].startswith("nginx:")
    assert published_ports(nginx) == {(8000, 8000)}
    assert nginx["depends_on"]["web"]["condition"] == "service_healthy"
    assert nginx["environment"]["MICROBLOG_UPSTREAM"] == "server web:8000 max_fails=0;"
    mounts = volume_mounts(nginx)
    assert mounts["media"] == nginx["environment"]["MICROBLOG_MEDIA_ROOT"]
    assert mounts["static"] == nginx["environment"]["MICROBLOG_STATIC_ROOT"]
    assert compose["services"]["web"]["environment"]["EXPORT_DOWNLOAD_ACCEL_PREFIX"] == (
        "/_protected/"
    )


def test_migrations_run_once_after_the_database_is_healthy(compose):
    migrate = compose["services"]["migrate"]

    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"
    assert command_of(migrate) == "python manage.py migrate --noinput"
    assert "pg_isready" in " ".join(compose["services"]["db"]["healthcheck"]["test"])
    assert "ping" in compose["services"]["redis"]["healthcheck"]["test"]


def test_app_services_share_one_image_and_configuration(compose):
    services = [compose["services"][name] for name in APP_SERVICES]
    environments = [service["environment"] for service in services]

    assert len({service["image"] for service in services}) == 1
    assert all(env == environments[0] for env in environments)
    env = environments[0]
    assert env["DATABASE_URL"] == "postgres://microblog:microblog@db:5432/microblog"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["SECRET_KEY"] == "x"
    assert env["METRICS_TOKEN"] == "t"
    assert (env["EMAIL_HOST"], str(env["EMAIL_PORT"])) == ("mail", "1025")
    assert env["DEBUG"] == "false"
    # Plain http on localhost: Secure cookies would never come back and login would fail.
    assert env["SESSION_COOKIE_SECURE"] == env["CSRF_COOKIE_SECURE"] == "false"
    for name in ("ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SITE_URL", "MEDIA_ROOT"):
        assert env[name], name


def test_web_and_workers_share_the_media_volume_and_postgres_keeps_its_data(compose):
    media_root = compose["services"]["web"]["environment"]["MEDIA_ROOT"]

    assert {"pgdata", "media"} <= set(compose["volumes"])
    assert volume_mounts(compose["services"]["web"])["media"] == media_root
    assert volume_mounts(compose["services"]["worker"])["media"] == media_root
    assert volume_mounts(compose["services"]["db"])["pgdata"] == "/var/lib/postgresql/data"


def test_the_prometheus_service_scrapes_every_web_container_with_the_token(compose):
    prometheus = compose["services"]["prometheus"]
    config = yaml.safe_load((BASE_DIR / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]

    assert "/etc/prometheus" in volume_mounts(prometheus).values()
    assert prometheus["environment"]["METRICS_TOKEN"] == "t"
    assert job["metrics_path"] == "/metrics"
    assert job["dns_sd_configs"] == [{"names": ["web"], "type": "A", "port": 8000}]
    assert job["authorization"]["credentials_file"] in " ".join(prometheus["command"])
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


@pytest.fixture(scope="module")
def compose_with_sentinels():
    files = ("docker-compose.yml", "docker-compose.sentinel.yml")
    result = run_compose("config", files=files, SECRET_KEY="x", METRICS_TOKEN="t")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_sentinel_file_adds_a_replica_and_three_sentinels_that_watch_the_primary(
    compose_with_sentinels,
):
    services = compose_with_sentinels["services"]
    sentinels = ["sentinel-1", "sentinel-2", "sentinel-3"]

    assert {"redis", "redis-replica", *sentinels} <= set(services)
    assert "--replicaof redis 6379" in command_of(services["redis-replica"])
    for name in sentinels:
        script = command_of(services[name])
        assert "sentinel monitor microblog redis 6379 2" in script
        assert "redis-sentinel" in script
        assert services[name]["healthcheck"]["test"][-1] == "ping"


def test_with_the_sentinel_file_every_app_service_asks_the_sentinels(compose_with_sentinels):
    services = compose_with_sentinels["services"]
    environments = [services[name]["environment"] for name in APP_SERVICES]

    assert all(env == environments[0] for env in environments)
    assert environments[0]["REDIS_SENTINELS"] == (
        "sentinel-1:26379,sentinel-2:26379,sentinel-3:26379"
    )
    assert environments[0]["REDIS_SENTINEL_MASTER"] == "microblog"
    for name in ("web", "worker"):
        for sentinel in ("sentinel-1", "sentinel-2", "sentinel-3"):
            assert services[name]["depends_on"][sentinel]["condition"] == "service_healthy"


def test_the_media_storage_backend_is_configurable():
    backend = "django.core.files.storage.InMemoryStorage"
    code = 'from django.conf import settings; print(settings.STORAGES["default"]["BACKEND"])'
    result = processes.run_python(
        ["-c", f"import django; django.setup(); {code}"],
        {**os.environ, "MEDIA_STORAGE_BACKEND": backend},
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == backend


def daphne_command_lines():
    """The daphne command line of each way to run the site, as its file writes it."""
    unit = (BASE_DIR / "deploy" / "systemd" / "microblog-web.service").read_text()
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    compose_file = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    return {
        "Procfile": (BASE_DIR / "Procfile").read_text().split("web: ", 1)[1].splitlines()[0],
        "Procfile.dev": (BASE_DIR / "Procfile.dev").read_text().split("web: ")[1].splitlines()[0],
        "systemd": unit.split("ExecStart=", 1)[1].splitlines()[0],
        "Dockerfile": shlex.join(yaml.safe_load(dockerfile.split("\nCMD ", 1)[1])),
        "docker-compose.yml": compose_file["services"]["web"]["command"],
    }


@pytest.mark.parametrize("where", sorted(daphne_command_lines()))
def test_every_daphne_listens_with_a_backlog_a_burst_of_handshakes_does_not_overflow(where):
    argv = shlex.split(daphne_command_lines()[where])
    endpoint = argv[argv.index("-e") + 1]

    assert endpoint.startswith("tcp:port=")
    assert ":backlog=1024" in endpoint  # Twisted's default is 50
    assert not {"-b", "--bind", "-p", "--port"} & set(argv)  # one endpoint, this one


def test_nginx_limits_handshakes_per_client_and_keeps_a_daphne_after_one_reset():
    templates = BASE_DIR / "deploy" / "nginx" / "templates"
    main = (templates / "microblog.conf.template").read_text()
    locations = (templates / "microblog-locations.inc.template").read_text()
    websockets = locations.split("location /ws/ {", 1)[1].split("\n}", 1)[0]
    compose_file = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())

    assert "limit_req_zone $binary_remote_addr zone=microblog_websockets:" in main
    assert "limit_req zone=microblog_websockets burst=100 nodelay;" in websockets
    upstream = compose_file["services"]["nginx"]["environment"]["MICROBLOG_UPSTREAM"]
    assert upstream.endswith(" max_fails=0;")
