"""Read-only edit-handler panels: flow diagram, contact timeline, segment count, email stats."""
