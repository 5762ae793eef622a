from django import forms
from django.utils.translation import gettext_lazy as _


class ImportForm(forms.Form):
    archive = forms.FileField(
        label=_("Archive (posts.json)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/json,.json"}),
        error_messages={"required": _("Choose an archive file to import.")},
    )
