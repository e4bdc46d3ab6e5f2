"""A tiny PDF writer for the demo e-book: one A4 page of text in Helvetica, no dependencies."""

A4 = (595, 842)


def _escape(text):
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content_stream(title, lines):
    ops = ["BT", "/F1 24 Tf", "72 770 Td", f"({_escape(title)}) Tj", "/F1 12 Tf", "16 TL", "T*"]
    for line in lines:
        ops += ["T*", f"({_escape(line)}) Tj"]
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def build_pdf(title, lines):
    """Bytes of a valid one-page PDF showing ``title`` and the given lines of text."""
    stream = _content_stream(title, lines)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {A4[0]} {A4[1]}] "
            "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
        ).encode(),
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({_escape(title)}) /Producer (wagtail-flows sandbox) >>".encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%EOF\n" % xref
    return bytes(out)
