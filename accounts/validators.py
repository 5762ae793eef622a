"""What a username must be beyond Django's own rule: usable as /user/<username>/."""

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

# Browsers resolve the path segments "." and ".." before sending a URL (RFC 3986 §5.2.4), so
# /user/../ becomes / and such a profile could never be opened.
not_a_dot_segment = RegexValidator(
    r"\A\.\.?\Z",
    inverse_match=True,
    message=_(
        "“%(value)s” cannot be a username: web addresses give it a special meaning. "
        "Please choose another."
    ),
    code="invalid",
)
