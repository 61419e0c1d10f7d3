"""Printed documents (PDF) and their verification (查验)."""

from __future__ import annotations

from flask_smorest import Blueprint

from services import documents
from services.errors import NotFound

from .. import printing
from . import responses as R
from .jobs import queued

PREFIX = ""
blp = Blueprint("api_documents", __name__, description="打印文件与查验")
NOT_GENUINE = ("校验码不存在：该文件不是本中心网上业务大厅出具的文件，或内容、校验码已被改动。"
               "请核对校验码，或向出具单位核实")


@blp.get("/documents/<kind>/<ref>.pdf")
@blp.alt_response(200, **R.file_response("PDF"), success=True)
@blp.alt_response(202, schema=R.Queued, success=True)
def document_pdf(kind: str, ref: str):
    """打印文件（PDF）。kind：person_accounts（缴存人账户信息，ref 为 me，可带 q、status、since、
    until）、person_statement（缴存人账户明细，ref 为个人账号）、person_changes（客户信息变更记录，
    ref 为 me）、base_adjustment_notice（基数调整审批通知书，ref 为申请号）。每页带校验码与查验二维码，
    末页盖中心电子章。超过 HPF_ASYNC_ROWS 行的文件由后台任务生成：答 202 与任务地址，任务完成后
    从 /api/v1/jobs/<id>/result 下载。"""
    return printing.pdf_response(kind, ref, queued)


@blp.get("/verify/<code>")
@blp.alt_response(200, schema=R.Verified, success=True)
def verify(code: str):
    """查验打印文件（无需登录）：文件类型、单位名称（部分隐去）、日期、合计与明细摘要。"""
    result = documents.verify(code)
    if result is None:
        raise NotFound(NOT_GENUINE)
    return result.to_dict()
