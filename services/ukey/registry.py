"""Issuing and revoking units' UKeys (`hpf issue-ukey`, `hpf revoke-ukey`, the demo seed).

Issuing makes the card's key pair and the certificate, writes both where the card is
personalised from (`<keys_dir>/<单位账号>.pem`, 0600, and `.crt`), and records the
certificate as the unit's one ACTIVE UKey; an earlier one is revoked in the same
transaction. Callers commit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from ..db import db, utcnow
from ..errors import BusinessRuleViolation, NotFound
from ..models import City, UKeyAuthority, UKeyCertificate, Unit, UnitAccount
from ..models.ukey import ACTIVE, REVOKED
from .ca import CERTIFICATE_VALIDITY, CentreCA, UnitSubject, fingerprint, pem
from .keys import EcdsaP256Signer, write_private

#: 单位账户状态 销户: a closed unit gets no new UKey.
CLOSED = "04"
PIN_DIGITS = 6
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class IssuedUKey:
    """What the centre hands over with a new UKey (the card's files and its first PIN)."""

    unit_account: str
    unit_name: str
    serial: str
    not_after: datetime
    key_file: Path
    certificate_file: Path
    pin: str
    revoked_serial: str | None


def authority(ca_dir: Path) -> tuple[CentreCA, UKeyAuthority]:
    """The CA that issues here: loaded from `ca_dir`, or made there at first use, and
    registered in the database as trusted. A different CA already trusted by the database
    means this host is not the one that issues UKeys: refused rather than trusting two."""
    known = db.session.execute(select(UKeyAuthority)).scalars().all()
    ca = CentreCA.load(ca_dir)
    if ca is None:
        if known:
            raise BusinessRuleViolation(
                f"数据库已登记中心 CA 证书，但 {ca_dir} 中没有它的私钥：请在签发 UKey 的主机上"
                "执行，或用 HPF_UKEY_CA_DIR 指向 CA 密钥所在目录")
        centre = db.session.execute(select(City.centre_name).limit(1)).scalar()
        ca = CentreCA.create(centre or "")
        ca.save(ca_dir)
    mark = fingerprint(ca.certificate)
    row = next((a for a in known if a.fingerprint == mark), None)
    if row is None:
        if known:
            raise BusinessRuleViolation(f"{ca_dir} 中的 CA 与数据库登记的中心 CA 不一致，拒绝签发")
        row = UKeyAuthority(fingerprint=mark, subject=ca.certificate.subject.rfc4514_string()[:200],
                            algorithm=ca.signer.algorithm, certificate_pem=ca.certificate_pem())
        db.session.add(row)
        db.session.flush()
    return ca, row


def trusted_authorities() -> list[x509.Certificate]:
    """The CA certificates a login's certificate may chain to."""
    return [x509.load_pem_x509_certificate(text.encode()) for text in
            db.session.execute(select(UKeyAuthority.certificate_pem)).scalars()]


def issue_ukey(unit_account: str, ca_dir: Path, keys_dir: Path, pin: str | None = None,
               valid_for: timedelta = CERTIFICATE_VALIDITY,
               not_before: datetime | None = None) -> IssuedUKey:
    """签发 UKey: a new key pair and certificate for the unit; its earlier UKey is revoked."""
    unit = _unit(unit_account)
    if unit.account.status == CLOSED:
        raise BusinessRuleViolation(f"单位账号 {unit_account} 已销户，不能签发 UKey")
    if pin is not None and not (pin.isascii() and pin.isdigit() and 6 <= len(pin) <= 12):
        raise BusinessRuleViolation("PIN 码须为 6-12 位数字")
    ca, row = authority(ca_dir)
    old = active_certificate(unit.id)
    if old is not None:
        _revoke(old, "重新签发")
        db.session.flush()  # the partial unique index allows one ACTIVE row at a time
    card = EcdsaP256Signer.generate()
    certificate = ca.issue(UnitSubject(unit.account.account_no, unit.uscc, unit.name),
                           card.public_key(), valid_for=valid_for, not_before=not_before)
    serial = format(certificate.serial_number, "x")
    db.session.add(UKeyCertificate(
        unit_id=unit.id, authority_id=row.id, serial=serial,
        fingerprint=fingerprint(certificate), certificate_pem=pem(certificate),
        not_before=certificate.not_valid_before_utc.replace(tzinfo=None),
        not_after=certificate.not_valid_after_utc.replace(tzinfo=None), status=ACTIVE))
    db.session.flush()
    key_file = Path(keys_dir) / f"{unit.account.account_no}.pem"
    certificate_file = Path(keys_dir) / f"{unit.account.account_no}.crt"
    write_private(key_file, card.private_pem())
    certificate_file.write_text(pem(certificate))
    return IssuedUKey(unit.account.account_no, unit.name, serial,
                      certificate.not_valid_after_utc.replace(tzinfo=None), key_file,
                      certificate_file, pin or _random_pin(),
                      old.serial if old is not None else None)


def revoke_ukey(unit_account: str, reason: str = "挂失注销") -> UKeyCertificate:
    """注销 UKey: its certificate is refused at every login from now on."""
    unit = _unit(unit_account)
    current = active_certificate(unit.id)
    if current is None:
        raise BusinessRuleViolation(f"单位账号 {unit_account} 没有有效的 UKey 证书")
    _revoke(current, reason)
    return current


def demo_ukey(unit_account: str, ca_dir: Path, keys_dir: Path, pin: str) -> dict:
    """A demo unit's virtual card (demo.json's `ukey`): kept while its files still hold the
    unit's valid ACTIVE certificate, issued anew otherwise."""
    unit = _unit(unit_account)
    key_file = Path(keys_dir) / f"{unit_account}.pem"
    certificate_file = Path(keys_dir) / f"{unit_account}.crt"
    current = active_certificate(unit.id)
    if current is None or current.not_after <= utcnow() or not key_file.exists() \
            or not certificate_file.exists() \
            or certificate_file.read_text().strip() != current.certificate_pem.strip():
        issue_ukey(unit_account, ca_dir, keys_dir, pin=pin)
    return {"card_key_file": _shown(key_file), "certificate_file": _shown(certificate_file),
            "pin": pin}


def _shown(path: Path) -> str:
    """A path as demo.json gives it: from the project root when inside it (what `make
    run` reads from there), absolute otherwise."""
    path = path.resolve()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def active_certificate(unit_id: int) -> UKeyCertificate | None:
    return db.session.execute(select(UKeyCertificate).where(
        UKeyCertificate.unit_id == unit_id, UKeyCertificate.status == ACTIVE)).scalar_one_or_none()


def _revoke(certificate: UKeyCertificate, reason: str) -> None:
    certificate.status = REVOKED
    certificate.revoked_at = utcnow()
    certificate.revoke_reason = reason[:200]


def _unit(unit_account: str) -> Unit:
    unit = db.session.execute(select(Unit).join(UnitAccount).where(
        UnitAccount.account_no == (unit_account or "").strip())).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"单位账号 {unit_account} 不存在")
    return unit


def _random_pin() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
