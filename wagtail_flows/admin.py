"""The one module that imports wagtail-modeladmin."""
