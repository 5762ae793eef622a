"""The admin's task list fits a 1280 px screen: no column hides behind a horizontal scroll."""

import pytest

from testkit.browser import log_in_to_admin
from testkit.factories import TaskFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_every_column_of_the_task_list_is_visible_at_1280_pixels(web, page, password):
    staff = UserFactory(username="staff-member", is_staff=True, is_superuser=True)
    for n in range(3):
        TaskFactory(user=UserFactory(username=f"exporter-{n}"), status="running", progress=45)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in_to_admin(page, web.url, staff, password, "/admin/usertasks/task/")
    page.wait_for_selector("#result_list")

    for header in ("Created", "Duration", "Purged"):
        assert page.locator(f"#result_list th:has-text('{header}')").is_visible()
    assert page.locator("#result_list td:has-text('Running · 45%')").count() == 3
    scroll = page.evaluate("document.querySelector('#changelist-form .results').scrollWidth")
    visible = page.evaluate("document.querySelector('#changelist-form .results').clientWidth")
    assert scroll <= visible
