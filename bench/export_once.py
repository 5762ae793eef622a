"""Run one export job in this process and print its time and this process's peak RSS.

Used by export_throughput.py: ``python bench/export_once.py VENDOR USERNAME``.
"""

import json
import resource
import sys
import time

from harness import setup_django

vendor, username = sys.argv[1], sys.argv[2]
setup_django(vendor)

from django.contrib.auth import get_user_model  # noqa: E402

from exports.jobs import export_posts  # noqa: E402
from exports.kinds import EXPORT_POSTS  # noqa: E402
from usertasks.models import Task  # noqa: E402
from usertasks.transitions import create_task  # noqa: E402

user = get_user_model().objects.get(username=username)
Task.objects.filter(user=user).delete()
task = create_task(task_id=f"{time.time_ns():032x}"[-32:], user=user, kind=EXPORT_POSTS.name)
started = time.perf_counter()
export_posts(task.pk)
elapsed = time.perf_counter() - started
task.refresh_from_db()
assert task.status == "succeeded", task.error
print(
    json.dumps(
        {
            "seconds": elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "bytes": task.result_size,
        }
    )
)
