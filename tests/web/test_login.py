"""Manual 1.1/1.2: log in with unit account, login name and password; the home page shows
the unit's basic and account information. CSRF, isolation between units."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import select

from services import accounts
from services.db import db, utcnow
from services.errors import AuthFailed
from services.models import Operator, Staff, UnitAccount
from tests.conftest import make_app
from tests.ukey import ukey_form_fields, ukey_login_fields


def form_token(client, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text).group(1)


def login(client, demo, unit=0, password=None):
    """The login form as the page posts it, the UKey's fields signed with the demo card key."""
    info = demo["units"][unit]
    return client.post("/login", data={
        "csrf_token": form_token(client, "/login"), "unit_account": info["unit_account"],
        "login_name": info["operators"][0]["login_name"],
        "password": password or info["operators"][0]["password"],
        **ukey_form_fields(client, info)})


def test_anonymous_visitors_see_the_login_page(app):
    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 302 and response.location.endswith("/login")
    page = client.get("/login").text
    assert "缴存单位账号" in page and "登录名称" in page and "登录密码" in page


def test_operator_logs_in_and_sees_unit_and_account_info(app, demo):
    client = app.test_client()
    assert login(client, demo).status_code == 302
    page = client.get("/").text
    unit = demo["units"][0]
    for text in (unit["name"], unit["unit_account"], unit["uscc"], "账户余额", "未分配金额",
                 "缴至年月", "修改密码", "关闭音效", "退出"):
        assert text in page, text
    assert re.search(r'id="balance">[\d,]+\.\d\d 元', page)
    # Every module tile of manual 1.2 opens a working business or query now.
    for tile in ("单位信息变更", "基数调整", "汇缴", "补缴", "缴存人信息变更", "单位信息查询",
                 "缴存人登记", "缴存人信息查询", "缴存人状态变更", "缴存人单位调整"):
        assert tile in page, tile
    assert "暂未开放" not in page


def test_a_wrong_password_is_refused_in_chinese(app, demo):
    client = app.test_client()
    response = login(client, demo, password="wrong-password1")
    assert response.status_code == 401
    assert "单位账号、登录名称或登录密码不正确" in response.text
    assert client.get("/").status_code == 302


def test_login_without_the_csrf_token_is_refused(app, demo):
    client = app.test_client()
    info = demo["units"][0]
    response = client.post("/login", data={"unit_account": info["unit_account"],
                                           "login_name": "jbr01", "password": "x"})
    assert response.status_code == 400 and "CSRF" in response.text


def test_api_writes_need_the_csrf_header(api):
    api.login_operator()
    response = api.client.post("/api/v1/processes/base_adjustment/instances", json={"data": {}})
    assert response.status_code == 400
    assert response.json["code"] == "csrf"


def test_units_cannot_see_each_other(make_api):
    first = make_api().login_operator(unit=0)
    started = first.post("/api/v1/processes/base_adjustment/instances", {"data": {}}).json
    other = make_api().login_operator(unit=1)
    assert other.get(f"/api/v1/instances/{started['instance_id']}").status_code == 404
    assert other.get(f"/api/v1/tasks/{started['tasks'][0]['task_id']}").status_code == 404
    assert other.get(f"/api/v1/instances/{started['instance_id']}/manifest").status_code == 404
    mine = {p["person_account"] for p in other.get("/api/v1/persons?per_page=200").json["items"]}
    theirs = {p["person_account"] for p in first.get("/api/v1/persons?per_page=200").json["items"]}
    assert mine and theirs and not mine & theirs
    assert other.get("/api/v1/tasks?list=initiated").json["total"] == 0


def test_password_change_needs_the_old_password(api, demo):
    api.login_operator()
    wrong = api.post("/api/v1/auth/password", {"old": "nope", "new": "NewPass2026"})
    assert wrong.status_code == 422 and wrong.json["errors"]["old"] == ["原密码不正确"]
    weak = api.post("/api/v1/auth/password", {"old": demo["units"][0]["operators"][0]["password"],
                                              "new": "short"})
    assert weak.status_code == 422 and "至少 8 位" in weak.json["message"]
    ok = api.post("/api/v1/auth/password", {"old": demo["units"][0]["operators"][0]["password"],
                                            "new": "NewPass2026"})
    assert ok.status_code == 200
    api.logout()
    info = demo["units"][0]
    relog = api.post("/api/v1/auth/login", {"unit_account": info["unit_account"],
                                            "login_name": "jbr01", "password": "NewPass2026",
                                            "ukey": ukey_login_fields(api.client, info)})
    assert relog.status_code == 200


def centre_login(client, info: dict):
    """Centre staff (`info` from demo.json's reviewers or analysts) log in with the form."""
    return client.post("/centre/login", data={
        "csrf_token": form_token(client, "/centre/login"), "login_name": info["login_name"],
        "password": info["password"]})


def test_centre_staff_have_their_own_entrance(app, demo):
    client = app.test_client()
    response = centre_login(client, demo["reviewers"][0])
    assert response.status_code == 302 and response.location.endswith("/centre")
    assert "审核工作台" in client.get("/centre").text
    assert client.get("/").status_code == 302  # the employer home is not theirs


@pytest.mark.parametrize("target", ["//evil.example/", "/\t/evil.example", "/\\evil.example",
                                    "https://evil.example/", "/\n/evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(app, demo, target):
    client = app.test_client()
    info = demo["units"][0]
    response = client.post(f"/login?next={quote(target, safe='')}", data={
        "csrf_token": form_token(client, "/login"), "unit_account": info["unit_account"],
        "login_name": info["operators"][0]["login_name"],
        "password": info["operators"][0]["password"], **ukey_form_fields(client, info)})
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert not location.netloc or location.netloc == "localhost", response.location
    assert "evil" not in response.location and response.location.startswith("/")


def test_login_returns_to_the_page_asked_for(app, demo):
    client = app.test_client()
    info = demo["units"][0]
    response = client.post("/login?next=/messages%3Fpage%3D2", data={
        "csrf_token": form_token(client, "/login"), "unit_account": info["unit_account"],
        "login_name": info["operators"][0]["login_name"],
        "password": info["operators"][0]["password"], **ukey_form_fields(client, info)})
    assert response.location == "/messages?page=2"


def test_a_csrf_header_that_is_not_ascii_is_refused_not_a_crash(api):
    response = api.client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "令牌"})
    assert response.status_code in (400, 403)
    assert response.json["code"]


def test_pages_cannot_be_framed_by_other_sites(app):
    response = app.test_client().get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_logging_out_ends_every_copy_of_the_session(app, make_api):
    api = make_api().login_operator()
    copied = session_cookie(api.client)
    assert api.get("/api/v1/auth/me").status_code == 200
    api.logout()
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/api/v1/auth/me").status_code == 401
    page = thief.get("/")  # pages read the login their own way (whole, for the header)
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_a_new_password_ends_the_other_sessions_but_not_this_one(app, demo, make_api):
    here, elsewhere = make_api().login_operator(), make_api().login_operator()
    old = demo["units"][0]["operators"][0]["password"]
    response = here.post("/api/v1/auth/password", {"old": old, "new": "NewPass2026x"})
    assert response.status_code == 200 and response.json["csrf_token"]
    assert here.get("/api/v1/auth/me").status_code == 200
    assert here.get("/").status_code == 200
    assert elsewhere.get("/api/v1/auth/me").status_code == 401
    assert elsewhere.get("/").headers["Location"].startswith("/login")


def test_five_wrong_passwords_lock_the_login_for_a_while(app, demo, make_api):
    info = demo["units"][0]
    login = info["operators"][0]
    api = make_api()

    def attempt(password):
        return api.post("/api/v1/auth/login", {"unit_account": info["unit_account"],
                                               "login_name": login["login_name"],
                                               "password": password,
                                               "ukey": ukey_login_fields(api.client, info)})

    for _ in range(4):
        assert attempt("wrong-password-1").status_code == 401
    assert attempt(login["password"]).status_code == 200  # a success starts the count again
    api.logout()
    for _ in range(5):
        assert attempt("wrong-password-1").status_code == 401
    locked = attempt(login["password"])
    assert locked.status_code == 401
    assert "连续 5 次密码错误" in locked.json["message"] and "15 分钟" in locked.json["message"]
    with app.app_context():  # the lock lifts by itself
        operator = db.session.execute(select(Operator).join(
            UnitAccount, UnitAccount.unit_id == Operator.unit_id).where(
            UnitAccount.account_no == info["unit_account"],
            Operator.login_name == login["login_name"])).scalar_one()
        operator.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert attempt(login["password"]).status_code == 200


def test_behind_https_the_session_cookie_is_marked_secure(app, tmp_path, monkeypatch):
    monkeypatch.setenv("HPF_SECURE_COOKIES", "1")
    secure = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path)
    try:
        response = secure.test_client().get("/login")
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        with secure.app_context():  # release the connection, so the clone can be dropped
            db.engine.dispose()


def test_wrong_passwords_sent_in_parallel_all_count(app, demo):
    """Guesses sent at once must not slip past the lock by each reading the same count."""
    login_name = demo["reviewers"][1]["login_name"]
    barrier = threading.Barrier(8)
    refused = []

    def guess():
        with app.app_context():
            barrier.wait()
            try:
                accounts.authenticate_staff(login_name, "wrong-password-1")
            except AuthFailed:
                refused.append(1)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(refused) == 8
    with app.app_context():
        staff = db.session.execute(select(Staff).where(Staff.login_name == login_name)).scalar_one()
        assert staff.locked_until is not None


def test_at_most_five_of_many_parallel_guesses_are_ever_checked(app, demo, monkeypatch):
    """Twelve wrong guesses at once: each is counted before its password is checked, so
    at most five hashes are checked, and the right password afterwards finds it locked."""
    login = demo["reviewers"][0]
    checked = []
    real_check = accounts.check_password_hash

    def counting_check(hash_, password):
        if hash_ != accounts._DUMMY_HASH:
            checked.append(password)
        return real_check(hash_, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting_check)
    barrier = threading.Barrier(12)

    def guess(number):
        with app.app_context():
            barrier.wait()
            try:
                accounts.authenticate_staff(login["login_name"], f"wrong-{number}")
            except AuthFailed:
                pass
            finally:
                db.session.remove()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(checked) <= accounts.MAX_FAILED_LOGINS
    with app.app_context(), pytest.raises(AuthFailed, match="已锁定"):
        accounts.authenticate_staff(login["login_name"], login["password"])


def test_a_session_ends_ten_hours_after_login_however_busy(app, make_api):
    """A cookie re-signed by every request (flash messages, tokens) still ends when its
    login is ten hours old."""
    api = make_api().login_operator()
    with api.client.session_transaction() as session:  # freshly signed, login 9h59m ago
        session["user"] = dict(session["user"], at=int(time.time()) - 10 * 3600 + 60)
    assert api.get("/api/v1/auth/me").status_code == 200
    with api.client.session_transaction() as session:
        session["user"] = dict(session["user"], at=int(time.time()) - 10 * 3600 - 1)
    assert api.get("/api/v1/auth/me").status_code == 401
    assert api.get("/").headers["Location"].startswith("/login")
