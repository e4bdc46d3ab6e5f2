"""Page views as the product counts them: by page type, and in visits.

**Page type.** A trigger or condition may ask for a page type (``"app_label.model"``, see
``flows.blocks.page_types``): a view counts when its page's specific type is exactly that
model (its content type), read from the page row the event names.

**Visits.** A visit is one browsing session: the pages a browser views within
``VISIT_MINUTES`` (30) of the visit's first view. Capture keeps, on each page view it records
(served pages and the beacon), the visit it belongs to: ``data["visit"]`` = the minute the
visit started, carried by the visitor cookie (``capture.visitors``), so no query is needed to
know it. Counting visits counts the distinct visits among the matching page views: ten pages
in one session are one visit; a view 31 minutes after the session began starts another.
A page view recorded before visits were kept (no ``data["visit"]``) counts as a visit of its
own, as every view was counted before.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Count, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Concat

VISIT_KEY = "visit"
VISIT_MINUTES = 30


# --- page type --------------------------------------------------------------------------------


def page_type_id(key):
    """The content type id of the page type ``"app_label.model"`` (cached by Django's content
    type manager: no query after the first), or None when there is no such type."""
    app_label, _sep, model = (key or "").partition(".")
    try:
        return ContentType.objects.get_by_natural_key(app_label, model).pk
    except ContentType.DoesNotExist:
        return None


def filter_page_type(events, key):
    """``events`` whose page is of the type ``key`` (none for an unknown type)."""
    if not key:
        return events
    content_type = page_type_id(key)
    if content_type is None:
        return events.none()
    return events.filter(page__content_type_id=content_type)


def page_is_of_type(page, key):
    if not key:
        return True
    return page is not None and page.content_type_id == page_type_id(key)


# --- visits -----------------------------------------------------------------------------------


def visit_of_view():
    """Which visit a page view belongs to, as an expression over Event: the visit capture
    noted, or, for a view recorded before visits were kept, a visit of its own (its id)."""
    own = Concat(Value("e"), Cast("pk", output_field=CharField()), output_field=CharField())
    return Coalesce(KeyTextTransform(VISIT_KEY, "data"), own, output_field=CharField())


def count_visits(events):
    """How many visits ``events`` (page views) span."""
    return events.aggregate(visits=Count(visit_of_view(), distinct=True))["visits"]


def contacts_with_visits(events, min_visits):
    """The contact ids of ``events`` (page views) with at least ``min_visits`` visits."""
    return (
        events.values("contact_id")
        .annotate(visits=Count(visit_of_view(), distinct=True))
        .filter(visits__gte=min_visits)
        .values("contact_id")
    )
