"""The flow engine: dispatch (event -> enrollments), advance (run steps), sweeps, simulator.

Data moves one way: capture -> dispatch -> advance -> deliver. This package imports the
domain models; nothing in models/ imports it, so import it only once apps are ready.

Public entry points (see docs/engine.md):
- ``dispatch.is_listened(kind)``, ``dispatch.enqueue_dispatch(event_id)``,
  ``dispatch.dispatch_event(event_id)``, ``dispatch.enroll(flow, contact, ...)``
- ``advance.advance_enrollment(enrollment_id, now=None)``, ``advance.claim_due(limit)``,
  ``advance.run_due(limit)``, ``advance.finish_ended_flows()``, ``advance.resume_flow(flow)``,
  ``advance.retime_waiting(flow, step_id)``, ``advance.claim_ids(ids)``, ``advance.advance_batch``
- ``bulk.enroll_batch(flow, contacts, context_for=...)``,
  ``bulk.finish_batch(runs, status, reason)``
- ``simulate(flow, contact=None, events=(), until=None)``
"""

from wagtail_flows.engine.simulate import PathStep, SimEvent, simulate  # noqa: F401
