"""manage.py seed_posts USERNAME COUNT [--password P] [--email E]."""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from blog.seeding import seed_posts


class Command(BaseCommand):
    help = "Create USERNAME if missing and append COUNT posts with increasing timestamps."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("count", type=int)
        parser.add_argument("--password", help="password for a newly created user")
        parser.add_argument("--email", help="e-mail address for a newly created user")
        parser.add_argument("--seed", type=int, help="random seed for reproducible text")

    def handle(self, username, count, password, email, seed, **options):
        if count < 0:
            raise CommandError("COUNT must be zero or more.")
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            user = user_model.objects.create_user(
                username=username, email=email or f"{username}@example.com", password=password
            )
            self.stdout.write(f"Created user {username}.")
        started = time.perf_counter()
        seed_posts(author=user, count=count, seed=seed)
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Added {count} posts for {username} in {elapsed:.1f} s.")
