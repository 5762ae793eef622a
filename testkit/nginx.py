"""A real nginx for tests, configured from deploy/nginx/templates/ and run as the current user."""

import getpass
import os
import re
import shutil
from pathlib import Path

from django.conf import settings

from testkit.missing import missing
from testkit.processes import BASE_DIR, Process, free_port, wait_for_port

TEMPLATES = BASE_DIR / "deploy" / "nginx" / "templates"
TLS_EXAMPLE = BASE_DIR / "deploy" / "nginx" / "microblog-tls.conf.example"
# Where the X-Accel-Redirect answers point (deploy/nginx/templates/microblog-locations.inc...).
ACCEL_PREFIX = "/_protected/"

# The main context a distribution's /etc/nginx/nginx.conf gives; every path is the test's own.
MAIN = """\
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    log_format upstream '$request $status $body_bytes_sent '
                        'upstream=$upstream_addr upstream_bytes=$upstream_response_length';
    access_log {dir}/access.log upstream;
    client_body_temp_path {dir}/temp/client_body;
    proxy_temp_path {dir}/temp/proxy;
    fastcgi_temp_path {dir}/temp/fastcgi;
    uwsgi_temp_path {dir}/temp/uwsgi;
    scgi_temp_path {dir}/temp/scgi;
    include conf.d/microblog.conf;
}}
"""


def nginx_binary():
    """The nginx of Debian's package; without it the test is skipped, or fails under CI."""
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found is None:
        missing("nginx is not installed (Debian package nginx; .ci/run installs it)")
    return found


def render(template, values):
    """Fill ``${MICROBLOG_*}`` as envsubst would with those variables, leaving nginx's own."""
    return re.sub(r"\$\{(MICROBLOG_[A-Z_]+)\}", lambda match: values[match.group(1)], template)


class Nginx(Process):
    def access_log(self):
        path = Path(self.directory, "access.log")
        return path.read_text() if path.exists() else ""

    def error_log(self):
        return Path(self.directory, "error.log").read_text(errors="replace")


def configure(directory, *, port, upstream_ports, static_root, media_root, import_max_bytes=None):
    """Write nginx.conf and conf.d/ from the deploy templates into ``directory``; its path.
    ``import_max_bytes``: the daphne processes' IMPORT_MAX_BYTES, if not this process's."""
    directory = Path(directory)
    (directory / "conf.d").mkdir(parents=True)
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / "temp" / temp).mkdir(parents=True)
    values = {
        "MICROBLOG_UPSTREAM": " ".join(
            f"server 127.0.0.1:{p} max_fails=0;" for p in upstream_ports
        ),
        "MICROBLOG_LISTEN": f"127.0.0.1:{port}",
        "MICROBLOG_SERVER_NAME": "127.0.0.1",
        "MICROBLOG_STATIC_ROOT": str(static_root),
        "MICROBLOG_MEDIA_ROOT": str(media_root),
        "MICROBLOG_IMPORT_MAX_BYTES": str(import_max_bytes or settings.IMPORT_MAX_BYTES),
    }
    for template in TEMPLATES.glob("*.template"):
        (directory / "conf.d" / template.stem).write_text(render(template.read_text(), values))
    # A master started by root drops its workers to "nobody", who could not read the test's files.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(MAIN.format(user=user, dir=directory))
    return directory / "nginx.conf"


def command(binary, conf, *args):
    directory = conf.parent
    return [binary, "-p", f"{directory}/", "-e", f"{directory}/error.log", "-c", str(conf), *args]


def start_nginx(directory, *, upstream_ports, static_root, media_root, import_max_bytes=None):
    """nginx on a free loopback port in front of daphne processes on ``upstream_ports``."""
    binary = nginx_binary()
    port = free_port()
    conf = configure(
        directory,
        port=port,
        upstream_ports=upstream_ports,
        static_root=static_root,
        media_root=media_root,
        import_max_bytes=import_max_bytes,
    )
    process = Nginx(
        command(binary, conf, "-g", "daemon off;"), dict(os.environ), conf.parent / "nginx.out"
    )
    process.directory = conf.parent
    wait_for_port(port, process)
    process.port = port
    process.url = f"http://127.0.0.1:{port}"
    return process
