"""The settings of the test session and of every server and worker it starts (they inherit
DJANGO_SETTINGS_MODULE): production's, with a fast password hasher first.

PBKDF2 costs ~0.5 s of CPU per log-in and per user created, and is not what the tests test: it
was the largest single cost of `make test` on a 2-core machine (bench/RESULTS.md §10). PBKDF2
stays in the list, so a password hashed by a process on the production settings (the README's
commands in a fresh checkout) still verifies. Benchmarks run on the production settings.
"""

from django.conf import global_settings

from microblog.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    *global_settings.PASSWORD_HASHERS,
]
