"""Printed documents for the pages (the 打印 buttons) and the verify page (查验) that a
document's QR code leads to. The verify page needs no login and shows only the paper's
own summary, with the unit's name partly masked."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from services import documents
from services.documents.layouts import LAYOUTS
from services.documents.records import normalize
from services.documents.render import short_digest

from .. import auth, printing
from . import bp


@bp.get("/documents/<kind>/<ref>.pdf")
@auth.login_required()
def document_pdf(kind: str, ref: str):
    """【打印】: the document, built now from the stored data (a large one by a job, whose
    page shows its progress and then the PDF to download)."""
    return printing.pdf_response(kind, ref, lambda job_id: redirect(
        url_for("views.job_page", job_id=job_id), 303))


@bp.get("/verify")
def verify_form():
    """查验: type the check code printed at the foot of every page."""
    typed = request.args.get("code", "").strip()
    if typed:
        return redirect(url_for("views.verify_page", code=normalize(typed) or typed[:40]))
    return render_template("documents/verify.html", result=None, code="", asked=False)


@bp.get("/verify/<code>")
def verify_page(code: str):
    result = documents.verify(code)
    layout = LAYOUTS.get(result.kind) if result else None
    page = render_template("documents/verify.html", result=result, code=code[:40], asked=True,
                           short_digest=short_digest(result.rows_digest) if result else "",
                           has_table=bool(layout is None or layout.columns))
    return page, 200 if result else 404


@bp.app_context_processor
def print_buttons() -> dict:
    """Pages find their print buttons (e.g. an application's approval notice) here."""
    return {"instance_prints": printing.instance_prints, "done_prompt": printing.done_prompt}
