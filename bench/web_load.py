"""Issue 5 §6: requests per second and p99 of the logged-in timeline and of the export POST.

    python bench/web_load.py {sqlite,postgres} [--seconds 10] [--connections 16]

Drives one daphne process with wrk. Baseline in the same run: /healthz (a view that touches
the database and Redis but renders nothing).
"""

import argparse
import json
import tempfile
from pathlib import Path

import harness
from harness import machine, setup_django, start_redis

parser = argparse.ArgumentParser()
parser.add_argument("vendor", choices=["sqlite", "postgres"])
parser.add_argument("--seconds", type=int, default=10)
parser.add_argument("--connections", type=int, default=16)
parser.add_argument("--posters", type=int, default=5000)
options = parser.parse_args()

redis_server = start_redis()
setup_django(options.vendor, TASKS_PER_HOUR=0)

from sessions import users_with_sessions  # noqa: E402

from blog.models import Follow, Post  # noqa: E402
from testkit.processes import start_daphne  # noqa: E402
from usertasks.models import Task  # noqa: E402

out = Path(tempfile.mkdtemp(prefix="bench-web-"))
CSRF = "b" * 32
(reader,), (reader_session,) = users_with_sessions("bench_reader", 1)
authors, _ = users_with_sessions("bench_author", 20)
if not Post.objects.filter(author__in=authors).exists():
    Post.objects.bulk_create(
        [
            Post(author=a, body=f"post {i} by {a.username} — ünï 🎉")
            for a in authors
            for i in range(5)
        ]
    )
    Follow.objects.bulk_create([Follow(follower=reader, followed=a) for a in authors])
posters, poster_sessions = users_with_sessions("bench_poster", options.posters)
Task.objects.filter(user__in=posters).delete()

# Each wrk thread walks its own half of the sessions, so every POST is a first export.
LUA = """
local sessions = {@SESSIONS@}
local threads = 0
function setup(thread)
  thread:set("offset", threads * math.floor(#sessions / 2))
  threads = threads + 1
end
function init(args) i = offset end
request = function()
  i = i + 1
  local key = sessions[(i % #sessions) + 1]
  return wrk.format("POST", "/exports/", {
    ["Cookie"] = "sessionid=" .. key .. "; csrftoken=@CSRF@",
    ["X-CSRFToken"] = "@CSRF@",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "next=/explore/")
end
"""
LUA = LUA.replace("@SESSIONS@", ", ".join(f'"{k}"' for k in poster_sessions))
LUA = LUA.replace("@CSRF@", CSRF)
(out / "post.lua").write_text(LUA)


def wrk(url, *extra):
    figures = harness.wrk(url, *extra, connections=options.connections, seconds=options.seconds)
    return {key: figures[key] for key in ("rps", "p99_ms", "errors")}


web = start_daphne(out / "daphne.log")
try:
    cookie = f"Cookie: sessionid={reader_session}"
    baseline = wrk(web.url + "/healthz")
    timeline = wrk(web.url + "/", "-H", cookie)
    export_post = wrk(web.url + "/exports/", "-s", str(out / "post.lua"))
    launched = Task.objects.filter(user__in=posters).count()
finally:
    web.stop()
    redis_server.stop()

print(
    json.dumps(
        {
            "machine": machine(),
            "vendor": options.vendor,
            "healthz_baseline": baseline,
            "timeline": timeline,
            "timeline_rps_ratio": round(timeline["rps"] / baseline["rps"], 3),
            "export_post": export_post,
            "export_post_rps_ratio": round(export_post["rps"] / baseline["rps"], 3),
            "exports_enqueued": launched,
        },
        indent=2,
    )
)
