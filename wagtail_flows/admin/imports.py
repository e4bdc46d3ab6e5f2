"""Contacts › Import: upload a CSV or XLSX file, map its columns, watch the job."""

urlpatterns = []
