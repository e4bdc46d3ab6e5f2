"""Read-only edit-handler panels: flow diagram, flow report, contact timeline, segment count
(the email page's stats panel is ``emails.panels``: the email page model declares it)."""
