"""Logins: operators (经办人) of a unit and centre staff. Passwords use scrypt, a memory-hard KDF."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from .db import db, utcnow
from .errors import AuthFailed, InvalidInput
from .models import Operator, Staff, Unit, UnitAccount

_LOGIN_FAILED = "单位账号、登录名称或登录密码不正确"
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
_STAFF_LOGIN_FAILED = "登录名称或登录密码不正确"
# A hash to check against when the login name is unknown, so both paths cost the same.
_DUMMY_HASH = generate_password_hash("not-a-password", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def check_password_strength(password: str) -> None:
    """At least 8 characters with letters and digits: the centre's rule for online logins."""
    if (not isinstance(password, str) or len(password) < 8 or not re.search(r"[A-Za-z]", password)
            or not re.search(r"\d", password)):
        raise InvalidInput("新密码至少 8 位，且须同时包含字母和数字",
                           {"new": ["新密码至少 8 位，且须同时包含字母和数字"]})


def authenticate_operator(unit_account: str, login_name: str, password: str) -> Operator:
    operator = db.session.execute(
        select(Operator).join(Unit, Operator.unit_id == Unit.id)
        .join(UnitAccount, UnitAccount.unit_id == Unit.id)
        .where(UnitAccount.account_no == (unit_account or "").strip(),
               Operator.login_name == (login_name or "").strip(), Operator.active.is_(True))
    ).scalar_one_or_none()
    return _verified(operator, password, _LOGIN_FAILED)


def authenticate_staff(login_name: str, password: str) -> Staff:
    staff = db.session.execute(
        select(Staff).where(Staff.login_name == (login_name or "").strip(), Staff.active.is_(True))
    ).scalar_one_or_none()
    return _verified(staff, password, _STAFF_LOGIN_FAILED)


def _verified(user, password: str, message: str):
    """The user if the password matches. An unknown login costs the same hash check, so
    timing does not tell which logins exist; both failures read the same.

    Each attempt is counted, atomically and committed, *before* its password is checked:
    so however many guesses arrive at once, at most MAX_FAILED_LOGINS are ever checked
    before the login locks for LOCK_MINUTES; the rest are refused unchecked. A right
    password resets the count. The lock does say that the login exists: the price of
    telling its owner why they cannot get in."""
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise AuthFailed(message)
    now = utcnow()
    attempt = _count_attempt(user, now)
    if attempt is None:
        locked_until = db.session.execute(select(type(user).locked_until)
                                          .where(type(user).id == user.id)).scalar_one()
        minutes = max(1, math.ceil(((locked_until or now) - now).total_seconds() / 60))
        raise AuthFailed(f"连续 {MAX_FAILED_LOGINS} 次密码错误，该登录已锁定，"
                         f"请 {minutes} 分钟后再试或联系管理员")
    model = type(user)
    if not check_password_hash(user.password_hash, password or ""):
        if attempt >= MAX_FAILED_LOGINS:
            _lock(model, user.id, now)
            db.session.commit()
        raise AuthFailed(message)
    db.session.execute(update(model).where(model.id == user.id)
                       .values(failed_logins=0, locked_until=None))
    return user


def _count_attempt(user, now) -> int | None:
    """Count one attempt and commit it; its number, or None when the login is locked or
    MAX_FAILED_LOGINS attempts are already counted (then it locks now)."""
    model = type(user)
    # An expired lock starts the count again.
    db.session.execute(update(model).where(model.id == user.id, model.locked_until <= now)
                       .values(failed_logins=0, locked_until=None))
    # The increment takes the row's write lock, so the read after it sees every attempt
    # counted before ours (no RETURNING: SQLite has it only from 3.35).
    db.session.execute(update(model).where(model.id == user.id)
                       .values(failed_logins=model.failed_logins + 1))
    count, locked_until = db.session.execute(select(model.failed_logins, model.locked_until)
                                             .where(model.id == user.id)).one()
    refused = (locked_until is not None and locked_until > now) or count > MAX_FAILED_LOGINS
    if refused and locked_until is None:
        _lock(model, user.id, now)
    db.session.commit()
    return None if refused else count


def _lock(model, user_id: int, now) -> None:
    db.session.execute(update(model).where(model.id == user_id, model.locked_until.is_(None))
                       .values(locked_until=now + timedelta(minutes=LOCK_MINUTES)))


def end_sessions(user: Operator | Staff) -> None:
    """Every session cookie issued to the user so far stops working (logout, new password)."""
    user.session_version += 1


def change_password(user: Operator | Staff, old: str, new: str) -> None:
    """修改密码: the old password must match; the new one must be strong and different."""
    if not check_password_hash(user.password_hash, old or ""):
        raise InvalidInput("原密码不正确", {"old": ["原密码不正确"]})
    check_password_strength(new)
    if old == new:
        raise InvalidInput("新密码不能与原密码相同", {"new": ["新密码不能与原密码相同"]})
    user.password_hash = hash_password(new)
    end_sessions(user)
