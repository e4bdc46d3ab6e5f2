"""``manage.py flows_templates list`` and ``manage.py flows_templates create SLUG --param v``."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wagtail_flows import flow_templates


class Command(BaseCommand):
    help = "List the ready-made flow templates, or create a draft flow from one."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="Show every template, its slug and what it asks for.")
        create = sub.add_parser("create", help="Create a draft flow and its draft emails.")
        create.add_argument("slug", choices=list(flow_templates.TEMPLATES))
        names = sorted({p.name for t in flow_templates.TEMPLATES.values() for p in t.params})
        for name in names:
            create.add_argument(f"--{name.replace('_', '-')}", dest=name, default=None)

    def handle(self, *args, action, **options):
        if action == "list":
            return self.list_templates()
        return self.create(options)

    def list_templates(self):
        for label, templates in flow_templates.grouped():
            self.stdout.write(self.style.MIGRATE_HEADING(label))
            for template in templates:
                self.stdout.write(f"  {template.slug:<30} {template.title}")
                for param in template.params:
                    option = "--" + param.name.replace("_", "-")
                    default = "" if callable(param.default) else param.default
                    hint = f" (default: {default})" if default not in (None, "") else ""
                    need = " [required]" if param.required and not hint else ""
                    self.stdout.write(f"  {'':<30}   {option}: {param.label}{hint}{need}")

    def create(self, options):
        template = flow_templates.get_template(options["slug"])
        wanted = {p.name for p in template.params}
        given = {k: v for k, v in options.items() if v is not None and k in _all_params()}
        stray = sorted(set(given) - wanted)
        if stray:
            raise CommandError(
                f"{template.slug} does not ask for: {', '.join('--' + s for s in stray)}"
            )
        try:
            flow = flow_templates.create_flow(template, given)
        except ValidationError as error:
            lines = [
                f"--{k.replace('_', '-')}: {' '.join(v)}" for k, v in error.message_dict.items()
            ]
            raise CommandError("Nothing was created.\n" + "\n".join(lines)) from None
        self.stdout.write(
            self.style.SUCCESS(f"Created draft flow “{flow.name}” (id {flow.pk}).")
            + " Publish its emails in the email library, then activate it."
        )


def _all_params():
    return {p.name for t in flow_templates.TEMPLATES.values() for p in t.params}
