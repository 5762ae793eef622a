"""Run every benchmark on SQLite and PostgreSQL; write bench/results/<name>-<vendor>.json.

    python bench/run.py [--only NAME] [--vendors sqlite,postgres] [SCRIPT OPTIONS]

Options it does not know go to the scripts (e.g. `--posts 20000` for a quick check). Each script
prints its figures as JSON; `harness.record` writes them in the one result schema, with the
machine, the commit, the time and the command, and bench/report.py turns the files into the
figures table of RESULTS.md.

PostgreSQL is the local server (BENCH_PG, default postgres://postgres@127.0.0.1:5432); it is
skipped with a note when it does not answer.
"""

import argparse
import json
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from harness import metrics_from, record

HERE = Path(__file__).resolve().parent
# name of the results file -> (script, its arguments)
BENCHMARKS = {
    "export_throughput": ("export_throughput", []),
    "progress_latency": ("progress_latency", []),
    "worker_throughput": ("worker_throughput", []),
    "job_overhead": ("job_overhead", []),
    "web_load": ("web_load", []),
    "page_scale": ("page_scale", []),
    "websocket_scale": ("websocket_scale", []),  # 10,000 sockets: memory per socket
    # The latency target's own condition: a 50-export burst while 5,000 sockets are open, three
    # times over, so that the p99 rests on 450 states rather than 150; then 1,000 private
    # messages to the export owners, each to all 20 of its recipient's tabs.
    "websocket_burst": (
        "websocket_scale",
        ["--clients", "5000", "--poll-seconds", "2", "--bursts", "3", "--messages", "1000"],
    ),
    # One user's 2,000 sockets through nginx, then a frame flood on 50 of them (issue 29).
    "websocket_flood": ("websocket_flood", []),
    "download_memory": ("download_memory", []),
    "upload_memory": ("upload_memory", []),
    "import_throughput": ("import_throughput", ["--runs", "2"]),
    "test_suite": ("test_suite", []),
    "clock_and_memory": ("clock_and_memory", []),
}

parser = argparse.ArgumentParser()
parser.add_argument("--only", choices=sorted(BENCHMARKS))
parser.add_argument("--vendors", default="sqlite,postgres")
options, passed_on = parser.parse_known_args()


def postgres_answers():
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


for name, (script, extra) in BENCHMARKS.items():
    if options.only and name != options.only:
        continue
    for vendor in options.vendors.split(","):
        if vendor == "postgres" and not postgres_answers():
            print(f"{name} {vendor}: skipped, no PostgreSQL on 127.0.0.1:5432", flush=True)
            continue
        print(f"{name} {vendor} …", flush=True)
        args = [f"bench/{script}.py", vendor, *extra, *passed_on]
        result = subprocess.run(
            [sys.executable, *args],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            print(result.stderr[-3000:], file=sys.stderr)
            sys.exit(f"{name} {vendor} failed")
        # The figures are the last JSON object printed (logs may precede it).
        text = (
            result.stdout[result.stdout.rindex("\n{") + 1 :]
            if "\n{" in result.stdout
            else result.stdout
        )
        metrics, context = metrics_from(json.loads(text))
        context["command"] = shlex.join(["python", *args])
        path = record(name, vendor, metrics, context)
        print(path.read_text(), flush=True)
