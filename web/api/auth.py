"""Login, logout, password and the CSRF token."""

from __future__ import annotations

import secrets
import time

from flask import session
from flask_smorest import Blueprint

from services import accounts
from services.db import db

from .. import auth, csrf
from .schemas import LoginSchema, PasswordSchema

PREFIX = "/auth"
blp = Blueprint("api_auth", __name__, description="登录与会话")


@blp.get("/csrf")
def get_csrf():
    """CSRF 令牌：修改数据的请求须在请求头 X-CSRF-Token 中携带。"""
    return {"csrf_token": csrf.token()}


@blp.get("/challenge")
def challenge():
    """UKey 登录挑战：证书对 nonce 签名后随登录请求提交。"""
    challenge_id, nonce = secrets.token_hex(8), secrets.token_hex(32)
    session["ukey_challenge"] = {"id": challenge_id, "nonce": nonce, "at": time.time()}
    return {"challenge_id": challenge_id, "nonce": nonce}


@blp.post("/login")
@blp.arguments(LoginSchema)
def login(args):
    """登录：经办人提交单位账号、登录名称、密码；中心人员只提交登录名称和密码。"""
    if args.get("unit_account"):
        user = accounts.authenticate_operator(args["unit_account"], args["login_name"],
                                              args["password"])
    else:
        user = accounts.authenticate_staff(args["login_name"], args["password"])
    auth.log_in(user)
    db.session.commit()  # a successful login clears the failed-attempt count
    return {"user": whoami(), "csrf_token": csrf.token()}


@blp.post("/logout")
def logout():
    """退出登录：此会话及其 Cookie 的任何副本随即失效。"""
    auth.log_out()
    db.session.commit()
    return {"ok": True}


@blp.get("/me")
def me():
    """当前登录者。"""
    auth.require_actor()
    return whoami()


@blp.post("/password")
@blp.arguments(PasswordSchema)
def password(args):
    """修改密码：原密码须正确；新密码至少 8 位并含字母和数字。其他会话随即失效，本会话
    继续有效并换发 CSRF 令牌（见返回的 csrf_token）。"""
    auth.require_actor()
    user = auth.current_user()
    accounts.change_password(user, args["old"], args["new"])
    db.session.commit()
    auth.log_in(user)
    return {"ok": True, "csrf_token": csrf.token()}


def whoami() -> dict:
    actor = auth.current_actor()
    return {"kind": actor.kind, "id": actor.id, "name": actor.name, "unit_id": actor.unit_id,
            "groups": sorted(actor.groups), "role": actor.role}
