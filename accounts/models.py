"""The custom user model, in place from the first migration so it can grow without pain."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse

from accounts.validators import not_a_dot_segment

_django_username = AbstractUser._meta.get_field("username")


class User(AbstractUser):
    # Django's own field and texts, plus one rule: the username must work in a profile URL.
    username = models.CharField(
        _django_username.verbose_name,
        max_length=_django_username.max_length,
        unique=True,
        help_text=_django_username.help_text,
        validators=[AbstractUser.username_validator, not_a_dot_segment],
        error_messages={"unique": _django_username.error_messages["unique"]},
    )
    about_me = models.CharField(max_length=280, blank=True)
    # The language the user last chose; e-mails sent by workers use it.
    language = models.CharField(max_length=10, blank=True)

    @property
    def preferred_language(self):
        """The language of what reaches the user outside a request: e-mails, task messages."""
        return self.language or settings.LANGUAGE_CODE

    def get_absolute_url(self):
        return reverse("profile", kwargs={"username": self.username})
