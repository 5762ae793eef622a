"""Run every benchmark on SQLite and PostgreSQL; write bench/results/<name>-<vendor>.json.

    python bench/run.py [--only NAME] [--vendors sqlite,postgres]

PostgreSQL is the local server (BENCH_PG, default postgres://postgres@127.0.0.1:5432); it is
skipped with a note when it does not answer.
"""

import argparse
import json
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BENCHMARKS = {
    "export_throughput": [],
    "progress_latency": [],
    "worker_throughput": [],
    "web_load": [],
    "websocket_scale": [],
}

parser = argparse.ArgumentParser()
parser.add_argument("--only", choices=sorted(BENCHMARKS))
parser.add_argument("--vendors", default="sqlite,postgres")
options = parser.parse_args()


def postgres_answers():
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


RESULTS.mkdir(exist_ok=True)
for name, extra in BENCHMARKS.items():
    if options.only and name != options.only:
        continue
    for vendor in options.vendors.split(","):
        if vendor == "postgres" and not postgres_answers():
            print(f"{name} {vendor}: skipped, no PostgreSQL on 127.0.0.1:5432", flush=True)
            continue
        print(f"{name} {vendor} …", flush=True)
        result = subprocess.run(
            [sys.executable, str(HERE / f"{name}.py"), vendor, *extra],
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
        figures = json.loads(text)
        (RESULTS / f"{name}-{vendor}.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps(figures, indent=2), flush=True)
