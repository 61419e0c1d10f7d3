"""Login, logout, password and the CSRF token."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields

from forms.fields import HallSchema, Str
from services import accounts
from services.db import db
from services.ukey import login as ukey_login

from .. import auth, csrf
from . import responses as R
from .schemas import LoginSchema, PasswordSchema

PREFIX = "/auth"
blp = Blueprint("api_auth", __name__, description="登录与会话")


class UKeySchema(HallSchema):
    certificate = Str(load_default="", metadata={"description": "UKey 证书：PEM 或 base64 DER"})
    challenge_id = Str(load_default="", metadata={"description": "GET /auth/challenge 的 challenge_id"})
    signature = Str(load_default="", metadata={
        "description": "UKey 对 nonce（UTF-8 字节）的 ECDSA-SHA256 签名，base64 DER"})


class UKeyLoginSchema(LoginSchema):
    ukey = fields.Nested(UKeySchema, load_default=None,
                         metadata={"description": "经办人登录必填：UKey 证书与签名"})


@blp.get("/csrf")
@blp.alt_response(200, schema=R.Csrf, success=True)
def get_csrf():
    """CSRF 令牌：修改数据的请求须在请求头 X-CSRF-Token 中携带。"""
    return {"csrf_token": csrf.token()}


@blp.get("/challenge")
@blp.alt_response(200, schema=R.Challenge, success=True)
def challenge():
    """UKey 登录挑战：由 UKey 对 nonce（UTF-8 字节）作 ECDSA-SHA256 签名（base64 DER），
    随登录请求的 ukey 提交。挑战只属于本会话、60 秒内有效、只能使用一次。"""
    challenge_id, nonce = ukey_login.new_challenge(auth.ukey_binding(create=True))
    db.session.commit()
    return {"challenge_id": challenge_id, "nonce": nonce,
            "expires_in": ukey_login.CHALLENGE_SECONDS}


@blp.post("/login")
@blp.arguments(UKeyLoginSchema)
@blp.alt_response(200, schema=R.LoggedIn, success=True)
def login(args):
    """登录：经办人提交单位账号、登录名称、密码和 ukey（certificate 证书、challenge_id、
    signature 签名），UKey 与密码都须通过；中心人员只提交登录名称和密码。"""
    if args.get("unit_account"):
        user = ukey_login.authenticate(args["unit_account"], args["login_name"],
                                       args["password"], args.get("ukey"), auth.ukey_binding())
    else:
        user = accounts.authenticate_staff(args["login_name"], args["password"])
    auth.log_in(user)
    db.session.commit()  # a successful login clears the failed-attempt count
    return {"user": whoami(), "csrf_token": csrf.token()}


@blp.post("/logout")
@blp.alt_response(200, schema=R.Ok, success=True)
def logout():
    """退出登录：此会话及其 Cookie 的任何副本随即失效。"""
    auth.log_out()
    db.session.commit()
    return {"ok": True}


@blp.get("/me")
@blp.alt_response(200, schema=R.User, success=True)
def me():
    """当前登录者。"""
    auth.require_actor()
    return whoami()


@blp.post("/password")
@blp.arguments(PasswordSchema)
@blp.alt_response(200, schema=R.PasswordChanged, success=True)
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
