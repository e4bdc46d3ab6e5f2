"""All models; import them from here: ``from wagtail_flows.models import Contact``."""

from wagtail_flows.models.consent import ConsentRecord, ConsentSettings  # noqa: F401
from wagtail_flows.models.contacts import (  # noqa: F401
    Contact,
    ContactList,
    ListMembership,
    Suppression,
    TaggedContact,
)
from wagtail_flows.models.email_pages import EmailLibraryPage, EmailPage, EmailPageMixin  # noqa: F401
from wagtail_flows.models.enrollments import Enrollment, StepRun  # noqa: F401
from wagtail_flows.models.events import Event, Visitor  # noqa: F401
from wagtail_flows.models.flows import Flow  # noqa: F401
from wagtail_flows.models.form_mapping import FormFieldMapping  # noqa: F401
from wagtail_flows.models.imports import ContactImport, ImportProblem  # noqa: F401
from wagtail_flows.models.jobs import EnrollmentJob  # noqa: F401  (engine-ops)
from wagtail_flows.models.messages import Message  # noqa: F401
from wagtail_flows.models.properties import ContactProperty, PropertyValue  # noqa: F401
from wagtail_flows.models.scoring import ScoringRule, ScoringSettings  # noqa: F401
from wagtail_flows.models.segments import Segment, SegmentMember  # noqa: F401
from wagtail_flows.models.sender import SenderSettings  # noqa: F401
