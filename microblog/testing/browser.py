"""Browser steps shared by the end-to-end tests."""


def log_in(page, base_url, user, password):
    """Log ``user`` in through the real log-in form and wait for the timeline."""
    page.goto(base_url + "/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(base_url + "/")
