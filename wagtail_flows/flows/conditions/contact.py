"""Conditions on the contact's own record: lists, tags, stage, score, grade, consent."""

from django.db.models import Q

from wagtail_flows.flows.conditions.common import EVERYTHING
from wagtail_flows.models.contacts import ContactStatus, ListMembership, TaggedContact


def _eval_in_list(value, contact, now):
    wanted = value.get("list")
    ids = {m.contact_list_id for m in contact.memberships.all()}
    return wanted.pk in ids if wanted else bool(ids)


def _q_in_list(value, now):
    members = ListMembership.objects.all()
    if value.get("list"):
        members = members.filter(contact_list=value["list"])
    return Q(pk__in=members.values("contact_id"))


def _tag_names(contact):
    # Prefetched with prefetch_related("tagged_items__tag"): no query; else one.
    if "tagged_items" in getattr(contact, "_prefetched_objects_cache", {}):
        return [item.tag.name for item in contact.tagged_items.all()]
    tagged = TaggedContact.objects.filter(content_object=contact)
    return list(tagged.values_list("tag__name", flat=True))


def _eval_has_tag(value, contact, now):
    names = {name.upper() for name in _tag_names(contact)}
    return value["tag"].upper() in names if value.get("tag") else bool(names)


def _q_has_tag(value, now):
    tagged = TaggedContact.objects.all()
    if value.get("tag"):
        tagged = tagged.filter(tag__name__iexact=value["tag"])
    return Q(pk__in=tagged.values("content_object_id"))


def _eval_stage_is(value, contact, now):
    return not value.get("stage") or contact.stage == value["stage"]


def _q_stage_is(value, now):
    return Q(stage=value["stage"]) if value.get("stage") else EVERYTHING


def _eval_score_at_least(value, contact, now):
    return contact.score >= (value.get("score") or 0)


def _q_score_at_least(value, now):
    return Q(score__gte=value.get("score") or 0)


def _grades(value):
    return [g for g in (value.get("grades") or []) if g]


def _eval_grade_is(value, contact, now):
    grades = _grades(value)
    return not grades or contact.grade in grades


def _q_grade_is(value, now):
    grades = _grades(value)
    return Q(grade__in=grades) if grades else EVERYTHING


def _eval_is_subscribed(value, contact, now):
    return contact.status == ContactStatus.SUBSCRIBED


def _q_is_subscribed(value, now):
    return Q(status=ContactStatus.SUBSCRIBED)


EVALUATE = {
    "in_list": _eval_in_list,
    "has_tag": _eval_has_tag,
    "stage_is": _eval_stage_is,
    "score_at_least": _eval_score_at_least,
    "grade_is": _eval_grade_is,
    "is_subscribed": _eval_is_subscribed,
}

TO_Q = {
    "in_list": _q_in_list,
    "has_tag": _q_has_tag,
    "stage_is": _q_stage_is,
    "score_at_least": _q_score_at_least,
    "grade_is": _q_grade_is,
    "is_subscribed": _q_is_subscribed,
}
