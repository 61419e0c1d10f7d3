"""The UKey's pure parts: the card applet's APDUs, the centre CA's certificates and the
checks a login's certificate must pass; the one-ACTIVE-per-unit rule in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.db import db
from services.models import UKeyCertificate
from services.ukey import applet as card
from services.ukey.applet import AID, UKeyApplet, atr, tries_left
from services.ukey.ca import CentreCA, UKeyRefused, UnitSubject, check_chain, subject_of
from services.ukey.keys import EcdsaP256Signer, verify_signature
from services.ukey.registry import active_certificate, issue_ukey, revoke_ukey
from web.ukey import agent

SELECT = bytes([0x00, 0xA4, 0x04, 0x00, len(AID)]) + AID
SUBJECT = UnitSubject("1000000013", "91350100M000100Y43", "示范市测试有限公司")


@pytest.fixture(scope="module")
def ca():
    return CentreCA.create("示范市住房公积金管理中心")


@pytest.fixture
def issued(ca):
    key = EcdsaP256Signer.generate()
    certificate = ca.issue(SUBJECT, key.public_key())
    return key, certificate


@pytest.fixture
def applet(issued):
    key, certificate = issued
    return UKeyApplet(key, certificate.public_bytes(serialization.Encoding.DER), "123456")


def verify(pin: str) -> bytes:
    return bytes([0x00, 0x20, 0x00, 0x01, len(pin)]) + pin.encode()


def authenticate(challenge: bytes) -> bytes:
    return bytes([0x00, 0x88, 0x00, 0x00, len(challenge)]) + challenge + b"\x00"


def test_the_agent_speaks_the_applets_protocol():
    assert agent.AID == card.AID


def test_the_atr_is_well_formed_with_its_check_byte():
    value = atr()
    assert value[0] == 0x3B and card.HISTORICAL in value
    check = 0
    for byte in value[1:]:
        check ^= byte
    assert check == 0


def test_nothing_answers_before_the_applet_is_selected(applet):
    assert applet.process(verify("123456")) == card.SW_CONDITIONS_NOT_SATISFIED
    assert applet.process(bytes([0x00, 0xA4, 0x04, 0x00, 3]) + b"abc") == card.SW_NOT_FOUND
    assert applet.process(SELECT) == card.SW_OK
    assert applet.process(b"\x80\xa4\x04\x00") == card.SW_CLA_NOT_SUPPORTED
    assert applet.process(b"\x00\xca\x00\x00") == card.SW_INS_NOT_SUPPORTED
    assert applet.process(b"\x00\x20") == card.SW_WRONG_LENGTH


def test_the_certificate_reads_back_in_chunks(applet, issued):
    der = issued[1].public_bytes(serialization.Encoding.DER)
    applet.process(SELECT)
    content = b""
    while True:
        response = applet.process(bytes([0x00, 0xB0, len(content) >> 8, len(content) & 0xFF, 0x80]))
        assert response[-2:] == card.SW_OK
        content += response[:-2]
        if len(response) - 2 < 0x80:
            break
    assert content == der
    assert applet.process(bytes([0x00, 0xB0, 0x7F, 0x00, 0x10])) == card.SW_OFFSET_BEYOND


def test_the_card_signs_only_after_the_right_pin(applet, issued):
    applet.process(SELECT)
    assert applet.process(authenticate(b"nonce")) == card.SW_SECURITY_NOT_SATISFIED
    assert applet.process(verify("123456")) == card.SW_OK
    response = applet.process(authenticate(b"nonce"))
    assert response[-2:] == card.SW_OK
    assert verify_signature(issued[1].public_key(), b"nonce", response[:-2])
    applet.reset()  # a power cycle forgets the PIN
    applet.process(SELECT)
    assert applet.process(authenticate(b"nonce")) == card.SW_SECURITY_NOT_SATISFIED


def test_wrong_pins_count_down_and_lock_the_card_at_zero(applet):
    applet.process(SELECT)
    assert tries_left(applet.process(b"\x00\x20\x00\x01")) == card.PIN_TRIES
    assert tries_left(applet.process(verify("000000"))) == card.PIN_TRIES - 1
    assert applet.process(verify("123456")) == card.SW_OK  # the right PIN restores the count
    for left in range(card.PIN_TRIES - 1, 0, -1):
        assert tries_left(applet.process(verify("000000"))) == left
    assert applet.process(verify("000000")) == card.SW_BLOCKED
    assert applet.locked
    assert applet.process(verify("123456")) == card.SW_BLOCKED  # even the right PIN now
    assert applet.process(authenticate(b"nonce")) == card.SW_BLOCKED


def test_a_certificate_names_the_unit_and_chains_to_the_centre(ca, issued):
    certificate = issued[1]
    assert subject_of(certificate) == SUBJECT
    check_chain(certificate, [ca.certificate])
    with pytest.raises(UKeyRefused) as other:
        check_chain(certificate, [CentreCA.create("别的中心").certificate])
    assert other.value.code == "ukey_untrusted"


def test_an_expired_certificate_is_refused_with_its_date(ca):
    key = EcdsaP256Signer.generate()
    old = ca.issue(SUBJECT, key.public_key(), valid_for=timedelta(days=1),
                   not_before=ca.certificate.not_valid_before_utc)
    with pytest.raises(UKeyRefused) as expired:
        check_chain(old, [ca.certificate], now=old.not_valid_after_utc + timedelta(seconds=1))
    assert expired.value.code == "ukey_expired" and "过期" in expired.value.message


def test_a_ca_certificate_cannot_log_in_as_a_unit(ca):
    with pytest.raises(UKeyRefused):
        check_chain(ca.certificate, [ca.certificate])


def test_reissuing_revokes_the_old_ukey_and_one_stays_active(ctx, demo, tmp_path):
    account = demo["units"][1]["unit_account"]
    first = issue_ukey(account, ctx.config["UKEY_CA_DIR"], tmp_path)
    second = issue_ukey(account, ctx.config["UKEY_CA_DIR"], tmp_path, pin="7654321")
    db.session.commit()
    assert second.revoked_serial == first.serial and second.pin == "7654321"
    assert len(first.pin) == 6 and first.pin.isdigit()
    unit_id = active_certificate_unit(second.serial)
    assert active_certificate(unit_id).serial == second.serial
    assert db.session.execute(select(func.count()).select_from(UKeyCertificate).where(
        UKeyCertificate.unit_id == unit_id, UKeyCertificate.status == "active")).scalar_one() == 1
    revoked = revoke_ukey(account)
    db.session.commit()
    assert revoked.serial == second.serial and active_certificate(unit_id) is None


def test_the_database_refuses_a_second_active_ukey_for_a_unit(ctx, demo):
    current = db.session.execute(select(UKeyCertificate).where(
        UKeyCertificate.status == "active")).scalars().first()
    db.session.add(UKeyCertificate(
        unit_id=current.unit_id, authority_id=current.authority_id, serial="feedbeef",
        fingerprint="0" * 64, certificate_pem=current.certificate_pem,
        not_before=current.not_before, not_after=current.not_after, status="active"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_issuing_needs_the_ca_key_the_database_trusts(ctx, demo, tmp_path):
    from services.errors import BusinessRuleViolation
    with pytest.raises(BusinessRuleViolation) as missing:
        issue_ukey(demo["units"][0]["unit_account"], tmp_path / "no-ca", tmp_path)
    assert "没有它的私钥" in missing.value.message
    CentreCA.create().save(tmp_path / "other-ca")
    with pytest.raises(BusinessRuleViolation) as other:
        issue_ukey(demo["units"][0]["unit_account"], tmp_path / "other-ca", tmp_path)
    assert "不一致" in other.value.message


def active_certificate_unit(serial: str) -> int:
    return db.session.execute(select(UKeyCertificate.unit_id).where(
        UKeyCertificate.serial == serial)).scalar_one()
