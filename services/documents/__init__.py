"""Printed documents (打印): every print point of the manual goes through this component.

    document = builders.person_accounts(unit_id, filters, today())   # data
    issued = issue(document, secret)                                 # check code
    records.record(issued.layout, document, issued.code, issued.digest)  # then commit
    pdf = render(issued.layout, document, Stamp(issued.code, url, centre_name))

model.py (what a document is), layouts.py (one layout per kind), builders.py (data),
render.py (fpdf2), marks.py (seal and QR code), fonts.py (the CJK font), records.py
(check codes and the verify page's data). Documents are generated on demand from what is
stored; the PDF itself is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layouts import LAYOUTS
from .model import Document, Layout
from .records import DocumentRecord, Verified, check_code, record, verify
from .render import Stamp, digest_of, render

__all__ = ["LAYOUTS", "Document", "DocumentRecord", "Issued", "Layout", "Stamp", "Verified",
           "issue", "record", "render", "verify"]


@dataclass(frozen=True)
class Issued:
    layout: Layout
    code: str
    digest: str


def issue(document: Document, secret: str) -> Issued:
    """The document's layout, check code and rows' digest (nothing is written)."""
    layout = LAYOUTS[document.kind]
    digest, text = digest_of(layout, document)
    return Issued(layout, check_code(secret, text), digest)
