"""The README's "Install into your Wagtail site" snippets, read from README.md itself, so that
the test site is installed by exactly what the README says (and README drift fails CI)."""

import ast
import os
import re

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
SECTION = "## Install into your Wagtail site"
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)


def install_section():
    with open(README, encoding="utf-8") as file:
        text = file.read()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start : end if end != -1 else None]


def snippet(first_line):
    """The fenced block of the install section whose first line starts with ``first_line``."""
    blocks = [body for _lang, body in FENCE.findall(install_section())]
    matches = [body for body in blocks if body.lstrip().startswith(first_line)]
    if len(matches) != 1:
        raise LookupError(f"README's install section has no single block starting {first_line!r}")
    return matches[0]


def settings_snippet():
    return snippet("# settings.py")


def url_patterns():
    """The source of each entry of ``urlpatterns`` in the README's urls.py block."""
    source = snippet("# urls.py")
    tree = ast.parse(source)
    (assign,) = [node for node in tree.body if isinstance(node, ast.Assign)]
    assert [target.id for target in assign.targets] == ["urlpatterns"]
    return [ast.get_source_segment(source, element) for element in assign.value.elts]


def commands():
    """The ``python manage.py ...`` commands of the README's shell block, as argument lists."""
    lines = snippet("python manage.py").splitlines()
    return [
        line.split("#")[0].split()[2:] for line in lines if line.startswith("python manage.py")
    ]
