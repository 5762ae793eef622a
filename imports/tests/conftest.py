import pytest

from testkit import processes
from testkit.factories import UserFactory
from testkit.visitor import Visitor


@pytest.fixture
def upload_dir(media_root):
    return media_root / "private" / "imports"


@pytest.fixture
def site(transactional_db, redis_client, media_root, tmp_path):
    """daphne with no rate limit (tests start many imports) and a small upload limit."""
    process = processes.start_daphne(
        tmp_path / "daphne.log", MEDIA_ROOT=media_root, TASKS_PER_HOUR=0
    )
    yield process
    process.stop()


@pytest.fixture
def visitor(site, password):
    """A logged-in visitor of ``site`` (its user is ``visitor.user``)."""
    user = UserFactory()
    browser = Visitor(site.url)
    browser.log_in(user.username, password)
    browser.user = user
    return browser
