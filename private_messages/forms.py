from django import forms
from django.utils.translation import gettext_lazy as _

from private_messages.models import MESSAGE_MAX_LENGTH


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message"),
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MESSAGE_MAX_LENGTH}),
        error_messages={
            "required": _("Your message is empty."),
            "max_length": _(
                "Messages are limited to %(limit_value)d characters (this one has %(show_value)d)."
            ),
        },
    )
