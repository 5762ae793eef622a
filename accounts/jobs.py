"""What the RQ worker runs for accounts: the password-reset e-mail, never sent in a request."""

from django.contrib.auth.forms import PasswordResetForm
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


class PasswordResetMail(PasswordResetForm):
    """Django's reset form, run by the worker: it finds the active users with the address and
    mails each one a link with a fresh token, using Django's templates in registration/."""

    def __init__(self, *args, language, **kwargs):
        super().__init__(*args, **kwargs)
        self.language = language

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        # Django's own send_mail logs and swallows every exception, RQ's JobTimeoutException
        # included: here a failure fails the job, so RQ retries it and staff can see it.
        # The language the user chose wins over the one the reset was asked in.
        with translation.override(context["user"].language or self.language):
            subject = "".join(render_to_string(subject_template_name, context).splitlines())
            message = EmailMultiAlternatives(
                subject, render_to_string(email_template_name, context), from_email, [to_email]
            )
            if html_email_template_name is not None:
                html = render_to_string(html_email_template_name, context)
                message.attach_alternative(html, "text/html")
        message.send()


def send_password_reset(*, email: str, domain: str, use_https: bool, language: str) -> None:
    form = PasswordResetMail({"email": email}, language=language)
    if form.is_valid():  # the request validated it already; the form's save() needs this
        form.save(domain_override=domain, use_https=use_https)
