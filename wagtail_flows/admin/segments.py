"""Deleting a segment that a live or paused flow listens to is refused, naming the flows.

A flow's "enters / leaves a segment" trigger holds the segment by id: deleted, the flow
would stop starting anyone without a word. The delete view (``modeladmin.py``) shows the
flows instead, on GET and on POST; the marketer changes their trigger or archives them
first. A draft or archived flow does not hold the segment back: activating it later asks
for a segment again ("Choose a segment.").
"""

from wagtail_flows.engine.segment_triggers import flows_listening_to

SEGMENT_DELETE_TEMPLATE = "wagtail_flows/admin/segment_delete.html"


class RefuseWhileListened:
    """Mixed into modeladmin's DeleteView of segments."""

    def get(self, request, *args, **kwargs):
        return self._refusal() or super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        return self._refusal() or super().post(request, *args, **kwargs)

    def get_template_names(self):
        return [SEGMENT_DELETE_TEMPLATE]

    def _refusal(self):
        flows = flows_listening_to(self.instance)
        if not flows:
            return None
        return self.render_to_response(self.get_context_data(listening_flows=flows))
