"""The worker side of progress_latency.py: report progress N times at a steady rate.

python bench/progress_producer.py VENDOR TASK_ID COUNT RATE
"""

import sys
import time

from harness import setup_django

vendor, task_id, count, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
setup_django(vendor)

from usertasks.models import Task  # noqa: E402
from usertasks.progress import Broadcaster  # noqa: E402
from usertasks.transitions import move, report_progress  # noqa: E402

task = Task.objects.get(pk=task_id)
broadcaster = Broadcaster()
move(task, to=Task.Status.RUNNING, done=0, total=count, broadcaster=broadcaster)
started = time.perf_counter()
for sequence in range(1, count + 1):
    report_progress(task, done=sequence, broadcaster=broadcaster)
    delay = started + sequence / rate - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
move(task, to=Task.Status.SUCCEEDED, done=count, broadcaster=broadcaster)
broadcaster.close()
