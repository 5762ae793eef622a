"""A genuinely full disk (a 2 MB tmpfs as MEDIA_ROOT): one failed export must not leave its
unfinished file behind, or every other user's export fails too."""

import os
import shutil
import subprocess

import pytest

from blog.seeding import seed_posts
from exports.services import export_launch
from testkit import processes
from testkit.factories import UserFactory
from testkit.missing import missing
from testkit.waiting import wait_until
from usertasks.models import Task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]

DISK_FULL = "The server has no room to store your export right now. Please try again in an hour."


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB file system of its own, mounted for the test (needs root, as CI has)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        missing("mounting a tmpfs needs root (CI runs as root)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount_point], check=True)
    yield mount_point
    subprocess.run(["umount", "-l", mount_point], check=True)


def parts(media_root):
    return list((media_root / "exports" / "tmp").glob("*.part"))


def test_a_full_disk_fails_only_the_big_export_says_to_wait_and_leaves_no_file(
    small_disk, user, client, redis_client, smtp_server, tmp_path
):
    seed_posts(author=user, count=60_000, seed=11)  # about 5 MB of JSON: it cannot fit
    small = UserFactory()
    seed_posts(author=small, count=200, seed=12)
    worker = processes.start_worker(
        tmp_path / "worker.log", MEDIA_ROOT=small_disk, **smtp_server.env()
    )
    try:
        big = export_launch(user=user)
        wait_until(lambda: not Task.objects.get(pk=big.pk).is_active, 60)
        wait_until(lambda: not parts(small_disk), 30)
        used = shutil.disk_usage(small_disk).used

        fits = export_launch(user=small)
        wait_until(lambda: not Task.objects.get(pk=fits.pk).is_active, 60)
    finally:
        worker.stop()

    big.refresh_from_db()
    fits.refresh_from_db()
    assert big.status == Task.Status.FAILED, worker.output()[-3000:]
    assert fits.status == Task.Status.SUCCEEDED, worker.output()[-3000:]
    assert used < 64 * 1024, f"{used} bytes still used after the failed export"
    assert not parts(small_disk)

    # The owner reads a reason that does not invite an immediate retry; staff see it too.
    client.force_login(user)
    assert client.get(f"/exports/{big.pk}/status").json()["error"] == DISK_FULL
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert DISK_FULL in client.get(f"/admin/usertasks/task/{big.pk}/change/").text
