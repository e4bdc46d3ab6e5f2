"""An email backend that keeps the outbox like Django's locmem one and counts the
connections it opens, with the open/close logic of Django's SMTP backend: a send without a
connection opened by the caller opens (and closes) one of its own."""

from django.core.mail.backends.locmem import EmailBackend


class CountingBackend(EmailBackend):
    opened = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = None

    def open(self):
        if self.connection is not None:
            return False
        self.connection = object()
        type(self).opened += 1
        return True

    def close(self):
        self.connection = None

    def send_messages(self, messages):
        new_connection = self.open()
        try:
            return super().send_messages(messages)
        finally:
            if new_connection:
                self.close()
