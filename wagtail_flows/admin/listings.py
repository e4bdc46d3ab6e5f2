"""Listings accept only the lookups they declare.

wagtail-modeladmin applies every query-string parameter its index view does not know as an
ORM lookup (it has no ``lookup_allowed`` check as Django's admin has): ``?user__password__
startswith=p`` would filter contacts by their user's password hash, one character at a time.
Here a listing takes its declared filters, its search, ordering, paging and export, and
answers anything else — or a bad value for a declared filter — with a 400 naming it.
"""

from django.contrib.admin.filters import FieldListFilter, SimpleListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _


class BadListingQuery(Exception):
    pass


class DeclaredLookupsOnly:
    """Mixed into every index view of the plugin (before modeladmin's ``IndexView``)."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except BadListingQuery as error:
            return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")

    def get_filters(self, request):
        specs, has_filters, remaining, distinct = super().get_filters(request)
        if remaining:
            names = ", ".join(sorted(remaining))
            raise BadListingQuery(_("This listing has no filter “%(names)s”.") % {"names": names})
        for spec in specs:
            _check_choice(spec)
        return specs, has_filters, remaining, distinct

    def get_queryset(self, request=None):
        try:
            return super().get_queryset(request)
        except (IncorrectLookupParameters, ValidationError, ValueError) as error:
            raise BadListingQuery(
                _("A filter value in the address is not valid (%(given)s).")
                % {"given": ", ".join(sorted(self.get_filters_params()))}
            ) from error


def _check_choice(spec):
    """A sidebar filter of ours offers choices: a value it does not offer is refused."""
    if not isinstance(spec, SimpleListFilter):
        return  # a field's filter: a bad value fails in the query (below)
    value = spec.value()
    if value is not None and value not in {str(key) for key, _label in spec.lookup_choices}:
        raise BadListingQuery(
            _("“%(value)s” is not one of the choices of the filter “%(name)s”.")
            % {"value": value, "name": spec.parameter_name}
        )


def accepted_parameters(view):
    """The query-string parameters an index view accepts, for each of its filters whether
    or not it shows (a filter with nothing to offer still takes its parameters)."""
    names = {view.ORDER_VAR, view.ORDER_TYPE_VAR, view.SEARCH_VAR, view.PAGE_VAR}
    names |= {view.EXPORT_VAR, view.ERROR_FLAG}
    for list_filter in view.list_filter:
        if isinstance(list_filter, str):
            field = get_fields_from_path(view.model, list_filter)[-1]
            spec = FieldListFilter.create(
                field, view.request, {}, view.model, view.model_admin, field_path=list_filter
            )
        else:
            spec = list_filter(view.request, {}, view.model, view.model_admin)
        names |= set(spec.expected_parameters())
    return names
