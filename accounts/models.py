"""The custom user model, in place from the first migration so it can grow without pain."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse


class User(AbstractUser):
    about_me = models.CharField(max_length=280, blank=True)
    # The language the user last chose; e-mails sent by workers use it.
    language = models.CharField(max_length=10, blank=True)

    @property
    def preferred_language(self):
        """The language of what reaches the user outside a request: e-mails, task messages."""
        return self.language or settings.LANGUAGE_CODE

    def get_absolute_url(self):
        return reverse("profile", kwargs={"username": self.username})
