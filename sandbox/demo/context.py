"""Template context for every page: the main menu and the size of the visitor's cart."""

from wagtail.models import Site

from demo.shop import SESSION_KEY


def site_chrome(request):
    site = Site.find_for_request(request)
    menu = site.root_page.get_children().live().in_menu() if site else []
    cart = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    return {
        "site_home": site.root_page if site else None,
        "menu_pages": menu,
        "cart_count": sum(cart["lines"].values()) if cart else 0,
    }
