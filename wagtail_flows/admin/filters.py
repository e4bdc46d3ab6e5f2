"""List filters of the contacts listing: list, tag, segment, score range, last activity, and
one per contact property marked for the listing (``property_filters``).

Plain Django admin filters (modeladmin renders them); each ignores a malformed value by
showing no contacts rather than failing. They run without ``django.contrib.admin`` in
``INSTALLED_APPS`` (many Wagtail sites leave it out): only its filter classes are used.
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from taggit.models import Tag

from wagtail_flows.flows.typed_properties import window
from wagtail_flows.models import ContactList, Segment
from wagtail_flows.vocabulary import PropertyType


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


# --- contact properties shown in the listing (ContactProperty.in_listing) -----------------


def property_filters():
    """One filter class per property marked "filter the Contacts listing by it" (one query)."""
    from wagtail_flows.models.properties import ContactProperty

    props = ContactProperty.objects.filter(in_listing=True).order_by("label")
    return [_filter_class(prop) for prop in props]


def _filter_class(prop):
    base = {
        PropertyType.NUMBER: NumberRangeFilter,
        PropertyType.TEXT: TextContainsFilter,
        PropertyType.DATE: DateWindowFilter,
        PropertyType.BOOLEAN: YesNoFilter,
        PropertyType.CHOICE: ChoiceValueFilter,
    }[prop.type]
    attrs = {"prop": prop, "title": prop.label, "parameter_name": f"p_{prop.key}"}
    return type(f"{base.__name__}_{prop.key}", (base,), attrs)


def _with_value(prop, queryset, **lookup):
    from wagtail_flows.models.properties import PropertyValue

    rows = PropertyValue.objects.filter(property_id=prop.pk, **lookup)
    return queryset.filter(pk__in=rows.values("contact_id"))


def _without_value(prop, queryset):
    from wagtail_flows.models.properties import PropertyValue

    return queryset.exclude(
        pk__in=PropertyValue.objects.filter(property_id=prop.pk).values("contact_id")
    )


NOT_SET = "none"


class PropertyChoicesFilter(admin.SimpleListFilter):
    prop = None

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value == NOT_SET:
            return _without_value(self.prop, queryset)
        return self.filter_value(queryset, value)


class YesNoFilter(PropertyChoicesFilter):
    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No")), (NOT_SET, _("Not known"))]

    def filter_value(self, queryset, value):
        return _with_value(self.prop, queryset, boolean=value == "yes")


class ChoiceValueFilter(PropertyChoicesFilter):
    def lookups(self, request, model_admin):
        return [*((c, c) for c in self.prop.choice_list), (NOT_SET, _("Not set"))]

    def filter_value(self, queryset, value):
        return _with_value(self.prop, queryset, text=value)


DATE_WINDOWS = {
    "next-7": ("in_next_days", 7, _("In the next 7 days")),
    "next-30": ("in_next_days", 30, _("In the next 30 days")),
    "next-90": ("in_next_days", 90, _("In the next 90 days")),
    "last-30": ("in_last_days", 30, _("In the last 30 days")),
    "last-365": ("in_last_days", 365, _("In the last year")),
}


class DateWindowFilter(PropertyChoicesFilter):
    def lookups(self, request, model_admin):
        return [
            *((key, label) for key, (_op, _n, label) in DATE_WINDOWS.items()),
            ("past", _("Before today")),
            ("future", _("After today")),
            (NOT_SET, _("Not set")),
        ]

    def filter_value(self, queryset, value):
        today = timezone.localdate()
        if value == "past":
            return _with_value(self.prop, queryset, date__lt=today)
        if value == "future":
            return _with_value(self.prop, queryset, date__gt=today)
        operator, days, _label = DATE_WINDOWS[value]
        first, last = window(operator, str(days), timezone.now())
        return _with_value(self.prop, queryset, date__range=(first, last))


class InputFilter(admin.ListFilter):
    """A filter typed into (not picked from a list): its values come from the address, so
    each is checked — a bad one is a 400 naming the filter (``listings.DeclaredLookupsOnly``).
    Each kind (``NumberRangeFilter``, ``TextContainsFilter``) says which boxes it shows in
    ``inputs()``."""

    template = "wagtail_flows/admin/includes/input_filter.html"
    prop = None
    parameter_name = None

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.used_parameters = {}
        for name in self.expected_parameters():
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = value[-1] if isinstance(value, list) else value

    def has_output(self):
        return True

    def choices(self, changelist):
        ours = set(self.expected_parameters())
        hidden = [
            (name, value)
            for name, value in sorted(changelist.params.items())
            if name not in ours and name != changelist.PAGE_VAR
        ]
        yield {"inputs": self.inputs(), "hidden": hidden}

    def bad(self):
        raise IncorrectLookupParameters(self.parameter_name)


class NumberRangeFilter(InputFilter):
    def expected_parameters(self):
        return [f"{self.parameter_name}_min", f"{self.parameter_name}_max"]

    def inputs(self):
        low, high = self.expected_parameters()
        return [
            {"name": low, "label": _("at least"), "type": "number", "value": self._raw(low)},
            {"name": high, "label": _("at most"), "type": "number", "value": self._raw(high)},
        ]

    def _raw(self, name):
        return self.used_parameters.get(name, "")

    def _number(self, name):
        text = self._raw(name).strip()
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            self.bad()
        if not number.is_finite():
            self.bad()
        return number

    def queryset(self, request, queryset):
        low, high = (self._number(name) for name in self.expected_parameters())
        lookup = {}
        if low is not None:
            lookup["number__gte"] = low
        if high is not None:
            lookup["number__lte"] = high
        return _with_value(self.prop, queryset, **lookup) if lookup else queryset


class TextContainsFilter(InputFilter):
    def expected_parameters(self):
        return [self.parameter_name]

    def inputs(self):
        name = self.parameter_name
        value = self.used_parameters.get(name, "")
        return [{"name": name, "label": _("contains"), "type": "search", "value": value}]

    def queryset(self, request, queryset):
        text = self.used_parameters.get(self.parameter_name, "").strip()
        if len(text) > 255:
            self.bad()
        return _with_value(self.prop, queryset, text__icontains=text) if text else queryset
