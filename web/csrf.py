"""CSRF protection for every state-changing request, HTML form or JSON API alike: a
per-session token sent back as the form field `csrf_token` or the `X-CSRF-Token` header."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, request, session

from services.errors import HallError

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class CSRFError(HallError):
    status = 400
    code = "csrf"


def token() -> str:
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


def _check() -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get("csrf_token")
    if not expected or not hmac.compare_digest(sent.encode("utf-8", "replace"),
                                               expected.encode("utf-8")):
        raise CSRFError("页面已过期或请求来源无效（CSRF 校验失败），请刷新页面后重试",
                        {"csrf_token": ["缺少或无效的 CSRF 令牌"]})


def init_app(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = token
