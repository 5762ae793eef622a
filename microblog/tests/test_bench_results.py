"""Every benchmark result is in the one schema bench/report.py reads, and names its commit and time.

The schema is what `record()` in bench/harness.py writes: ``{benchmark, vendor, machine,
git_sha, recorded_at, metrics: {name: {value, unit, bound?, samples?, details?}}, context?}``.
"""

import importlib.util
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from django.conf import settings

BENCH = Path(settings.BASE_DIR) / "bench"
RESULTS = sorted((BENCH / "results").glob("*.json"))
REQUIRED = {"benchmark", "vendor", "machine", "git_sha", "recorded_at", "metrics"}
OPTIONAL = {"context"}
METRIC_OPTIONAL = {"bound", "samples", "details"}
GIT_SHA = re.compile(r"[0-9a-f]{40}(-dirty)?")


def schema_errors(result, filename):
    """What is wrong with one result file's content, as readable lines (none if it is right)."""
    errors = []
    keys = set(result)
    if REQUIRED - keys:
        errors.append(f"missing {sorted(REQUIRED - keys)}")
    if keys - REQUIRED - OPTIONAL:
        errors.append(f"unknown keys {sorted(keys - REQUIRED - OPTIONAL)}")
    if errors:
        return errors
    for key in ("benchmark", "vendor", "machine"):
        if not isinstance(result[key], str) or not result[key]:
            errors.append(f"{key} is not a non-empty string")
    if filename != f"{result['benchmark']}-{result['vendor']}.json":
        errors.append("the file is not named <benchmark>-<vendor>.json")
    if not isinstance(result["git_sha"], str) or not GIT_SHA.fullmatch(result["git_sha"]):
        errors.append(f"git_sha {result['git_sha']!r} is not 40 hex digits [+ -dirty]")
    try:
        recorded = datetime.fromisoformat(result["recorded_at"])
        if recorded.tzinfo is None:
            errors.append("recorded_at has no time zone")
    except (TypeError, ValueError):
        errors.append(f"recorded_at {result['recorded_at']!r} is not an ISO time")
    if not isinstance(result.get("context", {}), dict):
        errors.append("context is not an object")
    metrics = result["metrics"]
    if not isinstance(metrics, dict) or not metrics:
        return [*errors, "metrics is not a non-empty object"]
    for name, metric in metrics.items():
        if not isinstance(metric, dict) or {"value", "unit"} - set(metric):
            errors.append(f"metric {name!r} lacks value or unit")
            continue
        if set(metric) - {"value", "unit"} - METRIC_OPTIONAL:
            errors.append(f"metric {name!r} has unknown keys")
        value = metric["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"metric {name!r}: value {value!r} is not a number")
        if not isinstance(metric["unit"], str) or not metric["unit"]:
            errors.append(f"metric {name!r}: unit is not a non-empty string")
        samples = metric.get("samples")
        if samples is not None and (isinstance(samples, bool) or not isinstance(samples, int)):
            errors.append(f"metric {name!r}: samples is not a count")
    return errors


def test_there_are_results():
    assert RESULTS, "bench/results/ holds no result"
    assert not (BENCH / "results" / "one-off").exists()


@pytest.mark.parametrize("path", RESULTS, ids=[path.name for path in RESULTS])
def test_result_file_matches_the_schema(path):
    assert schema_errors(json.loads(path.read_text()), path.name) == []


@pytest.fixture
def harness(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_harness", BENCH / "harness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.RESULTS_DIR = tmp_path
    return module


def test_record_writes_what_a_script_printed_in_the_schema(harness):
    printed = {
        "machine": "whatever the script says",
        "vendor": "sqlite",
        "posts": 10_000,
        "floor": "executemany",
        "post_to_succeeded_s": {"min": 1.0, "median": 1.25, "max": 2},
        "websockets": {"latency_ms": {"p99": 31.4}, "burst_p99_ms": [29.0, 35.3]},
        "refuses_early": True,
    }
    metrics, context = harness.metrics_from(printed)
    context["command"] = "python bench/example.py sqlite"
    path = harness.record("example", "sqlite", metrics, context)

    result = json.loads(path.read_text())
    assert path.name == "example-sqlite.json"
    assert schema_errors(result, path.name) == []
    assert result["git_sha"].startswith(harness.git_sha()[:40])
    assert result["metrics"]["post_to_succeeded_s.median"] == {"value": 1.25, "unit": "s"}
    assert result["metrics"]["websockets.latency_ms.p99"] == {"value": 31.4, "unit": "ms"}
    assert result["metrics"]["posts"] == {"value": 10_000, "unit": "count"}
    assert result["context"] == {
        "floor": "executemany",
        "websockets.burst_p99_ms": [29.0, 35.3],
        "refuses_early": True,
        "command": "python bench/example.py sqlite",
    }
