"""Admin chooser modals for contact lists, segments and collections, used by the flow blocks.

Wagtail's ``ChooserViewSet`` gives a modal chooser and a ``ChooserBlock`` for any model,
without registering it as a snippet; the widget renders without a database query, so the
large nested step vocabulary stays cheap to put in the editor. Registered in ``hooks.py``.

Wagtail's chooser views alone ask only for admin access, so each chooser here checks its
model's own permission on every view of the modal (choose, results, chosen, create): the list
chooser names every list (and may create one), so it needs the permission to see lists, as
the Lists listing does; the collection chooser offers only the collections the user may
manage or choose documents from (Wagtail's collection and document permission policies), and
refuses a user with none. The segment chooser (the "enters / leaves a segment" triggers)
names segments only, no contact: whoever may see segments or edit flows may use it; it
creates none (a segment's conditions are built on its own screen).
"""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.auth import user_passes_test
from wagtail.admin.views.generic import chooser as chooser_views
from wagtail.admin.viewsets.chooser import ChooserViewSet

LIST_VIEW_PERMISSIONS = ("wagtail_flows.view_contactlist", "wagtail_flows.change_contactlist")


def may_see_lists(user):
    """The view permission, or change (which implies it, as in Django's admin)."""
    return any(user.has_perm(permission) for permission in LIST_VIEW_PERMISSIONS)


class ContactListChooserViewSet(ChooserViewSet):
    model = "wagtail_flows.ContactList"
    icon = "group"
    choose_one_text = _("Choose a list")
    choose_another_text = _("Choose another list")
    edit_item_text = _("Edit this list")
    form_fields = ["name", "description"]

    def construct_view(self, view_class, **kwargs):
        """Every view of the modal (choose, search, chosen, create): a user without the
        permission is sent to the dashboard, or gets a 403 for the modal's own requests."""
        return user_passes_test(may_see_lists)(super().construct_view(view_class, **kwargs))


SEGMENT_CHOOSE_PERMISSIONS = (
    "wagtail_flows.view_segment",
    "wagtail_flows.change_segment",
    "wagtail_flows.add_flow",
    "wagtail_flows.change_flow",
)


def may_choose_segments(user):
    """See segments, or edit flows (a segment's name is no personal data)."""
    return any(user.has_perm(permission) for permission in SEGMENT_CHOOSE_PERMISSIONS)


class SegmentChooserViewSet(ChooserViewSet):
    model = "wagtail_flows.Segment"
    icon = "crosshairs"
    choose_one_text = _("Choose a segment")
    choose_another_text = _("Choose another segment")
    edit_item_text = _("Edit this segment")

    def construct_view(self, view_class, **kwargs):
        return user_passes_test(may_choose_segments)(super().construct_view(view_class, **kwargs))


COLLECTION_ACTIONS = ("add", "change", "delete", "view")  # managing the collection itself
DOCUMENT_ACTIONS = ("choose",)  # choosing its documents, as Wagtail's document chooser asks


def collections_for(user):
    """The collections ``user`` may choose: those they may manage or choose documents from."""
    from wagtail.models import Collection
    from wagtail.permissions import collection_permission_policy

    managed = collection_permission_policy.instances_user_has_any_permission_for(
        user, COLLECTION_ACTIONS
    )
    with_documents = _document_policy().collections_user_has_any_permission_for(
        user, DOCUMENT_ACTIONS
    )
    return Collection.objects.filter(
        Q(pk__in=managed.values("pk")) | Q(pk__in=with_documents.values("pk"))
    )


def _document_policy():
    from wagtail.documents import get_document_model

    try:
        from wagtail.permissions import policy_registry
    except ImportError:  # Wagtail 7.4
        from wagtail.documents.permissions import permission_policy

        return permission_policy
    return policy_registry.get_by_type(get_document_model())


def may_choose_collections(user):
    return collections_for(user).exists()


class UserCollectionsMixin:
    """Lists, finds and returns only the requesting user's collections (a forged id of
    another collection is a 404, like one that does not exist)."""

    def get_object_list(self):
        return collections_for(self.request.user).order_by("path")

    def get_object(self, pk):
        return collections_for(self.request.user).get(pk=pk)

    def get_objects(self, pks):
        return collections_for(self.request.user).filter(pk__in=pks)


class CollectionChooseView(UserCollectionsMixin, chooser_views.ChooseView):
    pass


class CollectionChooseResultsView(UserCollectionsMixin, chooser_views.ChooseResultsView):
    pass


class CollectionChosenView(UserCollectionsMixin, chooser_views.ChosenView):
    pass


class CollectionChosenMultipleView(UserCollectionsMixin, chooser_views.ChosenMultipleView):
    pass


class CollectionChooserViewSet(ChooserViewSet):
    model = "wagtailcore.Collection"
    icon = "folder-open-inverse"
    choose_one_text = _("Choose a collection")
    choose_another_text = _("Choose another collection")
    register_widget = False
    choose_view_class = CollectionChooseView
    choose_results_view_class = CollectionChooseResultsView
    chosen_view_class = CollectionChosenView
    chosen_multiple_view_class = CollectionChosenMultipleView

    def construct_view(self, view_class, **kwargs):
        """A user who may choose no collection is sent to the dashboard, or gets a 403 for
        the modal's own requests."""
        view = super().construct_view(view_class, **kwargs)
        return user_passes_test(may_choose_collections)(view)


contact_list_chooser = ContactListChooserViewSet(
    "wagtail_flows_list_chooser", url_prefix="flows/choose-list"
)
segment_chooser = SegmentChooserViewSet(
    "wagtail_flows_segment_chooser", url_prefix="flows/choose-segment"
)
collection_chooser = CollectionChooserViewSet(
    "wagtail_flows_collection_chooser", url_prefix="flows/choose-collection"
)


def chooser_viewsets():
    """The ``register_admin_viewset`` hook (registered in hooks.py)."""
    return [contact_list_chooser, segment_chooser, collection_chooser]
