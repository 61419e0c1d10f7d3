"""Background jobs: progress and result, for the page's progress bar and for scripts."""

from __future__ import annotations

import io
import mimetypes
from urllib.parse import quote

from flask import send_file, url_for
from flask_smorest import Blueprint

from services import jobs
from services.errors import NotFound
from services.models.job import DONE

from ..auth import require_actor
from . import responses as R

PREFIX = "/jobs"
blp = Blueprint("api_jobs", __name__, description="后台任务：进度与结果")


def queued(job_id: str):
    """The answer to a request whose work went to a job: 202, where to follow it."""
    status_url = url_for("api_jobs.status", job_id=job_id)
    return ({"job_id": job_id, "state": "queued", "status_url": status_url,
             "page_url": url_for("views.job_page", job_id=job_id)}, 202,
            {"Location": status_url})


@blp.get("/<job_id>")
@blp.alt_response(200, schema=R.Job, success=True)
def status(job_id: str):
    """任务状态：state（queued 排队中 / running 处理中 / done 已完成 / failed 失败）、
    done / total / percent 进度、result 结果、error 与 errors 失败原因。仅提交人可见。"""
    return jobs.describe(jobs.job_for(job_id, require_actor().key))


@blp.get("/<job_id>/result")
@blp.alt_response(200, **R.file_response("FILE"), success=True)
def result(job_id: str):
    """下载任务生成的文件（如导出的 .xlsx）。"""
    job = jobs.job_for(job_id, require_actor().key)
    if job.state != DONE or not job.output_name:
        raise NotFound("该任务没有可下载的文件")
    mimetype = mimetypes.guess_type(job.output_name)[0] or "application/octet-stream"
    response = send_file(io.BytesIO(job.output_blob or b""), mimetype=mimetype,
                         as_attachment=True, download_name=job.output_name)
    response.headers["Content-Disposition"] = (f"attachment; filename=download; "
                                               f"filename*=UTF-8''{quote(job.output_name)}")
    return response
