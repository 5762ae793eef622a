from django import forms
from django.utils.translation import gettext_lazy as _

from blog.models import POST_MAX_LENGTH


class PostForm(forms.Form):
    body = forms.CharField(
        label=_("Say something"),
        max_length=POST_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": POST_MAX_LENGTH}),
        error_messages={
            "required": _("Your post is empty."),
            "max_length": _(
                "Posts are limited to %(limit_value)d characters (this one has %(show_value)d)."
            ),
        },
    )
