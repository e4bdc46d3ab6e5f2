"""Orders placed in the demo shop, listed in the Wagtail admin under "Orders"."""

from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from demo.models import Order


class OrderViewSet(SnippetViewSet):
    model = Order
    icon = "list-ul"
    menu_label = "Orders"
    menu_order = 800
    add_to_admin_menu = True
    list_display = ["number", "email", "total", "discount_code", "created_at"]
    list_filter = ["discount_code"]
    inspect_view_enabled = True


register_snippet(OrderViewSet)
