"""What every condition kind shares."""

from datetime import timedelta

from django.db.models import Q

NOTHING = Q(pk__in=[])
# Not Q(): an empty Q vanishes from an OR, and "any" with a vacuous condition must match all.
EVERYTHING = Q(pk__isnull=False)


def since(value, now):
    days = value.get("within_days")
    return now - timedelta(days=days) if days else None


def negate(q):
    """NOT as ``pk NOT IN (contacts meeting q)``: right with NULLs, unlike ``~q``."""
    from wagtail_flows.models.contacts import Contact

    return ~Q(pk__in=Contact.objects.filter(q).values("pk"))
