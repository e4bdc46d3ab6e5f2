"""Which events start a flow: the event kinds each trigger listens to, and the match test.

The kinds each trigger listens to are in ``wagtail_flows.flows.kinds``.
Sweep triggers (``cart_abandoned``, ``inactive``, ``engagement``, ``date_reached``) are
detected by the sweep, not by events, and ``manual`` by a person: they listen to no kind.

Event fields read (as recorded by capture): ``page`` for page views, form submissions and
email opens/clicks; ``object_id`` = document id, list id or message id; ``data["collection_id"]``
of a download; ``value`` = order total; ``data["to"]``/``data["delta"]`` of a score change;
``data["items"][i]["sku"]`` of an order; ``name`` = tag, stage or custom event name;
``data["from"]``/``data["to"]`` of a grade change or of a property change (``name`` = the
property's key, see ``property_changes``); ``data["visit"]`` of a page view (``page_views``).
"""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Q

from wagtail_flows.flows.conditions.page_views import (
    count_visits,
    filter_page_type,
    page_is_of_type,
)
from wagtail_flows.flows.kinds import EVENT_KINDS
from wagtail_flows.flows.property_changes import property_changed_matches
from wagtail_flows.models.contacts import Event, EventKind


def trigger_matches(child, event):
    """True when ``event`` starts the trigger ``child`` (a StreamChild of TriggersBlock)."""
    if event.kind not in EVENT_KINDS.get(child.block_type, ()):
        return False
    if event.contact_id is None:
        return False
    return MATCHERS[child.block_type](child.value, event)


def _same(obj, object_id):
    return obj is None or str(obj.pk) == str(object_id)


def _page_matches(page, include_descendants, event):
    if page is None:
        return True
    if event.page_id == page.pk:
        return True
    if not include_descendants or event.page_id is None:
        return False
    return event.page is not None and event.page.path.startswith(page.path)


def _page_viewed(value, event):
    page = value.get("page")
    include = bool(value.get("include_descendants"))
    if not _page_matches(page, include, event):
        return False
    page_type = value.get("page_type")
    if page_type and not page_is_of_type(event.page, page_type):
        return False
    min_views = value.get("min_views") or 1
    if min_views <= 1:
        return True
    views = Event.objects.filter(
        contact_id=event.contact_id, kind=EventKind.PAGE_VIEWED, created_at__lte=event.created_at
    )
    if value.get("within_days"):
        since = event.created_at - timedelta(days=value["within_days"])
        views = views.filter(created_at__gte=since)
    if page is not None:
        views = views.filter(
            Q(page__path__startswith=page.path) if include else Q(page_id=page.pk)
        )
    views = filter_page_type(views, page_type)
    if value.get("count_visits"):
        return count_visits(views) >= min_views
    return views.count() >= min_views


def _document_downloaded(value, event):
    if not _same(value.get("document"), event.object_id):
        return False
    collection = value.get("collection")
    if collection is None:
        return True
    collection_id = (event.data or {}).get("collection_id")
    if collection_id is None and event.object_id:
        from wagtail.documents import get_document_model

        document = get_document_model().objects.filter(pk=event.object_id).first()
        collection_id = document.collection_id if document else None
    return str(collection_id) == str(collection.pk)


def _form_submitted(value, event):
    page = value.get("form_page")
    return page is None or event.page_id == page.pk


def _is_first_order(event):
    data = event.data or {}
    if "first_order" in data:
        return bool(data["first_order"])
    earlier = Event.objects.filter(
        Q(created_at__lt=event.created_at) | Q(created_at=event.created_at, pk__lt=event.pk),
        contact_id=event.contact_id,
        kind=EventKind.ORDER_PLACED,
    )
    return not earlier.exists()


def _order_placed(value, event):
    minimum = value.get("min_total")
    if minimum is not None and (event.value is None or Decimal(event.value) < Decimal(minimum)):
        return False
    if value.get("sku"):
        items = (event.data or {}).get("items") or []
        if not any(isinstance(i, dict) and i.get("sku") == value["sku"] for i in items):
            return False
    return not value.get("first_order_only") or _is_first_order(event)


def _list_joined(value, event):
    return _same(value.get("list"), event.object_id)


def _named(field):
    def match(value, event):
        return not value.get(field) or event.name.lower() == value[field].lower()

    return match


def _score_reached(value, event):
    data = event.data or {}
    if "to" not in data:
        return False
    new = Decimal(str(data["to"]))
    delta = data.get("delta", event.value if event.value is not None else 0)
    old = new - Decimal(str(delta))
    threshold = Decimal(value.get("threshold") or 0)
    return old < threshold <= new


GRADE_RANK = {"D": 0, "C": 1, "B": 2, "A": 3}


def _grade_becomes(value, event):
    """The contact rose to the grade (from a lower one): a decay down to B is no news."""
    data = event.data or {}
    wanted, old, new = value.get("grade") or "A", data.get("from"), data.get("to")
    if new != wanted or new not in GRADE_RANK:
        return False
    return old not in GRADE_RANK or GRADE_RANK[old] < GRADE_RANK[new]


def _email_engaged(value, event):
    wanted = EventKind.EMAIL_OPENED if value.get("engagement") == "opened" else None
    wanted = wanted or EventKind.LINK_CLICKED
    if event.kind != wanted:
        return False
    email = value.get("email")
    if email is None:
        return True
    if event.page_id is not None:
        return event.page_id == email.pk
    from wagtail_flows.models.messages import Message

    return Message.objects.filter(pk=_int(event.object_id), page_id=email.pk).exists()


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


MATCHERS = {
    "page_viewed": _page_viewed,
    "document_downloaded": _document_downloaded,
    "form_submitted": _form_submitted,
    "order_placed": _order_placed,
    "list_joined": _list_joined,
    "tag_added": _named("tag"),
    "stage_changed": _named("stage"),
    "score_reached": _score_reached,
    "email_engaged": _email_engaged,
    "custom_event": _named("name"),
    "grade_becomes": _grade_becomes,
    "property_changed": property_changed_matches,
}
