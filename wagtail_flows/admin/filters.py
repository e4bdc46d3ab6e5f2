"""List filters of the contacts listing: list, tag, segment, score range, last activity.

Plain Django admin filters (modeladmin renders them); each ignores a malformed value by
showing no contacts rather than failing. They run without ``django.contrib.admin`` in
``INSTALLED_APPS`` (many Wagtail sites leave it out): only its filter classes are used.
"""

from datetime import timedelta

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from taggit.models import Tag

from wagtail_flows.models import ContactList, Segment


class WithoutDjangoAdmin:
    """The ``admin_site`` of our listings. A related field's filter (Messages → flow) asks
    the admin site how the related model is ordered; wagtail-modeladmin hands it Django's
    default site, which raises LookupError where ``django.contrib.admin`` is not installed.
    None of our models is registered with Django's admin, so the answer is always this."""

    def get_model_admin(self, model):
        raise NotRegistered(f"{model.__name__} is not in Django's admin")


def _digits(value):
    return value if value and value.isdigit() else None


class InListFilter(admin.SimpleListFilter):
    title = _("list")
    parameter_name = "list"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in ContactList.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        pk = _digits(self.value())
        return queryset.filter(memberships__contact_list_id=pk) if pk else queryset.none()


class TagFilter(admin.SimpleListFilter):
    title = _("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        tags = Tag.objects.filter(wagtail_flows_taggedcontact_items__isnull=False).distinct()
        return [(name, name) for name in tags.order_by("name").values_list("name", flat=True)]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(tagged_items__tag__name=value) if value else queryset


class SegmentFilter(admin.SimpleListFilter):
    title = _("segment")
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        segment = Segment.objects.filter(pk=_digits(self.value()) or 0).first()
        if segment is None:
            return queryset.none()
        return queryset.filter(pk__in=segment.contacts().values("pk"))


SCORE_RANGES = {
    "below-0": (_("Below 0"), Q(score__lt=0)),
    "0-9": (_("0 to 9"), Q(score__gte=0, score__lt=10)),
    "10-49": (_("10 to 49"), Q(score__gte=10, score__lt=50)),
    "50-99": (_("50 to 99"), Q(score__gte=50, score__lt=100)),
    "100-up": (_("100 or more"), Q(score__gte=100)),
}


class ScoreFilter(admin.SimpleListFilter):
    title = _("score")
    parameter_name = "score"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _q) in SCORE_RANGES.items()]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        entry = SCORE_RANGES.get(self.value())
        return queryset.filter(entry[1]) if entry else queryset.none()


ACTIVITY_FIELDS = (
    "last_visit_at",
    "last_form_at",
    "last_open_at",
    "last_click_at",
    "last_order_at",
)


class LastActivityFilter(admin.SimpleListFilter):
    title = _("last activity")
    parameter_name = "activity"
    options = {
        "7": _("In the last 7 days"),
        "30": _("In the last 30 days"),
        "90": _("In the last 90 days"),
        "none-90": _("None in 90 days"),
    }

    def lookups(self, request, model_admin):
        return list(self.options.items())

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value not in self.options:
            return queryset.none()
        since = timezone.now() - timedelta(days=int(value.removeprefix("none-")))
        if value.startswith("none-"):
            never = Q(last_activity_at__isnull=True)
            return queryset.filter(Q(last_activity_at__lt=since) | never)
        return queryset.filter(last_activity_at__gte=since)
