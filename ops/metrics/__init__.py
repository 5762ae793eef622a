"""/metrics: what operators watch, in Prometheus text format (prometheus-client).

Two kinds of figures, so that they stay right with any number of web and worker processes:

- Shared state is read from the database and Redis at scrape time (``SharedStateCollector``),
  from the sources apps register: tasks by kind and status, active tasks and the oldest one's
  age (usertasks/metrics.py), export durations and sizes (exports/metrics.py), RQ queues,
  registries, live workers, Redis's memory and e-mail failures (ops/metrics/queues.py). Every
  web process returns the same values, however many workers ran the jobs and whether they are
  still alive: nothing is lost with a process, and no multiprocess directory has to be shared
  between containers.
- What only a web process knows is kept in that process (``PROCESS``): its open websockets and
  the HTTP requests it served, per view (ops/metrics/http.py). Prometheus scrapes every web
  process as a target of its own (see docker-compose.yml and deploy/prometheus/), and sums over
  targets.

Access (ops/metrics/endpoint.py): loopback clients whose request came through no proxy, or a
bearer token equal to METRICS_TOKEN; anyone else gets a 404 (403 for a wrong token), never the
figures.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, ProcessCollector, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

# A "_created" timestamp beside every counter and histogram: series nobody asked for.
disable_created_metrics()

PROCESS = CollectorRegistry()
ProcessCollector(registry=PROCESS)

Families = Callable[[], Iterable]
_SOURCES: dict[str, list[Families]] = defaultdict(list)


def register_source(source: str, families: Families) -> None:
    """Add ``families()`` to what a scrape reads from ``source`` (database, redis ...): if any
    of a source's functions fails, the scrape reports that source down and shows none of it."""
    _SOURCES[source].append(families)


class SharedStateCollector:
    """Figures shared by all processes, read from the database and Redis at each scrape."""

    def collect(self):
        up = GaugeMetricFamily(
            "microblog_metrics_source_up",
            "1 if this scrape could read the source (database, redis, redis_topology), else 0.",
            labels=["source"],
        )
        for source, functions in _SOURCES.items():
            try:
                families = [family for function in functions for family in function()]
            except Exception:
                logger.warning("metrics: could not read the %s", source, exc_info=True)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from families
        yield up


SHARED = CollectorRegistry()
SHARED.register(SharedStateCollector())

# Redis's figures are every site's: registered with the registry itself.
from ops.metrics import queues  # noqa: E402, F401
