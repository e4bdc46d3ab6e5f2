"""What the runs of one advance batch share, loaded once per batch instead of once per run.

``advance_batch`` hands a ``BatchCache`` to each of its runs:

- **flows**: every flow of the batch's enrollments in one query, each flow's step tree
  parsed once (``tree_for``); their status and end date read again for each later chunk
  (one query), so a flow paused during a batch stops within ``CHUNK`` contacts;
- **email pages**: the pages of every send step of those flows in one query, the first
  time a run of the chunk sends (one query a chunk: an email unpublished meanwhile is not
  sent);
- **enrollments**: each run's enrollment with its contact, and its step log, read in
  chunks of ``CHUNK`` (two queries a chunk). Safe because the batch holds the claim of
  every one of them: only the claim holder writes a run's position and step log, and every
  write of a run stays fenced by the claim token (and by the run being open), so a run
  another worker took over, or that a goal ended meanwhile, still changes nothing. A
  contact an earlier run of the batch already advanced (the same contact in two flows) is
  read afresh, so a run never acts on what another run of the batch changed.

The single-enrollment path (``advance_enrollment`` without a cache) reads all of this
per run, as before.
"""

from wagtail_flows.engine.steps import PASS
from wagtail_flows.flows.tree import tree_for
from wagtail_flows.models import EmailPage, Enrollment, Flow, StepRun

CHUNK = 25  # enrollments read ahead together: bounds how old a run's read of its contact is


class BatchCache:
    def __init__(self, batch):
        self.token = batch.token
        self.ids = list(batch)
        self._position = {pk: index for index, pk in enumerate(self.ids)}
        self._flows = None
        self._trees = {}
        self._pages = None
        self._runs = {}  # enrollment id -> (enrollment, {step id: branch}) read ahead
        self._advanced = set()  # contacts a run of this batch advanced

    # --- flows and trees -----------------------------------------------------------------

    def flow(self, flow_id):
        if self._flows is None:
            flow_ids = Enrollment.objects.filter(pk__in=self.ids).values("flow_id")
            self._flows = {flow.pk: flow for flow in Flow.objects.filter(pk__in=flow_ids)}
        if flow_id not in self._flows:
            self._flows[flow_id] = Flow.objects.filter(pk=flow_id).first()
        return self._flows[flow_id]

    def tree(self, flow):
        tree = self._trees.get(flow.pk)
        if tree is None:
            tree = self._trees[flow.pk] = tree_for(flow)
        return tree

    # --- email pages ---------------------------------------------------------------------

    def page(self, page_id):
        """The email page of a send step (None: deleted), all of the batch's in one query."""
        if self._pages is None:
            ids = {
                _page_id(step)
                for flow in (self._flows or {}).values()
                if flow is not None
                for step in self.tree(flow).walk()
                if step.type == "send_email"
            }
            ids.discard(None)
            self._pages = {page.pk: page for page in EmailPage.objects.filter(pk__in=ids)}
        if page_id not in self._pages:
            self._pages[page_id] = EmailPage.objects.filter(pk=page_id).first()
        return self._pages[page_id]

    # --- the runs --------------------------------------------------------------------------

    def run(self, enrollment_id):
        """``(enrollment, done)`` read ahead for this run, or None: read it afresh."""
        if enrollment_id not in self._position:
            return None
        if enrollment_id not in self._runs:
            self._read_ahead(enrollment_id)
        enrollment, done = self._runs.pop(enrollment_id, (None, None))
        if enrollment is None or enrollment.contact_id in self._advanced:
            return None
        flow = self.flow(enrollment.flow_id)
        if flow is None:  # deleted meanwhile
            return None
        enrollment.flow = flow
        return enrollment, done

    def advanced(self, enrollment_id, contact_id):
        self._advanced.add(contact_id)

    def _read_ahead(self, enrollment_id):
        self._pages = None  # read again by this chunk's first send
        if self._flows:
            self._refresh_flows()
        start = self._position[enrollment_id]
        chunk = self.ids[start : start + CHUNK]
        enrollments = Enrollment.objects.select_related("contact").filter(
            pk__in=chunk, claimed_by=self.token
        )
        done = {pk: {} for pk in chunk}
        for pk, step_id, branch in StepRun.objects.filter(
            enrollment_id__in=chunk, pass_number=PASS
        ).values_list("enrollment_id", "step_id", "branch"):
            done[pk][step_id] = branch
        self._runs.update(dict.fromkeys(chunk, (None, None)))
        self._runs.update({e.pk: (e, done[e.pk]) for e in enrollments})

    def _refresh_flows(self):
        """The flows' status and end date as they are now (paused, ended since)."""
        flows = {pk: flow for pk, flow in self._flows.items() if flow is not None}
        for pk, status, ends_at in Flow.objects.filter(pk__in=list(flows)).values_list(
            "pk", "status", "ends_at"
        ):
            flows[pk].status, flows[pk].ends_at = status, ends_at


def _page_id(step):
    page = step.get("page")
    return getattr(page, "pk", page) or None
