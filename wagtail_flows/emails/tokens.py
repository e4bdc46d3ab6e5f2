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
