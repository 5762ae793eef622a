"""The custom user model, in place from the first migration so it can grow without pain."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse


class User(AbstractUser):
    about_me = models.CharField(max_length=280, blank=True)
    # The language the user last chose; e-mails sent by workers use it.
    language = models.CharField(max_length=10, blank=True)

    def get_absolute_url(self):
        return reverse("profile", kwargs={"username": self.username})
