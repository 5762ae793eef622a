"""Browser steps shared by the end-to-end tests."""


def log_in(page, base_url, user, password):
    """Log ``user`` in through the real log-in form and wait for the timeline."""
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(base_url + "/")


def log_in_to_admin(page, base_url, user, password, next_path="/admin/"):
    """Log a staff ``user`` in through the admin's own form, landing on ``next_path``."""
    page.goto(f"{base_url}/admin/login/?next={next_path}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(base_url + next_path)


def sign_up(page, base_url, username, password):
    """Sign ``username`` up through the real sign-up form and wait for the timeline."""
    page.goto(base_url + "/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.com")
    page.fill("#id_password1", password)
    page.fill("#id_password2", password)
    page.click("main button[type=submit]")
    page.wait_for_url(base_url + "/")


def finished_bar(task):
    """Selector of ``task``'s progress bar once it reached 100 %."""
    return f'[role="progressbar"][data-task-id="{task.pk}"][aria-valuenow="100"]'
