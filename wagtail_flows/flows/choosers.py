"""Admin chooser modals for contact lists and collections, used by the flow blocks.

Wagtail's ``ChooserViewSet`` gives a modal chooser and a ``ChooserBlock`` for any model,
without registering it as a snippet; the widget renders without a database query, so the
large nested step vocabulary stays cheap to put in the editor. Registered in ``hooks.py``.

The list chooser names every list (and may create one), so it needs the permission to see
lists, as the Lists listing does; Wagtail's chooser views alone ask only for admin access.
"""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.auth import user_passes_test
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


class CollectionChooserViewSet(ChooserViewSet):
    model = "wagtailcore.Collection"
    icon = "folder-open-inverse"
    choose_one_text = _("Choose a collection")
    choose_another_text = _("Choose another collection")
    register_widget = False


contact_list_chooser = ContactListChooserViewSet(
    "wagtail_flows_list_chooser", url_prefix="flows/choose-list"
)
collection_chooser = CollectionChooserViewSet(
    "wagtail_flows_collection_chooser", url_prefix="flows/choose-collection"
)


def chooser_viewsets():
    """The ``register_admin_viewset`` hook (registered in hooks.py)."""
    return [contact_list_chooser, collection_chooser]
