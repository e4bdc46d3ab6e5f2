"""Signed tokens for the links in an email: open pixel, clicks, unsubscribe, preferences,
view in browser.

A token names one message and one purpose, signed with Django's SECRET_KEY under a salt of
its own, so a token made for one endpoint is refused by every other one.
"""

from django.core import signing

SALT = "wagtail_flows.email-links"

OPEN = "o"
CLICK = "c"
UNSUBSCRIBE = "u"
PREFERENCES = "p"
VIEW = "v"
PURPOSES = (OPEN, CLICK, UNSUBSCRIBE, PREFERENCES, VIEW)


class BadToken(Exception):
    """The token is forged, truncated, or made for another purpose."""


def _signer():
    return signing.Signer(salt=SALT)


def make_token(message_id, purpose):
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return _signer().sign(f"{purpose}{int(message_id)}")


def read_token(token, purpose):
    """The message id a token names, or BadToken."""
    try:
        value = _signer().unsign(str(token))
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise BadToken("bad signature") from error
    if not value.startswith(purpose) or not value[len(purpose) :].isdigit():
        raise BadToken("token made for another link")
    return int(value[len(purpose) :])


# --- consent confirmation (double opt-in) ----------------------------------------------------
# A token names one consent request and the moment it was issued, under a salt of its own.
# Its age is checked against our own clock (``timezone.now``), not the signer's, so an expiry
# can be tested by moving that clock.

CONFIRM_SALT = "wagtail_flows.consent-confirmation"


class ExpiredToken(BadToken):
    """The token is genuine but older than its lifetime."""


def make_confirm_token(request_id, issued_at):
    return signing.Signer(salt=CONFIRM_SALT).sign(
        f"{int(request_id)}.{int(issued_at.timestamp())}"
    )


def read_confirm_token(token, *, now, max_age):
    """The consent request id a confirmation token names; BadToken or ExpiredToken."""
    try:
        value = signing.Signer(salt=CONFIRM_SALT).unsign(str(token))
        request_id, issued = (int(part) for part in value.split("."))
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise BadToken("bad signature") from error
    if now.timestamp() - issued > max_age.total_seconds():
        raise ExpiredToken("expired")
    return request_id
