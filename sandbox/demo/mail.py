"""An email backend for the demo: every message is saved to a file and announced on the console."""

import sys

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class FileAndConsoleBackend(FileBackend):
    """Saves each batch to one .log file in ``EMAIL_FILE_PATH`` and prints a line per message.

    The file holds the full message (headers, plain text and HTML parts); the console line
    says who got what, so a demo user sees flows at work while the sandbox runs.
    """

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        for message in email_messages or ():
            sys.stderr.write(
                f"[email] to {', '.join(message.to)}: {message.subject!r}"
                f" -> saved in {self._fname}\n"
            )
        return sent
