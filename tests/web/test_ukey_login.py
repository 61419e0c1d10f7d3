"""Manual 1.1: a unit operator logs in only with the unit's UKey and the password. Every
refusal, through the JSON API and the login form; the UKey's signature is made here with
the demo card's key (tests/web/test_ukey_agent.py goes through pcscd and the agent)."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.db import db, utcnow
from services.models import UKeyChallenge
from services.ukey.ca import CentreCA, UnitSubject, pem
from services.ukey.keys import EcdsaP256Signer
from services.ukey.registry import issue_ukey, revoke_ukey
from tests.ukey import certificate, sign, ukey_form_fields, ukey_login_fields

from .test_login import form_token

LOGIN = "/api/v1/auth/login"


def body(unit: dict, ukey: dict | None, password: str | None = None) -> dict:
    payload = {"unit_account": unit["unit_account"],
               "login_name": unit["operators"][0]["login_name"],
               "password": password or unit["operators"][0]["password"]}
    if ukey is not None:
        payload["ukey"] = ukey
    return payload


def refused(response, code: str, text: str) -> None:
    assert response.status_code == 401, response.json
    assert response.json["code"] == code, response.json
    assert text in response.json["message"], response.json["message"]
    assert response.json["errors"]["ukey"]


def test_ukey_and_password_log_the_operator_in(api, demo):
    unit = demo["units"][0]
    response = api.post(LOGIN, body(unit, ukey_login_fields(api.client, unit)))
    assert response.status_code == 200 and response.json["user"]["kind"] == "operator"
    assert api.get("/api/v1/units/me").json["unit_account"] == unit["unit_account"]


def test_the_certificate_may_be_sent_as_base64_der(api, demo):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    unit = demo["units"][0]
    ukey = ukey_login_fields(api.client, unit)
    ukey["certificate"] = base64.b64encode(x509.load_pem_x509_certificate(
        ukey["certificate"].encode()).public_bytes(serialization.Encoding.DER)).decode()
    assert api.post(LOGIN, body(unit, ukey)).status_code == 200


@pytest.mark.parametrize("ukey", [None, {}, {"certificate": "", "challenge_id": "", "signature": ""}])
def test_the_api_cannot_skip_the_ukey(api, demo, ukey):
    response = api.post(LOGIN, body(demo["units"][0], ukey))
    refused(response, "ukey_missing", "请插入 UKey")
    assert api.get("/api/v1/auth/me").status_code == 401


def test_a_ukey_that_is_not_an_object_is_bad_input(api, demo):
    response = api.post(LOGIN, body(demo["units"][0], "not-an-object"))
    assert response.status_code == 422
    assert response.json["errors"]["ukey._schema"] == ["数据格式无效，应为对象"]


def test_the_api_cannot_skip_the_password(api, demo):
    unit = demo["units"][0]
    response = api.post(LOGIN, {**body(unit, ukey_login_fields(api.client, unit)), "password": ""})
    assert response.status_code == 422  # the password is required
    wrong = api.post(LOGIN, body(unit, ukey_login_fields(api.client, unit), "wrong-password-1"))
    assert wrong.status_code == 401 and wrong.json["message"] == "单位账号、登录名称或登录密码不正确"
    assert api.get("/api/v1/auth/me").status_code == 401


def test_an_operator_cannot_slip_in_through_the_staff_login(api, demo):
    """Without a unit account the login is a centre staff login: an operator's name and
    password are not one."""
    login = demo["units"][0]["operators"][0]
    response = api.post(LOGIN, {"login_name": login["login_name"], "password": login["password"]})
    assert response.status_code == 401 and api.get("/api/v1/auth/me").status_code == 401


def test_centre_staff_keep_their_password_login(api, demo):
    api.login_reviewer()
    assert api.get("/api/v1/auth/me").json["kind"] == "staff"


def test_a_captured_login_replayed_later_is_refused_even_with_the_cookie(app, api, demo):
    unit = demo["units"][0]
    captured = body(unit, ukey_login_fields(api.client, unit))
    token = api.csrf()
    cookie = api.client.get_cookie("session").value  # as the login request carries it
    assert api.post(LOGIN, captured).status_code == 200
    api.logout()
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    response = thief.post(LOGIN, json=captured, headers={"X-CSRF-Token": token})
    refused(response, "ukey_challenge_used", "已经使用过")
    assert thief.get("/api/v1/auth/me").status_code == 401


def test_a_challenge_answered_after_a_minute_is_refused(ctx, api, demo):
    unit = demo["units"][0]
    ukey = ukey_login_fields(api.client, unit)
    db.session.execute(update(UKeyChallenge).where(UKeyChallenge.id == ukey["challenge_id"])
                       .values(created_at=utcnow() - timedelta(seconds=61)))
    db.session.commit()
    refused(api.post(LOGIN, body(unit, ukey)), "ukey_challenge_expired", "60 秒")


def test_a_challenge_belongs_to_the_session_that_asked_for_it(make_api, demo):
    unit = demo["units"][0]
    asker, other = make_api(), make_api()
    ukey = ukey_login_fields(asker.client, unit)
    refused(other.post(LOGIN, body(unit, ukey)), "ukey_challenge_invalid", "无效")
    refused(asker.post(LOGIN, body(unit, {**ukey, "challenge_id": "../../x"})),
            "ukey_challenge_invalid", "无效")


def test_a_refused_login_still_uses_up_its_challenge(api, demo):
    unit = demo["units"][0]
    ukey = ukey_login_fields(api.client, unit)
    assert api.post(LOGIN, body(unit, ukey, "wrong-password-1")).status_code == 401
    refused(api.post(LOGIN, body(unit, ukey)), "ukey_challenge_used", "已经使用过")


def test_one_challenge_sent_twice_at_once_logs_in_once(app, demo):
    unit = demo["units"][0]
    client = app.test_client()
    token = client.get("/api/v1/auth/csrf").json["csrf_token"]
    payload = body(unit, ukey_login_fields(client, unit))
    cookie = client.get_cookie("session").value
    barrier, statuses = threading.Barrier(4), []

    def attempt():
        twin = app.test_client()
        twin.set_cookie("session", cookie)
        barrier.wait()
        statuses.append(twin.post(LOGIN, json=payload, headers={"X-CSRF-Token": token}).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200, 401, 401, 401]


def test_a_certificate_from_another_ca_is_refused(api, demo):
    unit = demo["units"][0]
    rogue_ca, key = CentreCA.create("示范市住房公积金管理中心"), EcdsaP256Signer.generate()
    rogue = rogue_ca.issue(UnitSubject(unit["unit_account"], unit["uscc"], unit["name"]),
                           key.public_key())
    challenge = api.get("/api/v1/auth/challenge").json
    ukey = {"certificate": pem(rogue), "challenge_id": challenge["challenge_id"],
            "signature": base64.b64encode(key.sign(challenge["nonce"].encode())).decode()}
    refused(api.post(LOGIN, body(unit, ukey)), "ukey_untrusted", "不是本中心签发")


def test_a_revoked_ukey_is_refused(ctx, api, demo):
    unit = demo["units"][0]
    revoke_ukey(unit["unit_account"])
    db.session.commit()
    refused(api.post(LOGIN, body(unit, ukey_login_fields(api.client, unit))), "ukey_revoked",
            "已注销")


def test_the_old_ukey_stops_working_when_a_new_one_is_issued(ctx, api, demo, tmp_path):
    unit = demo["units"][0]
    issue_ukey(unit["unit_account"], ctx.config["UKEY_CA_DIR"], tmp_path)
    db.session.commit()
    refused(api.post(LOGIN, body(unit, ukey_login_fields(api.client, unit))), "ukey_revoked",
            "已注销")
    fresh = {**unit, "ukey": {"card_key_file": str(tmp_path / f"{unit['unit_account']}.pem"),
                              "certificate_file": str(tmp_path / f"{unit['unit_account']}.crt")}}
    assert api.post(LOGIN, body(unit, ukey_login_fields(api.client, fresh))).status_code == 200


def test_an_expired_ukey_is_refused(ctx, api, demo, tmp_path):
    unit = demo["units"][0]
    issue_ukey(unit["unit_account"], ctx.config["UKEY_CA_DIR"], tmp_path,
               valid_for=timedelta(days=1), not_before=utcnow() - timedelta(days=3))
    db.session.commit()
    old = {**unit, "ukey": {"card_key_file": str(tmp_path / f"{unit['unit_account']}.pem"),
                            "certificate_file": str(tmp_path / f"{unit['unit_account']}.crt")}}
    refused(api.post(LOGIN, body(unit, ukey_login_fields(api.client, old))), "ukey_expired",
            "过期")


def test_another_units_ukey_is_refused(api, demo):
    mine, theirs = demo["units"][0], demo["units"][1]
    response = api.post(LOGIN, body(mine, ukey_login_fields(api.client, theirs)))
    refused(response, "ukey_other_unit", "与所填单位账号不一致")
    assert theirs["name"] in response.json["message"]


def test_a_signature_over_something_else_is_refused(api, demo):
    unit = demo["units"][0]
    challenge = api.get("/api/v1/auth/challenge").json
    ukey = {"certificate": certificate(unit), "challenge_id": challenge["challenge_id"],
            "signature": sign(unit, "another nonce")}
    refused(api.post(LOGIN, body(unit, ukey)), "ukey_signature", "签名验证未通过")


def test_garbage_in_the_ukey_fields_is_refused_not_a_crash(api, demo):
    unit = demo["units"][0]
    ukey = ukey_login_fields(api.client, unit)
    refused(api.post(LOGIN, body(unit, {**ukey, "certificate": "证书"})),
            "ukey_certificate", "无法识别")
    ukey = ukey_login_fields(api.client, unit)
    nul = api.post(LOGIN, body(unit, {**ukey, "certificate": "证书\x00"}))
    assert nul.status_code == 400 and "ukey.certificate" in nul.json["errors"]
    ukey = ukey_login_fields(api.client, unit)
    refused(api.post(LOGIN, body(unit, {**ukey, "signature": "%%%"})), "ukey_signature", "签名")


def test_the_login_form_needs_the_ukey_too(app, demo):
    client = app.test_client()
    unit = demo["units"][0]
    fields = {"csrf_token": form_token(client, "/login"), "unit_account": unit["unit_account"],
              "login_name": unit["operators"][0]["login_name"],
              "password": unit["operators"][0]["password"]}
    response = client.post("/login", data=fields)
    assert response.status_code == 401 and "请插入 UKey" in response.text
    response = client.post("/login", data={**fields, **ukey_form_fields(client, unit)})
    assert response.status_code == 302 and client.get("/").status_code == 200


def test_the_login_page_asks_for_the_pin_and_never_posts_it(app):
    page = app.test_client().get("/login").text
    assert 'id="ukey_pin"' in page and "UKey PIN 码" in page
    pin_input = page[page.index('id="ukey_pin"') - 20:page.index('id="ukey_pin"') + 200]
    assert "name=" not in pin_input
    assert 'data-agent="http://127.0.0.1:' in page and "ukey-login.js" in page


def test_the_agent_can_be_downloaded_with_its_start_line(app):
    client = app.test_client()
    page = client.get("/ukey/agent").text
    assert "hpf-ukey-agent.py --origin http://localhost" in page and "pip install pyscard" in page
    download = client.get("/ukey/hpf-ukey-agent.py")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert b"def main(" in download.data and b"from services" not in download.data
    download.close()
