"""Sign-up and profile forms; field names follow Django's own auth forms."""

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import User


def _email_taken(email, *, exclude_pk=None):
    return User.objects.filter(email__iexact=email).exclude(pk=exclude_pk).exists()


EMAIL_TAKEN = _("An account with this e-mail address already exists.")


class SignUpForm(UserCreationForm):
    email = forms.EmailField(label=_("Email"), required=True)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self):
        email = self.cleaned_data["email"]
        if _email_taken(email):
            raise forms.ValidationError(EMAIL_TAKEN)
        return email


class ProfileForm(forms.ModelForm):
    email = forms.EmailField(label=_("Email"), required=True)

    class Meta:
        model = User
        fields = ("about_me", "email")
        labels = {"about_me": _("About me")}
        widgets = {"about_me": forms.Textarea(attrs={"rows": 3})}

    def clean_email(self):
        email = self.cleaned_data["email"]
        if _email_taken(email, exclude_pk=self.instance.pk):
            raise forms.ValidationError(EMAIL_TAKEN)
        return email
