"""A web process's /metrics, read as a Prometheus server reads it."""

import requests
from prometheus_client.parser import text_string_to_metric_families


def samples(text):
    """{(name, frozenset(labels.items())): value} of a Prometheus text exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(figures, metric, **labels):
    return figures[(metric, frozenset(labels.items()))]


def scrape(base_url, **headers):
    response = requests.get(f"{base_url}/metrics", headers=headers, timeout=30)
    response.raise_for_status()
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(response.text)
