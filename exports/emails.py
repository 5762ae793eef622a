"""The "your posts are ready" e-mail."""

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

SUBJECT = _("[Microblog] Your blog posts")


def send_export_email(*, task, stored_name, size):
    user = task.user
    link = settings.SITE_URL.rstrip("/") + reverse("exports:download", kwargs={"task_id": task.pk})
    attach = size <= settings.EXPORT_ATTACHMENT_MAX_BYTES
    context = {"user": user, "download_url": link, "attached": attach, "size": size}
    with translation.override(user.preferred_language):
        message = EmailMultiAlternatives(
            subject=str(SUBJECT),  # rendered now: the message is built after the override ends
            body=render_to_string("email/export_posts.txt", context),
            to=[user.email],
        )
        message.attach_alternative(
            render_to_string("email/export_posts.html", context), "text/html"
        )
    if attach:
        with default_storage.open(stored_name, "rb") as handle:
            message.attach("posts.json", handle.read(), "application/json")
    message.send()
