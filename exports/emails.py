"""The "your posts are ready" e-mail."""

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

SUBJECT = _("[Microblog] Your blog posts")


class ReadableEmail(EmailMultiAlternatives):
    """Text parts sent as 8-bit UTF-8 rather than quoted-printable: the download link stays on
    one line and "23.5 MB" stays readable, for `cat var/mail/*.log` and any mail client
    that shows the raw message. Our lines are far below SMTP's 998-octet limit."""

    def message(self, **kwargs):
        message = super().message(**kwargs)
        for part in message.walk():
            if part.get_content_maintype() == "text" and not part.is_attachment():
                part.set_content(
                    part.get_content(),
                    subtype=part.get_content_subtype(),
                    charset="utf-8",
                    cte="8bit",
                )
                del part["MIME-Version"]  # set_content adds it: the message has it once
        return message


def send_export_email(*, task, stored_name, size):
    user = task.user
    link = settings.SITE_URL.rstrip("/") + reverse("exports:download", kwargs={"task_id": task.pk})
    attach = size <= settings.EXPORT_ATTACHMENT_MAX_BYTES
    context = {"user": user, "download_url": link, "attached": attach, "size": size}
    with translation.override(user.preferred_language):
        message = ReadableEmail(
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
