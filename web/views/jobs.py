"""A background job's page: a progress bar fed by GET /api/v1/jobs/<id>, then the result
(a download, the rows imported) or why it failed."""

from __future__ import annotations

import json

from flask import render_template, url_for

from engine.jobs import COMPLETE, IMPORT
from services import jobs

from .. import auth
from . import bp


@bp.get("/jobs/<job_id>")
@auth.login_required()
def job_page(job_id: str):
    job = jobs.job_for(job_id, auth.current_actor().key)
    payload = json.loads(job.payload_json)
    actor = auth.current_actor()
    if payload.get("back"):  # where the code that queued it said (never user input)
        back = payload["back"]
    elif job.kind == COMPLETE:
        back = url_for("views.home" if actor.is_operator else "views.centre_desk")
    elif job.kind == IMPORT and payload.get("task_id"):
        back = url_for("views.task_detail", task_id=payload["task_id"]) + "#manifest"
    elif job.kind == IMPORT:
        back = url_for("views.instance_page", instance_id=payload["instance_id"])
    else:
        back = url_for("views.person_query_page")
    return render_template("jobs/status.html", job=jobs.describe(job), back=back,
                           status_url=url_for("api_jobs.status", job_id=job.id),
                           download_url=url_for("api_jobs.result", job_id=job.id))
