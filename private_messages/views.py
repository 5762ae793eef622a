"""Sending a private message and reading yours: thin views over selectors and services."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from private_messages import selectors, services
from private_messages.forms import MessageForm


@login_required
@require_http_methods(["GET", "POST"])
def send(request, username):
    recipient = get_object_or_404(get_user_model(), username=username)
    form = MessageForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.message_send(
                sender=request.user, recipient=recipient, body=form.cleaned_data["body"]
            )
        except services.MessageRateLimited as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("Your message has been sent."))
            return redirect("profile", username=recipient.username)
    return render(request, "private_messages/send.html", {"form": form, "recipient": recipient})


@login_required
@require_GET
def received(request):
    page = selectors.received_page(
        request.user, older=request.GET.get("older"), newer=request.GET.get("newer")
    )
    context = {"page": page}
    if page.first:
        # The newest messages are on screen: all of them are read now.
        if page.messages:
            services.messages_mark_read(user=request.user, up_to=page.messages[0].timestamp)
        context["unread_messages"] = 0
    return render(request, "private_messages/messages.html", context)
