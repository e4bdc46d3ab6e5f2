#!/usr/bin/env bash
# makemigrations for wagtail_flows, then point page references at the swappable base Page
# (Wagtail 8: WAGTAIL_PAGE_MODEL may be unset, so settings.WAGTAIL_PAGE_MODEL cannot be used).
set -euo pipefail
cd "$(dirname "$0")/.."
DJANGO_SETTINGS_MODULE=tests.settings python -m django makemigrations wagtail_flows testapp "$@"
for f in wagtail_flows/migrations/0*.py tests/testapp/migrations/0*.py; do
  grep -q "WAGTAIL_PAGE_MODEL" "$f" || continue
  sed -i -e 's/migrations.swappable_dependency(settings.WAGTAIL_PAGE_MODEL)/swapper.dependency("wagtailcore", "Page")/' \
         -e 's/to=settings.WAGTAIL_PAGE_MODEL/to=swapper.get_model_name("wagtailcore", "Page")/g' "$f"
  grep -q "^import swapper" "$f" || sed -i '0,/^from django/s//import swapper\nfrom django/' "$f"
done
