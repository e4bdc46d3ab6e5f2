"""django-oscar adapter: add ``"wagtail_flows.contrib.oscar"`` to INSTALLED_APPS.

Maps oscar's ``order_placed(sender, order, user)`` to ``order_placed`` events and
``basket_addition(sender, product, user, request)`` to ``cart_updated`` events. It connects
only when oscar is installed; without oscar the app does nothing.
"""
