"""Emails: the body blocks, rendering with the per-revision premailer cache, merge tags and
tokens (below the models: the email page model uses them), then delivery, bounces and the
public email endpoints (open, click, unsubscribe, preferences, view in browser).
"""
