"""Who is logged in. The session holds only the login's kind and id; the row is read
once per request, so a deactivated login stops working at once."""

from __future__ import annotations

import functools
import secrets
import time

from flask import current_app, g, request, session

from engine.actors import OPERATOR, STAFF, Actor
from services import accounts
from services.db import db
from services.errors import AuthFailed, Forbidden
from services.models import Operator, Staff


def log_in(user: Operator | Staff) -> None:
    """A fresh session on login (no fixation); the CSRF token is renewed with it."""
    session.clear()
    session["user"] = {"kind": OPERATOR if isinstance(user, Operator) else STAFF, "id": user.id,
                       "v": user.session_version, "at": int(time.time())}
    session.permanent = False


def ukey_binding(create: bool = False) -> str | None:
    """The random value that ties this browser session's UKey challenges to it. Login
    clears the session, so a new login gets a new one."""
    if create and "ukey_binding" not in session:
        session["ukey_binding"] = secrets.token_hex(16)
    return session.get("ukey_binding")


def log_out() -> None:
    """Ends the login's sessions everywhere, this one and any other device's or copied
    cookie (the login's session generation moves on). Does not commit."""
    user = current_user()
    if user is not None:
        accounts.end_sessions(user)
    session.clear()


def current_user() -> Operator | Staff | None:
    if "current_user" not in g:
        info = session.get("user") or {}
        model = {OPERATOR: Operator, STAFF: Staff}.get(info.get("kind"))
        user = db.session.get(model, info.get("id")) if model else None
        age = time.time() - info.get("at", 0)
        valid = (user is not None and user.active and info.get("v") == user.session_version
                 and age < current_app.permanent_session_lifetime.total_seconds())
        g.current_user = user if valid else None
    return g.current_user


def current_actor() -> Actor | None:
    user = current_user()
    if user is None:
        return None
    if isinstance(user, Operator):
        return Actor(kind=OPERATOR, id=user.id, name=user.name, unit_id=user.unit_id)
    return Actor(kind=STAFF, id=user.id, name=user.name,
                 groups=frozenset([user.group]) if user.group else frozenset(), role=user.role)


def require_actor(kind: str | None = None) -> Actor:
    actor = current_actor()
    if actor is None:
        raise AuthFailed("请先登录")
    if kind and actor.kind != kind:
        raise Forbidden("该功能仅对" + ("缴存单位经办人" if kind == OPERATOR else "中心工作人员")
                        + "开放")
    return actor


def require_analyst() -> Actor:
    actor = require_actor(STAFF)
    if not actor.is_analyst:
        raise Forbidden("仅业务分析员可以部署流程图")
    return actor


def login_required(kind: str | None = None):
    """For HTML views: anonymous users go to the right login page."""
    from flask import redirect, url_for

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            actor = current_actor()
            if actor is None:
                target = "views.centre_login" if kind == STAFF else "views.login"
                return redirect(url_for(target, next=request.full_path))
            require_actor(kind)
            return view(*args, **kwargs)
        return inner
    return wrap
