"""Signal receivers, connected from AppConfig.ready()."""


# --- engine-ops: the sweep schedule exists after every migrate ---------------------------------
def _ensure_sweep_schedule(sender, using="default", **kwargs):
    from django.db import connections

    if sender.name != "wagtail_flows":
        return
    tables = connections[using].introspection.table_names()
    if "django_q_schedule" not in tables:
        return
    from wagtail_flows.engine.tasks import ensure_schedule

    ensure_schedule(using=using)


from django.db.models.signals import post_migrate  # noqa: E402

post_migrate.connect(_ensure_sweep_schedule, dispatch_uid="wagtail_flows_sweep_schedule")
# --- end engine-ops ------------------------------------------------------------------------------


# --- emails: bounces and complaints from django-anymail (when installed) ------------------------
def _connect_anymail():
    from wagtail_flows.emails.bounces import connect_anymail

    connect_anymail()


_connect_anymail()


def _register_sender():
    from wagtail_flows.emails.rendering import set_sender_lookup
    from wagtail_flows.emails.sender_check import sender_errors
    from wagtail_flows.flows.validation import register_activation_check
    from wagtail_flows.models.sender import sender_for_site

    set_sender_lookup(sender_for_site)
    register_activation_check(sender_errors)


_register_sender()
# --- end emails ----------------------------------------------------------------------------------


# --- capture: form submissions, shop signals, logins ---------------------------------------------
def _capture(func):
    def receiver(sender, **kwargs):
        from wagtail_flows.capture.pages import capture_safely

        capture_safely(func, sender, **kwargs)

    return receiver


def _form_submitted(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        from wagtail_flows.capture.forms import capture_form_submission

        capture_form_submission(instance)


def _order_placed(sender, **kwargs):
    from wagtail_flows.capture.shop import capture_order

    capture_order(sender, **kwargs)


def _cart_updated(sender, **kwargs):
    from wagtail_flows.capture.shop import capture_cart

    capture_cart(sender, **kwargs)


def _logged_in(sender, **kwargs):
    from wagtail_flows.capture.shop import capture_login

    capture_login(sender, **kwargs)


def _connect_capture():
    """Every form-submission model of the site (any form page, custom submission classes)."""
    from django.apps import apps
    from django.contrib.auth.signals import user_logged_in
    from django.db.models.signals import post_save
    from wagtail.contrib.forms.models import AbstractFormSubmission

    from wagtail_flows import signals

    for model in apps.get_models():
        if issubclass(model, AbstractFormSubmission):
            uid = f"wf_form_{model._meta.label}"
            post_save.connect(
                _capture(_form_submitted), sender=model, weak=False, dispatch_uid=uid
            )
    signals.order_placed.connect(_capture(_order_placed), weak=False, dispatch_uid="wf_order")
    signals.cart_updated.connect(_capture(_cart_updated), weak=False, dispatch_uid="wf_cart")
    user_logged_in.connect(_capture(_logged_in), weak=False, dispatch_uid="wf_login")


_connect_capture()
# --- end capture ---------------------------------------------------------------------------------


# --- engine-core: flow changes refresh the listening index; resume handles overdue sends ---------
def _connect_engine():
    from wagtail_flows.engine import dispatch  # noqa: F401  (its @receiver functions connect)


_connect_engine()
# --- end engine-core -----------------------------------------------------------------------------


# --- emails: email pages stay private (models/email_pages.py) after every migrate ----------------
def _keep_email_pages_private(sender, using="default", **kwargs):
    if sender.name != "wagtail_flows":
        return
    from wagtail_flows.models.email_pages import keep_email_pages_private

    keep_email_pages_private(using=using)


post_migrate.connect(_keep_email_pages_private, dispatch_uid="wagtail_flows_private_emails")
# --- end emails ----------------------------------------------------------------------------------
