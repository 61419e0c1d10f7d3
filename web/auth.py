"""Who is logged in. The session holds only the login's kind and id; the row is read
once per request, so a deactivated login stops working at once."""

from __future__ import annotations

import functools
import secrets
import time

from flask import current_app, g, request, session
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from engine.actors import OPERATOR, STAFF, Actor
from services import accounts
from services.db import db
from services.direct_sql import query_direct
from services.errors import AuthFailed, Forbidden
from services.models import Operator, Staff


def log_in(user: Operator | Staff) -> None:
    """A fresh session on login (no fixation); the CSRF token is renewed with it."""
    session.clear()
    session["user"] = {"kind": OPERATOR if isinstance(user, Operator) else STAFF, "id": user.id,
                       "v": user.session_version, "at": int(time.time())}
    session.permanent = False
    g.pop("current_actor", None)
    g.pop("current_user", None)


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
    """The logged-in login as an ORM object (pages that show or change it: every page's
    header shows it, so a page's `current_actor` reads it whole at once)."""
    if "current_user" not in g:
        actor = current_actor()
        model = {OPERATOR: Operator, STAFF: Staff}.get(actor.kind) if actor else None
        g.current_user = db.session.get(model, actor.id) if model else None
    return g.current_user


#: Per kind of login: its model and what a request reads of it: (id, name, active,
#: session_version, then what the Actor needs).
_ACTOR_FIELDS = {
    OPERATOR: (Operator, ("id", "name", "active", "session_version", "unit_id")),
    STAFF: (Staff, ("id", "name", "active", "session_version", "group", "role")),
}
#: Those fields alone, for the JSON API.
_ACTOR_QUERIES = {kind: select(*(getattr(model, f) for f in fields))
                  .where(model.id == bindparam("user_id"))
                  for kind, (model, fields) in _ACTOR_FIELDS.items()}
#: The logins whole, for pages (their header shows the login and its unit).
_USER_QUERIES = {
    OPERATOR: select(Operator).options(joinedload(Operator.unit))
    .where(Operator.id == bindparam("user_id")),
    STAFF: select(Staff).where(Staff.id == bindparam("user_id")),
}


def _row_of(kind: str, user: Operator | Staff) -> tuple:
    """A whole login as the row `_ACTOR_QUERIES` reads."""
    return tuple(getattr(user, field) for field in _ACTOR_FIELDS[kind][1])


def current_actor() -> Actor | None:
    """Who acts in this request, read once per request in one small query, so that a
    deactivated login, a logout elsewhere or a new password ends the session at once.
    A page (not the JSON API) reads the login whole in that one query, for its header."""
    if "current_actor" not in g:
        info = session.get("user") or {}
        kind = info.get("kind")
        row, user = None, None
        if kind in _ACTOR_QUERIES and isinstance(info.get("id"), int):
            if (request.blueprint or "").startswith("api"):
                rows = query_direct(_ACTOR_QUERIES[kind], {"user_id": info["id"]})
                row = rows[0] if rows else None
            else:
                user = db.session.execute(_USER_QUERIES[kind],
                                          {"user_id": info["id"]}).scalar_one_or_none()
                row = _row_of(kind, user) if user is not None else None
        age = time.time() - info.get("at", 0)
        valid = (row is not None and row[2] and info.get("v") == row[3]
                 and age < current_app.permanent_session_lifetime.total_seconds())
        g.current_actor = _actor(kind, row) if valid else None
        if user is not None:
            g.current_user = user if valid else None
    return g.current_actor


def _actor(kind: str, row) -> Actor:
    if kind == OPERATOR:
        return Actor(kind=kind, id=row[0], name=row[1], unit_id=row[4])
    group, role = row[4], row[5]
    return Actor(kind=kind, id=row[0], name=row[1],
                 groups=frozenset([group]) if group else frozenset(), role=role)


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
