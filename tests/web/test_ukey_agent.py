"""The UKey for real: pcscd with the vpcd reader, the virtual card, and the UKey agent
reading it through pyscard, as on a unit's PC. Logs in through them, and meets every
refusal the card and the agent give: no reader, no card, not a UKey, wrong PIN with the
tries left, the locked card, another unit's card, and callers that are not the hall."""

from __future__ import annotations

import os
import time

import pytest
from smartcard.System import readers

from tests import smartcard
from web.ukey.stack import end_process, free_port, start_agent

LOGIN = "/api/v1/auth/login"


def sign_with_agent(stack, api, pin: str) -> tuple[int, dict, dict]:
    """A challenge from the hall, signed by the card through the agent."""
    challenge = api.get("/api/v1/auth/challenge").json
    status, answer, _ = stack.call("/sign", {"nonce": challenge["nonce"], "pin": pin})
    return status, answer, challenge


def until(check, seconds: float = 5.0):
    """pcscd polls its readers: give it a moment to see a card come or go."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_an_operator_logs_in_through_pyscard_and_the_agent(card, api, demo):
    unit = demo["units"][0]
    assert "Virtual PCD 00 00" in [str(r) for r in readers()]  # pyscard sees the reader
    status, info, _ = card.call("/status")
    assert status == 200 and info["reader"] == "Virtual PCD 00 00" and info["tries_left"] == 6
    status, signed, challenge = sign_with_agent(card, api, unit["ukey"]["pin"])
    assert status == 200, signed
    response = api.post(LOGIN, {
        "unit_account": unit["unit_account"], "login_name": unit["operators"][0]["login_name"],
        "password": unit["operators"][0]["password"],
        "ukey": {"certificate": signed["certificate"], "challenge_id": challenge["challenge_id"],
                 "signature": signed["signature"]}})
    assert response.status_code == 200, response.json
    assert api.get("/api/v1/units/me").json["unit_account"] == unit["unit_account"]


def test_a_wrong_pin_says_how_many_tries_are_left_and_zero_locks_the_card(card, api, demo):
    unit = demo["units"][0]
    status, answer, _ = sign_with_agent(card, api, "000000")
    assert status == 401 and answer["code"] == "wrong_pin" and answer["tries_left"] == 5
    assert answer["message"] == "PIN 码错误，还可尝试 5 次，连续输错将锁定 UKey"
    for left in (4, 3, 2, 1):
        assert sign_with_agent(card, api, "000000")[1]["tries_left"] == left
    status, answer, _ = sign_with_agent(card, api, "000000")
    assert status == 423 and answer["code"] == "locked" and "已锁定" in answer["message"]
    status, answer, _ = sign_with_agent(card, api, unit["ukey"]["pin"])  # the right PIN, too late
    assert status == 423 and answer["code"] == "locked"
    assert card.call("/status")[1]["code"] == "locked"


def test_no_card_in_the_reader(card):
    card.eject()
    answer = until(lambda: (r := card.call("/status"))[0] == 409 and r[1])
    assert answer and answer["code"] == "no_card"
    assert answer["message"] == "未检测到 UKey，请插入 UKey 后点击“重新检测”"
    assert card.call("/sign", {"nonce": "n", "pin": "123456"})[1]["code"] == "no_card"


def test_a_card_that_is_not_a_ukey(card):
    class OtherCard:
        def reset(self) -> None:
            pass

        def process(self, apdu: bytes) -> bytes:
            return b"\x6a\x82"  # no such application

    card.insert(OtherCard())
    status, answer, _ = card.call("/status")
    assert status == 409 and answer["code"] == "not_ukey" and "不是住房公积金 UKey" in answer["message"]


def test_no_reader_when_the_smart_card_service_is_not_there(ukey_stack, tmp_path):
    port = free_port()
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    agent = start_agent(env, [smartcard.TEST_ORIGIN], port)
    try:
        status, answer, _ = ukey_stack.call("/status", port=port)
        assert status == 409 and answer["code"] == "no_reader" and "读卡器" in answer["message"]
    finally:
        end_process(agent)


def test_another_units_card_cannot_log_in_for_this_unit(card, api, demo):
    mine, theirs = demo["units"][0], demo["units"][1]
    card.insert_demo_card(demo, unit=1)
    status, signed, challenge = sign_with_agent(card, api, theirs["ukey"]["pin"])
    assert status == 200
    response = api.post(LOGIN, {
        "unit_account": mine["unit_account"], "login_name": mine["operators"][0]["login_name"],
        "password": mine["operators"][0]["password"],
        "ukey": {"certificate": signed["certificate"], "challenge_id": challenge["challenge_id"],
                 "signature": signed["signature"]}})
    assert response.status_code == 401 and response.json["code"] == "ukey_other_unit"


def test_bad_requests_to_the_agent_are_refused_in_chinese(ukey_stack):
    assert ukey_stack.call("/sign", {"nonce": "n", "pin": "12"})[1]["code"] == "bad_pin"
    assert ukey_stack.call("/sign", {"pin": "123456"})[1]["code"] == "bad_request"
    assert ukey_stack.call("/sign", {"nonce": "x" * 256, "pin": "123456"})[0] == 400
    assert ukey_stack.call("/nothing")[0] == 404


@pytest.fixture(scope="module")
def strict_agent(ukey_stack):
    """An agent as a unit runs it for one hall: exactly one origin."""
    port = free_port()
    agent = start_agent(ukey_stack.pcscd.env, ["https://hall.example"], port)
    yield port
    end_process(agent)


def test_only_the_halls_own_page_may_call_the_agent(ukey_stack, strict_agent):
    hall, port = "https://hall.example", strict_agent
    status, _, headers = ukey_stack.call("/status", origin=hall, port=port)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == hall
    for origin in ("https://evil.example", "https://hall.example.evil.example", "null", None):
        status, answer, headers = ukey_stack.call("/status", origin=origin, port=port)
        assert status == 403 and answer["code"] == "origin", origin
        assert "Access-Control-Allow-Origin" not in headers
    status, _, _ = ukey_stack.call("/sign", {"nonce": "n", "pin": "123456"},
                                   origin="https://evil.example", port=port)
    assert status == 403


def test_the_preflight_grants_only_the_hall(ukey_stack, strict_agent):
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", strict_agent, timeout=10)
    for origin, expected in (("https://hall.example", 204), ("https://evil.example", 403)):
        connection.request("OPTIONS", "/sign", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Private-Network": "true"})
        response = connection.getresponse()
        response.read()
        assert response.status == expected
        if expected == 204:
            assert response.headers["Access-Control-Allow-Origin"] == origin
            assert response.headers["Access-Control-Allow-Private-Network"] == "true"
            assert "POST" in response.headers["Access-Control-Allow-Methods"]
    connection.close()


def test_a_page_reaching_the_agent_by_another_host_name_is_refused(ukey_stack, strict_agent):
    """DNS rebinding: evil.example resolving to 127.0.0.1 still sends its own Host."""
    status, answer, _ = ukey_stack.call("/status", origin="https://hall.example", port=strict_agent,
                                        headers={"Host": f"evil.example:{strict_agent}"})
    assert status == 403 and answer["code"] == "origin"
