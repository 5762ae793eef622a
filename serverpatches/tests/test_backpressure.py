"""Response bodies under a real daphne without nginx: sent as fast as each client reads them
(serverpatches/backpressure.py), as under `make run`."""

import http.client
import threading
from pathlib import Path

import psutil
import pytest

from testkit import processes
from testkit.factories import TaskFactory
from testkit.raw_http import session_cookie
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_without_nginx_concurrent_and_slow_downloads_do_not_grow_daphne(
    user, redis_client, media_root, tmp_path
):
    """`make run` has no nginx: daphne sends the file, a block at a time, as fast as each
    client reads it (usertasks.results.ChunkedFileResponse and serverpatches.backpressure)."""
    size = 48 * 2**20
    task = TaskFactory(user=user, status=Task.Status.SUCCEEDED, progress=100)
    path = Path(media_root, "exports", str(user.pk), f"{task.pk}.json")
    path.parent.mkdir(parents=True)
    with open(path, "wb") as handle:
        handle.truncate(size)  # sparse: costs no disk
    Task.objects.filter(pk=task.pk).update(result=path.relative_to(media_root).as_posix())
    cookie = session_cookie(user)
    web = processes.start_daphne(tmp_path / "web.log", MEDIA_ROOT=media_root)
    try:
        daphne = psutil.Process(web.pid)

        def download(stall=None):
            connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=60)
            connection.request("GET", f"/exports/{task.pk}/download", headers={"Cookie": cookie})
            response = connection.getresponse()
            assert response.status == 200
            received = 0
            while block := response.read(2**16):
                received += len(block)
                if stall and received >= 2**20:
                    stall.wait(60)  # a client that stops reading after 1 MB
                    break
            connection.close()
            return received

        download()  # the first request's imports are not what is measured
        before = daphne.memory_info().rss
        threads = [threading.Thread(target=download) for _ in range(3)]
        stall = threading.Event()
        stalled = threading.Thread(target=download, args=(stall,))
        for thread in [*threads, stalled]:
            thread.start()
        for thread in threads:
            thread.join()
        # The stalled client's response is not read into memory while it waits.
        grown = (daphne.memory_info().rss - before) / 2**20
        stall.set()
        stalled.join()
        assert grown < 16, f"daphne grew by {grown:.1f} MB for 3 downloads of 48 MB and a stall"
        # The client that hung up mid-file leaves nothing waiting behind: the file is closed.
        wait_until(lambda: str(path) not in {f.path for f in daphne.open_files()}, 30)
    finally:
        web.stop()
