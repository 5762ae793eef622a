"""The django-rq dashboard pages look like the rest of the admin (issue: unstyled breadcrumbs,
"1 1 jobs")."""

import django_rq
import pytest

from testkit.browser import log_in_to_admin
from testkit.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_the_queue_pages_have_admin_breadcrumbs_and_one_job_count(web, page, password):
    django_rq.get_queue("default").enqueue("ops.health.healthz", None)  # never run
    staff = UserFactory(username="rq-staff", is_staff=True, is_superuser=True)
    log_in_to_admin(page, web.url, staff, password, "/admin/usertasks/task/")
    page.wait_for_selector("#result_list, #changelist")
    admin_bar = page.evaluate(
        "getComputedStyle(document.querySelector('.breadcrumbs')).backgroundColor"
    )

    for path, count in (("queues/0/", "1"), ("queues/0/finished/", "0")):
        page.goto(f"{web.url}/admin/django-rq/{path}")
        crumbs = page.locator("div.breadcrumbs")
        assert crumbs.is_visible(), path
        style = "e => getComputedStyle(e).backgroundColor"
        assert crumbs.evaluate(style) == admin_bar != "rgba(0, 0, 0, 0)", path
        assert page.locator("p.paginator").inner_text().split() == [count, "jobs"], path
