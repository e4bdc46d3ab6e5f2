"""Admin chooser modals for contact lists and collections, used by the flow blocks.

Wagtail's ``ChooserViewSet`` gives a modal chooser and a ``ChooserBlock`` for any model,
without registering it as a snippet; the widget renders without a database query, so the
large nested step vocabulary stays cheap to put in the editor. Registered in ``hooks.py``.
"""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.viewsets.chooser import ChooserViewSet


class ContactListChooserViewSet(ChooserViewSet):
    model = "wagtail_flows.ContactList"
    icon = "group"
    choose_one_text = _("Choose a list")
    choose_another_text = _("Choose another list")
    edit_item_text = _("Edit this list")
    form_fields = ["name", "description"]


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
