"""Who is logged in. The session holds only the login's kind and id; the row is read
once per request, so a deactivated login stops working at once."""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass

from flask import current_app, g, request, session
from sqlalchemy import bindparam, select

from engine.actors import OPERATOR, STAFF, Actor
from services import accounts
from services.db import db
from services.direct_sql import query_direct
from services.errors import AuthFailed, Forbidden
from services.models import Operator, Staff, Unit


def log_in(user: Operator | Staff) -> None:
    """A fresh session on login (no fixation); the CSRF token is renewed with it."""
    session.clear()
    session["user"] = {"kind": OPERATOR if isinstance(user, Operator) else STAFF, "id": user.id,
                       "v": user.session_version, "at": int(time.time())}
    session.permanent = False
    g.pop("current_actor", None)
    g.pop("current_user", None)
    g.pop("header", None)


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
#: For pages: those fields, then what every page's header shows (`Header`).
_PAGE_QUERIES = {
    OPERATOR: _ACTOR_QUERIES[OPERATOR].add_columns(Operator.sound_enabled, Unit.name)
    .join(Unit, Unit.id == Operator.unit_id),
    STAFF: _ACTOR_QUERIES[STAFF],
}


@dataclass(frozen=True)
class Header:
    """What pages show of the login: its name; for a unit's operator the unit's name and
    the sound setting, for centre staff the group and role (which menus they get)."""

    name: str
    unit_name: str | None = None
    sound_enabled: bool = False
    group: str | None = None
    role: str | None = None


def _header(kind: str, row: tuple) -> Header:
    if kind == OPERATOR:
        return Header(row[1], unit_name=row[6], sound_enabled=bool(row[5]))
    return Header(row[1], group=row[4], role=row[5])


def current_actor() -> Actor | None:
    """Who acts in this request, read once per request in one small query, so that a
    deactivated login, a logout elsewhere or a new password ends the session at once.
    A page (not the JSON API) reads in that one query what its header shows too."""
    if "current_actor" not in g:
        info = session.get("user") or {}
        kind = info.get("kind")
        row = None
        page = not (request.blueprint or "").startswith("api")
        if kind in _ACTOR_QUERIES and isinstance(info.get("id"), int):
            rows = query_direct((_PAGE_QUERIES if page else _ACTOR_QUERIES)[kind],
                                {"user_id": info["id"]})
            row = rows[0] if rows else None
        age = time.time() - info.get("at", 0)
        valid = (row is not None and row[2] and info.get("v") == row[3]
                 and age < current_app.permanent_session_lifetime.total_seconds())
        g.current_actor = _actor(kind, row) if valid else None
        g.header = _header(kind, row) if valid and page else None
    return g.current_actor


def header() -> Header | None:
    """The logged-in login as the page header shows it (None: nobody)."""
    if "header" not in g:
        current_actor()
    return g.get("header")


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
