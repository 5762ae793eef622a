"""Wall time of `make test` on this machine: the whole suite, as CI runs it.

    python bench/test_suite.py sqlite|postgres

On PostgreSQL the suite's test databases are ``test_<BENCH_PG_NAME>_suite_gw0`` …, created and
dropped by the run. Prints one JSON object: the wall time, the pytest-xdist processes and the
outcome counts from pytest's summary line (a figure from a run with failures is not a figure).
"""

import json
import os
import re
import subprocess
import sys
import time

from harness import BASE_DIR, PG_NAME, PG_SERVER, machine

vendor = sys.argv[1]
env = {**os.environ}
env.pop("DATABASE_URL", None)
if vendor == "postgres":
    env["DATABASE_URL"] = f"{PG_SERVER}/{PG_NAME}_suite"
started = time.monotonic()
result = subprocess.run(
    ["make", "test"],  # TEST_PROCESSES, if set, reaches make through the environment
    cwd=BASE_DIR,
    env=env,
    capture_output=True,
    text=True,
)
wall = time.monotonic() - started
# pytest-xdist's "created: 6/6 workers": what the Makefile (or TEST_PROCESSES) asked for; no
# such line, no xdist: one process.
created = re.search(r"^created: (\d+)/\d+ workers", result.stdout, re.M)
processes = int(created[1]) if created else 1
summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?)", summary)}
# pytest's -ra summary: "SKIPPED [4] exports/tests/test_x.py:31: needs PostgreSQL: ..."
skip_reasons = {}
for n, reason in re.findall(r"^SKIPPED \[(\d+)\] [^:]+:\d+: (.*)$", result.stdout, re.M):
    skip_reasons[reason] = skip_reasons.get(reason, 0) + int(n)
if result.returncode:
    print(result.stdout[-5000:], file=sys.stderr)
    sys.exit(f"make test failed: {summary}")
print(
    json.dumps(
        {
            "benchmark": "test_suite",
            "vendor": vendor,
            "machine": machine(),
            "wall_seconds": round(wall, 1),
            "test_processes": processes,
            "passed": counts.get("passed", 0),
            "skipped": counts.get("skipped", 0),
            "failed": counts.get("failed", 0),
            "skip_reasons": skip_reasons,
            "pytest_summary": summary,
        },
        indent=2,
    )
)
