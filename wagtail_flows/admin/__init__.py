"""The Wagtail admin of wagtail-flows. ``modeladmin`` is the one module that imports
wagtail-modeladmin (Flows, Contacts, Lists, Segments, Messages); the action, enroll, re-time,
filter and send-test views sit beside it.
"""
