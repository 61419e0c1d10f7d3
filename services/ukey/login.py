"""A unit operator's login (manual 1.1): the UKey first (a fresh challenge signed by the
card, whose certificate the centre issued to this unit and has not revoked), then the
password with its lockout. Both checks run on every login, whichever page or API call
carries it; neither can be left out.

The challenge is random, bound to the browser session that asked for it, valid for
CHALLENGE_SECONDS and used once: it is marked used in the database by one conditional
UPDATE, committed before anything else is checked, so a captured login request sent
again (with the same cookie, or twice at once) is refused."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from .. import accounts
from ..db import db, utcnow
from ..models import Operator, UKeyCertificate, UKeyChallenge
from ..models.ukey import REVOKED
from .ca import UKeyRefused, check_chain, fingerprint, parse_certificate, subject_of
from .keys import verify_signature
from .registry import trusted_authorities

CHALLENGE_SECONDS = 60
#: Challenges older than this are deleted when new ones are made.
CHALLENGE_KEEP = timedelta(hours=1)
FIELDS = ("certificate", "challenge_id", "signature")
_CHALLENGE_ID = re.compile(r"[0-9a-f]{32}")
_MISSING = "请插入 UKey、输入 PIN 码并通过证书认证后再登录"


def new_challenge(binding: str) -> tuple[str, str]:
    """A challenge for the session whose `binding` is given: (challenge_id, nonce). The
    caller commits."""
    now = utcnow()
    db.session.execute(delete(UKeyChallenge).where(UKeyChallenge.created_at < now - CHALLENGE_KEEP))
    row = UKeyChallenge(id=secrets.token_hex(16), nonce=secrets.token_hex(32), binding=binding,
                        created_at=now)
    db.session.add(row)
    return row.id, row.nonce


def authenticate(unit_account: str, login_name: str, password: str, ukey: object,
                 binding: str | None) -> Operator:
    """The operator, once the UKey and then the password have passed."""
    registered = verify_ukey(unit_account, ukey, binding)
    operator = accounts.authenticate_operator(unit_account, login_name, password)
    if operator.unit_id != registered.unit_id:
        raise _other_unit(registered)
    return operator


def verify_ukey(unit_account: str, ukey: object, binding: str | None) -> UKeyCertificate:
    """The registered certificate of the UKey that signed this session's challenge, if it
    belongs to the unit typed in; UKeyRefused saying what to do otherwise."""
    if not isinstance(ukey, dict) or not all(isinstance(ukey.get(k), str) and ukey[k]
                                             for k in FIELDS):
        raise UKeyRefused("missing", _MISSING)
    if len(ukey["certificate"]) > 8192 or len(ukey["signature"]) > 512:
        raise UKeyRefused("certificate", "无法识别 UKey 证书，请重新插入 UKey 后再试")
    nonce = _use_challenge(ukey["challenge_id"], binding)
    certificate = parse_certificate(ukey["certificate"])
    check_chain(certificate, trusted_authorities())
    registered = db.session.execute(select(UKeyCertificate).where(
        UKeyCertificate.fingerprint == fingerprint(certificate))).scalar_one_or_none()
    if registered is None:
        raise UKeyRefused("unknown", "该 UKey 证书未在本中心登记，请联系公积金中心")
    if registered.status == REVOKED:
        raise UKeyRefused("revoked", "该 UKey 证书已注销，不能再用于登录；请使用新签发的 UKey，"
                                     "或联系公积金中心")
    try:
        signature = base64.b64decode(ukey["signature"], validate=True)
    except (ValueError, binascii.Error):
        signature = b""
    if not verify_signature(certificate.public_key(), nonce.encode("utf-8"), signature):
        raise UKeyRefused("signature", "UKey 签名验证未通过，请重新登录")
    typed = (unit_account or "").strip()
    if subject_of(certificate).unit_account != typed \
            or registered.unit.account.account_no != typed:
        raise _other_unit(registered)
    return registered


def _use_challenge(challenge_id: str, binding: str | None) -> str:
    """The challenge's nonce, marking it used (committed at once: a refused login's
    rollback must not make it usable again)."""
    if not binding or not _CHALLENGE_ID.fullmatch(challenge_id):
        raise UKeyRefused("challenge_invalid", "UKey 认证信息无效，请刷新页面后重新登录")
    now = utcnow()
    used = db.session.execute(
        update(UKeyChallenge).where(
            UKeyChallenge.id == challenge_id, UKeyChallenge.binding == binding,
            UKeyChallenge.used_at.is_(None),
            UKeyChallenge.created_at >= now - timedelta(seconds=CHALLENGE_SECONDS))
        .values(used_at=now).execution_options(synchronize_session=False))
    row = db.session.execute(select(UKeyChallenge.nonce, UKeyChallenge.binding,
                                    UKeyChallenge.used_at)
                             .where(UKeyChallenge.id == challenge_id)).one_or_none()
    db.session.commit()
    if used.rowcount == 1:
        return row.nonce
    if row is None or row.binding != binding:
        raise UKeyRefused("challenge_invalid", "UKey 认证信息无效，请刷新页面后重新登录")
    if row.used_at is not None:
        raise UKeyRefused("challenge_used", "这次 UKey 认证已经使用过，不能重复提交，请重新登录")
    raise UKeyRefused("challenge_expired",
                      f"UKey 认证已超时（须在 {CHALLENGE_SECONDS} 秒内完成），请重新登录")


def _other_unit(registered: UKeyCertificate) -> UKeyRefused:
    account = registered.unit.account.account_no
    return UKeyRefused("other_unit", f"插入的 UKey 属于{registered.unit.name}（单位账号 "
                                     f"{account}），与所填单位账号不一致，请插入本单位的 UKey")
