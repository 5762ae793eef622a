"""Sign-up, profile editing, the language choice and the password-reset request; log-in,
log-out and setting a new password are Django's own views (log-out confirms with a message)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ProfileForm, SignUpForm
from accounts.services import PasswordResetUnavailable, password_reset_request


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("index")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # E-mails are sent by workers, outside any request: they use the language signed up in.
        form.instance.language = request.LANGUAGE_CODE
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to Microblog, %(name)s!") % {"name": user.username})
        return redirect("index")
    return render(request, "registration/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def edit_profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your changes have been saved."))
        return redirect("profile", username=request.user.username)
    return render(request, "accounts/edit_profile.html", {"form": form})


@require_POST
def set_language(request):
    """Django's set_language (a cookie), which also remembers a logged-in user's choice."""
    response = i18n.set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's view, except that the e-mail is only queued: a worker looks the address up and
    sends it, so every address gets the same work and the same "done" page."""

    def form_valid(self, form):
        try:
            password_reset_request(
                email=form.cleaned_data["email"],
                domain=self.request.get_host(),
                use_https=self.request.is_secure(),
                language=self.request.LANGUAGE_CODE,
            )
        except PasswordResetUnavailable as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        return HttpResponseRedirect(self.get_success_url())


class LogoutView(auth_views.LogoutView):
    """Django's view, and a message saying it worked on the page it leads to."""

    def post(self, request, *args, **kwargs):
        was_logged_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            # The message outlives the flushed session: the default storage keeps it in a cookie.
            messages.success(request, _("You have been logged out."))
        return response
