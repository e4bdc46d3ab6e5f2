"""Every Wagtail hook registration of wagtail-flows (wagtail_hooks.py only imports this).

Sections are owned by concern; keep registrations here and behaviour in the named modules.
"""

from wagtail import hooks  # noqa: F401

# --- capture (capture/pages.py) ---------------------------------------------------------
# Wagtail sorts hooks by order and wraps on_serve_page in reverse, so a positive order puts
# this wrapper inside check_view_restrictions (order 0): a visitor sent to the login page is
# not counted. Downloads likewise run after the collection restriction check (order 0).


@hooks.register("on_serve_page", order=100)
def flows_capture_page_views(next_serve):
    from wagtail_flows.capture.pages import wrap_page_serving

    return wrap_page_serving(next_serve)


@hooks.register("before_serve_document", order=100)
def flows_capture_document_downloads(document, request):
    from wagtail_flows.capture.pages import capture_document_download, capture_safely

    capture_safely(capture_document_download, document, request)  # None: Wagtail serves it


# --- end capture -----------------------------------------------------------------------------

# --- emails (the email page editor: preview and test send, admin/send_test.py) -----------
from wagtail_flows.admin.send_test import SendTestMenuItem, email_admin_urls  # noqa: E402

hooks.register("register_admin_urls", email_admin_urls)


@hooks.register("register_page_action_menu_item")
def _send_test_menu_item():
    return SendTestMenuItem(order=90)


# --- end emails ------------------------------------------------------------------------------

# --- admin (admin/, panels/) ----------------------------------------------------------------
# admin/modeladmin.py registers the "Flows" menu group when wagtail_hooks imports it; these are
# the confirmation/action views beside it: /admin/flows/<pk>/<action>/, contact actions,
# manual enrollment (admin/enroll.py), re-timing waiting contacts (admin/retime.py), drafts
# of live flows and their sign-off (admin/versions.py).


@hooks.register("register_admin_urls")
def flows_admin_action_urls():
    from django.urls import include, path

    from wagtail_flows.admin import actions, enroll, retime, versions

    urlpatterns = [
        *enroll.urlpatterns,
        *retime.urlpatterns,
        *versions.urlpatterns,
        *actions.urlpatterns,
    ]
    return [path("flows/", include((urlpatterns, "wagtail_flows_admin")))]


@hooks.register("register_admin_urls")
def flows_diagram_preview_urls():  # the flow editor's live diagram (admin/diagram_preview.py)
    from wagtail_flows.admin.diagram_preview import admin_urls

    return admin_urls()


@hooks.register("register_admin_urls")
def flows_form_fields_urls():  # form fields → contact fields (admin/form_fields.py)
    from wagtail_flows.admin.form_fields import urlpatterns

    return urlpatterns


@hooks.register("register_page_header_buttons")
def flows_form_fields_header_button(page, user, view_name=None, next_url=None):
    from wagtail_flows.admin.form_fields import form_answers_button

    return form_answers_button(page, user, priority=80)


@hooks.register("register_page_listing_more_buttons")
def flows_form_fields_listing_button(page, user, next_url=None):
    from wagtail_flows.admin.form_fields import form_answers_button

    return form_answers_button(page, user, priority=80)


@hooks.register("register_log_actions")
def flows_admin_log_actions(actions):
    from wagtail_flows.admin.actions import register_admin_log_actions
    from wagtail_flows.admin.retime import register_retime_log_action

    register_admin_log_actions(actions)
    register_retime_log_action(actions)


# --- end admin -------------------------------------------------------------------------------

# --- flows (models/flows.py: status changes in the audit log; block choosers) -------------
from wagtail_flows.flows.choosers import chooser_viewsets  # noqa: E402
from wagtail_flows.models.flows import register_flow_log_actions  # noqa: E402

hooks.register("register_log_actions", register_flow_log_actions)
hooks.register("register_admin_viewset", chooser_viewsets)

# --- end flows -------------------------------------------------------------------------------

# --- reports (reports/views.py: summary, report page, export, tester; home dashboard) ------


@hooks.register("register_admin_urls")
def flows_report_urls():
    from django.urls import include, path

    from wagtail_flows.reports.views import urlpatterns

    return [path("flows/reports/", include((urlpatterns, "wagtail_flows_reports")))]


@hooks.register("construct_homepage_panels")
def flows_dashboard_panel(request, panels):
    from wagtail_flows.reports.views import add_dashboard_panel

    add_dashboard_panel(request, panels)


@hooks.register("register_reports_menu_item")
def flows_summary_menu_item():
    from wagtail_flows.reports.views import summary_menu_item

    return summary_menu_item()


# --- end reports -----------------------------------------------------------------------------

# --- templates (flow_templates/views.py: "New flow from a template" gallery) ---------------


@hooks.register("register_admin_urls")
def flows_template_urls():
    from django.urls import include, path

    from wagtail_flows.flow_templates.views import urlpatterns

    return [path("flows/templates/", include((urlpatterns, "wagtail_flows_templates")))]


# --- end templates ---------------------------------------------------------------------------

# --- consent (models/consent.py: Settings → Email consent, per site) -----------------------
from wagtail.contrib.settings.registry import register_setting  # noqa: E402

from wagtail_flows.models.consent import ConsentSettings  # noqa: E402

register_setting(ConsentSettings, icon="mail")

# --- end consent -----------------------------------------------------------------------------

# --- sender (models/sender.py: Settings → Email sender, per site) -------------------------
from wagtail_flows.models.sender import SenderSettings  # noqa: E402

register_setting(SenderSettings, icon="user")

# --- end sender ------------------------------------------------------------------------------

# --- scoring (models/scoring.py: Settings → Lead scoring; engine/scoring.py) ---------------
from wagtail_flows.models.scoring import ScoringSettings  # noqa: E402

register_setting(ScoringSettings, icon="pick")

# --- end scoring ------------------------------------------------------------------------------

# --- deliverability (admin/deliverability.py: Settings → Sending domain) -------------------


@hooks.register("register_admin_urls")
def flows_deliverability_urls():
    from django.urls import include, path

    from wagtail_flows.admin.deliverability import urlpatterns

    return [path("flows/", include((urlpatterns, "wagtail_flows_deliverability")))]


@hooks.register("register_settings_menu_item")
def flows_sending_domain_menu_item():
    from wagtail_flows.admin.deliverability import sending_domain_menu_item

    return sending_domain_menu_item()


# --- end deliverability ----------------------------------------------------------------------

# --- imports (admin/imports.py: Contacts → Import contacts from CSV or XLSX) ---------------


@hooks.register("register_admin_urls")
def flows_import_urls():
    from django.urls import include, path

    from wagtail_flows.admin.imports import urlpatterns

    return [path("flows/imports/", include((urlpatterns, "wagtail_flows_imports")))]


# --- end imports -----------------------------------------------------------------------------
