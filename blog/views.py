"""Timeline, explore and profile pages: thin views over selectors and services."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

import keyset
from blog import selectors, services, timeline_page
from blog.forms import PostForm
from usertasks.selectors import active_task

POSTS_PER_PAGE = 20


def _page(request, fetch):
    return keyset.page(request.GET, fetch, size=POSTS_PER_PAGE, key=selectors.POST_KEY)


# HEAD too: load balancers and uptime checks probe the home page with it.
@require_http_methods(["GET", "HEAD", "POST"])
def index(request):
    if not request.user.is_authenticated:
        return render(request, "microblog/landing.html")
    if request.method != "POST" and not request.GET:  # the first page: the one reloaded
        return timeline_page.serve(
            request, lambda: {"form": PostForm(), "page": _timeline(request)}
        )
    # Bound even when empty: a POST without fields (or with a JSON body) must show the error.
    form = PostForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            services.post_create(author=request.user, body=form.cleaned_data["body"])
            messages.success(request, _("Your post is now live!"))
            return redirect("index")
        errors = " ".join(form.errors["body"])
        messages.error(request, _("Your post was not published: %(errors)s") % {"errors": errors})
    return render(request, "microblog/index.html", {"form": form, "page": _timeline(request)})


def _timeline(request):
    return _page(request, selectors.timeline_fetch(request.user))


def explore(request):
    page = _page(request, selectors.explore_fetch())
    return render(request, "microblog/explore.html", {"page": page})


def profile(request, username):
    author = get_object_or_404(get_user_model(), username=username)
    page = _page(request, selectors.profile_fetch(author))
    own = request.user.is_authenticated and request.user.pk == author.pk
    context = {
        "author": author,
        "page": page,
        "counts": selectors.follow_counts(author),
        "is_following": selectors.is_following(request.user, author),
        "own_profile": own,
        "active_export": active_task(request.user, "export_posts") if own else None,
        "active_import": active_task(request.user, "import_posts") if own else None,
    }
    return render(request, "microblog/profile.html", context)


@login_required
@require_POST
def follow(request, username):
    other = get_object_or_404(get_user_model(), username=username)
    if other.pk == request.user.pk:
        messages.error(request, _("You cannot follow yourself."))
    else:
        services.follow(follower=request.user, followed=other)
        messages.success(request, _("You are following %(name)s.") % {"name": other.username})
    return redirect("profile", username=username)


@login_required
@require_POST
def unfollow(request, username):
    other = get_object_or_404(get_user_model(), username=username)
    services.unfollow(follower=request.user, followed=other)
    messages.info(request, _("You are not following %(name)s any more.") % {"name": other.username})
    return redirect("profile", username=username)


def favicon(request):
    """No icon (the pages use an empty one), but no 404 in the logs either; cached for a day."""
    response = HttpResponse(status=204)
    response["Cache-Control"] = "public, max-age=86400"
    return response
