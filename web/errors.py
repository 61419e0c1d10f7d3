"""Errors as users see them: JSON under /api, a Chinese page elsewhere. Any error rolls
the transaction back first, so a failed action leaves nothing half-done."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from forms.fields import flatten_messages
from services.db import db
from services.errors import HallError

HTTP_MESSAGES = {400: "请求无效", 401: "请先登录", 403: "没有权限", 404: "页面或数据不存在",
                 405: "不支持的请求方式", 409: "操作冲突，请刷新后重试",
                 413: "上传的文件过大（上限 20 MB）", 422: "提交的数据有误", 500: "系统内部错误"}


def is_api() -> bool:
    return request.path.startswith("/api/")


def respond(status: int, code: str, message: str, errors=None, refers: dict | None = None):
    db.session.rollback()
    if is_api():
        body = {**(refers or {}), "code": code, "message": message, "errors": errors or {}}
        return jsonify(body), status
    return render_template("error.html", status=status, message=message,
                           errors=errors or {}), status


def init_app(app: Flask) -> None:
    @app.errorhandler(HallError)
    def hall_error(error: HallError):
        return respond(error.status, error.code, error.message, error.errors, error.refers)

    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(Exception)
    def crash(error: Exception):
        app.logger.exception("unhandled error")
        return respond(500, "internal_error", "系统内部错误，本次操作未做任何更改，请稍后重试")


def http_error_response(error: HTTPException):
    """Werkzeug/webargs errors in the hall's shape; validation errors keep field paths."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = _flatten(data["messages"]) if data.get("messages") else {}
    message = HTTP_MESSAGES.get(status, error.name)
    if errors:
        message = "提交的数据有误：" + "；".join(f"{k}：{'；'.join(v)}" for k, v in errors.items())
    return respond(status, error.name.lower().replace(" ", "_"), message, errors)


def _flatten(messages: dict) -> dict[str, list[str]]:
    """webargs' {"json": {"data": {"x": [...]}}} → {"data.x": [...]}."""
    flat: dict[str, list[str]] = {}
    for location, value in messages.items():
        body = location in ("json", "form", "query", "files")
        flat.update(flatten_messages(value, "" if body else location))
    return flat
