"""Public endpoints: event beacon, open pixel, click redirect, unsubscribe, preferences."""

# --- capture: event beacon -----------------------------------------------------------------

# --- emails: open pixel, click redirect, unsubscribe, preferences, view in browser ---------
