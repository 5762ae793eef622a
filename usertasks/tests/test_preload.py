"""The worker builds, before it forks, what its work-horses would each build again and drop."""

import json
import subprocess
import sys

from testkit import processes

# Runs in a process of its own: a fresh Django, as `manage.py rqworker` starts one. It makes the
# worker `rqworker` makes, has it fork a work-horse the way it does for every job, and in the
# horse counts what doing an export job's rendering builds in each language.
HORSE = """
import gc, json, os, types
import django
django.setup()
from django.template.base import Template
from django.template.loader import render_to_string
from django.urls import reverse
from django.urls.resolvers import URLResolver
from django.utils import translation
from django_rq import get_worker

worker = get_worker("default")
read_end, write_end = os.pipe()


def count_builds():
    built = {"url_tables": 0, "templates": 0}
    populate, compile_nodelist = URLResolver._populate, Template.compile_nodelist

    def counted_populate(resolver):
        built["url_tables"] += 1
        populate(resolver)

    def counted_compile(template):
        built["templates"] += 1
        return compile_nodelist(template)

    URLResolver._populate, Template.compile_nodelist = counted_populate, counted_compile
    for code in ("en", "es"):
        with translation.override(code):
            reverse("exports:download", kwargs={"task_id": "0" * 32})
            render_to_string("email/export_posts.txt", {"download_url": "x", "size": 1})
            render_to_string("email/export_posts.html", {"download_url": "x", "size": 1})
    return built


def in_the_horse(job, queue):
    report = {**count_builds(), "frozen_objects": gc.get_freeze_count()}
    os.write(write_end, json.dumps(report).encode())
    os._exit(0)


worker.main_work_horse = in_the_horse
worker.fork_work_horse(types.SimpleNamespace(id="preload-probe"), None)
os.waitpid(worker.horse_pid, 0)
os.close(write_end)
horse = json.loads(os.read(read_end, 4096))
print(json.dumps({"horse": horse, "worker_frozen_objects": gc.get_freeze_count()}))
"""


def test_a_work_horse_renders_an_export_job_without_building_tables_or_templates():
    result = subprocess.run(
        [sys.executable, "-c", HORSE],
        env=processes.child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["horse"]["url_tables"] == 0, report
    assert report["horse"]["templates"] == 0, report
    # The horse's collections skip what it inherited; the worker's do not.
    assert report["horse"]["frozen_objects"] > 10_000, report
    assert report["worker_frozen_objects"] == 0, report
