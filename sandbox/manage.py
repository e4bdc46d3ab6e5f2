#!/usr/bin/env python
"""The sandbox's manage.py: ``manage.py migrate``, ``load_demo``, then ``run_sandbox``."""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if importlib.util.find_spec("wagtail_flows") is None:
        # Not installed: use the checkout this sandbox lives in.
        sys.path.insert(1, os.path.dirname(HERE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
