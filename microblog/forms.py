from django import forms

from microblog.models import POST_MAX_LENGTH


class PostForm(forms.Form):
    body = forms.CharField(
        label="Say something",
        max_length=POST_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": POST_MAX_LENGTH}),
        error_messages={
            "required": "Your post is empty.",
            "max_length": f"Posts are limited to {POST_MAX_LENGTH} characters "
            "(this one has %(show_value)d).",
        },
    )
