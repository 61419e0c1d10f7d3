"""HTML pages without a browser: CSRF on every state-changing form, 消息 read state, the
【更多】 lists with filters, and what another unit's pages answer."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import update

from engine.models import HumanTask, ProcessInstance
from services.db import db

from .test_login import centre_login, form_token, login

POST_FORM = re.compile(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", re.S | re.I)


def test_every_post_form_carries_the_csrf_token(app, demo, make_api):
    api = make_api().login_operator()
    instance = api.post("/api/v1/processes/base_adjustment/instances", {"data": {}}).json
    client = app.test_client()
    login(client, demo)
    pages = ["/", "/password", "/messages", "/tasks?list=todo",
             f"/tasks/{instance['tasks'][0]['task_id']}", f"/instances/{instance['instance_id']}"]
    checked = 0
    for url in pages:
        html = client.get(url).text
        for body in POST_FORM.findall(html):
            assert 'name="csrf_token"' in body, (url, body[:200])
            checked += 1
    assert checked >= 5


def test_opening_a_message_shows_its_details_and_marks_it_read(app, demo):
    client = app.test_client()
    login(client, demo)
    home = client.get("/").text
    message_url = re.search(r'href="(/messages/\d+)"', home).group(1)
    assert "未读" in home

    def badge() -> int:  # home's unread count, beside every unread message the list counts
        shown = re.search(r'id="unread-count">(\d+)<', client.get("/").text)
        unread = client.get("/api/v1/messages?unread=1&per_page=200").json
        assert len(unread["items"]) == unread["total"]
        assert (int(shown.group(1)) if shown else 0) == unread["total"]
        return unread["total"]

    before = badge()
    assert before >= 1
    page = client.get(message_url).text
    for label in ("业务名称", "消息内容", "时间", "推送渠道", "网上业务大厅"):
        assert label in page
    # opening it (a GET, which a link from another site can make) changes nothing; the
    # page marks it read by a POST carrying the CSRF token
    assert 'badge--bad">未读' in client.get("/messages").text
    assert client.post(f"{message_url}/read").status_code == 400
    read = client.post(f"{message_url}/read", data={"csrf_token": form_token(client, "/")})
    assert read.status_code == 302
    assert badge() == before - 1


def test_more_lists_filter_by_business_and_date(app, demo, make_api):
    api = make_api().login_operator()
    api.post("/api/v1/processes/base_adjustment/instances", {"data": {}})
    client = app.test_client()
    login(client, demo)
    page = client.get("/tasks?list=initiated&process_key=base_adjustment").text
    assert "基数调整" in page and "共 1 条" in page
    empty = client.get("/tasks?list=initiated&since=2000-01-01&until=2000-01-31").text
    assert "没有符合条件的记录" in empty
    garbage = client.get("/tasks?list=initiated&since=2026-13-45").text  # said, not ignored
    assert "开始日期格式应为 YYYY-MM-DD，已忽略该条件" in garbage and "共 1 条" in garbage


def test_another_units_application_pages_are_not_found(app, demo, make_api):
    api = make_api().login_operator(unit=0)
    instance = api.post("/api/v1/processes/base_adjustment/instances", {"data": {}}).json
    client = app.test_client()
    login(client, demo, unit=1)
    assert client.get(f"/instances/{instance['instance_id']}").status_code == 404
    assert client.get(f"/tasks/{instance['tasks'][0]['task_id']}").status_code == 404
    response = client.post(f"/instances/{instance['instance_id']}/terminate",
                           data={"csrf_token": form_token(client, "/")})
    assert response.status_code == 404


def test_the_openapi_document_and_swagger_ui_are_served(app):
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/tasks", "/api/v1/tasks/{task_id}/complete",
                 "/api/v1/instances/{instance_id}/diagram", "/api/v1/units/me",
                 "/api/v1/instances/{instance_id}/manifest/import", "/api/v1/auth/login"):
        assert path in spec["paths"], path
    docs = client.get("/api/v1/docs").text
    assert "/static/vendor/swagger-ui/" in docs


def test_date_filters_mean_the_beijing_dates_shown(app, make_api):
    """An application started at 01:30 Beijing time (17:30 UTC the day before) is listed
    under the date the unit sees on it."""
    api = make_api().login_operator()
    started = api.post("/api/v1/processes/base_adjustment/instances", {"data": {}}).json
    moment = datetime(2026, 11, 27, 17, 30)
    with app.app_context():
        db.session.execute(update(ProcessInstance).values(created_at=moment)
                           .where(ProcessInstance.id == started["instance_id"]))
        db.session.execute(update(HumanTask).values(created_at=moment)
                           .where(HumanTask.instance_id == started["instance_id"]))
        db.session.commit()
    for which in ("initiated", "todo"):
        shown = api.get(f"/api/v1/tasks?list={which}&since=2026-11-28&until=2026-11-28").json
        assert shown["total"] == 1, which
        assert shown["items"][0]["created_at"].startswith("2026-11-28T01:30"), which
        assert api.get(f"/api/v1/tasks?list={which}&since=2026-11-27&until=2026-11-27"
                       ).json["total"] == 0, which


def test_a_refused_entry_keeps_what_was_typed_and_the_page_links_still_work(app, demo, make_api):
    api = make_api().login_operator()
    started = api.post("/api/v1/processes/base_adjustment/instances", {"data": {}}).json
    instance_id, task_id = started["instance_id"], started["tasks"][0]["task_id"]
    people = api.get("/api/v1/persons?status=01&per_page=60").json["items"]
    for person in people[:51]:  # more than one page of 清册 (50 rows)
        assert api.post(f"/api/v1/instances/{instance_id}/manifest/rows", {
            "person_account": person["person_account"], "new_base": "6000"}).status_code == 201
    client = app.test_client()
    login(client, demo)
    account = people[55]["person_account"]

    response = client.post(f"/instances/{instance_id}/manifest/rows", data={
        "csrf_token": form_token(client, "/"), "task_id": task_id, "change_type": "base",
        "person_account": account, "new_base": "1000"})

    # redirect after POST: the address bar holds the task page, never the POST-only URL
    assert response.status_code == 303
    assert response.location.startswith(f"/tasks/{task_id}?notice=")
    page = client.get(response.location).text
    assert f'value="{account}"' in page and 'value="1000"' in page
    assert page.count("缴存基数调整区间") == 1  # beside the form, not repeated at the top
    assert f'href="/tasks/{task_id}?mpage=2#manifest"' in page  # not relative to the POST URL
    again = client.get(response.location)  # a reload shows the page, the note is used up
    assert again.status_code == 200 and "缴存基数调整区间" not in again.text
    assert client.get(f"/instances/{instance_id}/manifest/rows").status_code == 405
    other = make_api().login_operator(operator=1)
    assert other.get(response.location).status_code == 200  # another login cannot read the note


def test_opening_a_tile_changes_nothing_until_the_operator_starts(app, demo):
    client = app.test_client()
    login(client, demo)
    page = client.get("/business/base_adjustment")
    assert page.status_code == 200 and "发起基数调整申请" in page.text
    assert client.get("/business/base_adjustment").status_code == 200  # still nothing started
    with app.app_context():
        assert db.session.query(ProcessInstance).count() == 0

    started = client.post("/business/base_adjustment",
                          data={"csrf_token": form_token(client, "/")})
    assert started.status_code == 302 and "/tasks/" in started.location
    again = client.get("/business/base_adjustment")  # the tile now continues it
    assert again.status_code == 302 and again.location == started.location
    assert client.post("/business/base_adjustment").status_code == 400  # no CSRF token
    with app.app_context():
        assert db.session.query(ProcessInstance).count() == 1


def test_reviewers_see_which_unit_applied(app, demo, make_api):
    operator = make_api().login_operator(unit=1)
    started = operator.post("/api/v1/processes/base_adjustment/instances", {"data": {}}).json
    person = operator.get("/api/v1/persons?status=01").json["items"][0]
    operator.post(f"/api/v1/instances/{started['instance_id']}/manifest/rows",
                  {"person_account": person["person_account"], "new_base": "6000"})
    assert operator.post(f"/api/v1/tasks/{started['tasks'][0]['task_id']}/complete",
                         {"data": {"remark": ""}}).status_code == 200
    reviewer = make_api().login_reviewer()
    queue = reviewer.get("/api/v1/tasks?list=group").json["items"]
    assert [(t["unit_name"], t["unit_account"]) for t in queue] == [
        (demo["units"][1]["name"], demo["units"][1]["unit_account"])]
    unit = demo["units"][1]
    detail = reviewer.get(f"/api/v1/instances/{started['instance_id']}")
    assert (detail.json["unit_name"], detail.json["unit_account"]) == (unit["name"],
                                                                       unit["unit_account"])
    client = app.test_client()
    centre_login(client, demo["reviewers"][0])
    page = client.get(f"/instances/{started['instance_id']}").text
    assert unit["name"] in page and unit["unit_account"] in page
    assert client.get("/centre?tab=nonsense").status_code == 200  # falls back to the queue



def test_centre_staff_see_only_applications_that_reached_them(app, demo, make_api):
    """An application still with its unit is not the centre's to read; an analyst (in no
    review group) reads no application data at all."""
    operator = make_api().login_operator()
    started = operator.post("/api/v1/processes/base_adjustment/instances", {"data": {}}).json
    instance_id = started["instance_id"]
    for staff in (make_api().login_reviewer(), make_api().login_analyst()):
        for url in (f"/api/v1/instances/{instance_id}", f"/api/v1/instances/{instance_id}/manifest",
                    f"/api/v1/instances/{instance_id}/history",
                    f"/api/v1/tasks/{started['tasks'][0]['task_id']}"):
            assert staff.get(url).status_code == 404, url


def test_analysts_land_on_process_management_not_the_review_desk(app, demo):
    client = app.test_client()
    centre_login(client, demo["analysts"][0])
    assert client.get("/").location.endswith("/centre/processes")
    assert client.get("/centre").location.endswith("/centre/processes")


def test_pages_and_api_answers_with_personal_data_are_never_cached(app, demo, make_api):
    client = app.test_client()
    login(client, demo)
    for url in ("/", "/queries/persons", "/api/v1/persons"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    assert "no-store" not in client.get("/static/hall.css").headers.get("Cache-Control", "")


def test_the_database_demo_logins_and_session_key_are_private_files(ctx, tmp_path, monkeypatch):
    import stat

    from services.demo import seed_demo
    from web import config

    monkeypatch.delenv("HPF_DATABASE_URL", raising=False)
    monkeypatch.delenv("HPF_SECRET_KEY", raising=False)
    config.database_url(tmp_path)
    config.secret_key(tmp_path)
    info = seed_demo(tmp_path, ca_dir=ctx.config["UKEY_CA_DIR"])  # writes demo.json, UKeys
    card_key = f"ukeys/{info['units'][0]['unit_account']}.pem"
    for name in ("hall.db", "secret_key", "demo.json", card_key):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


#: Every page, export and print that filters by a date range, and the API's lists.
DATED = ["/queries/persons?tab=changes", "/queries/status-changes", "/queries/unit?tab=changes",
         "/queries/persons/changes.xlsx", "/queries/status-changes.xlsx",
         "/queries/unit/changes.xlsx", "/documents/person_changes/me.pdf",
         "/documents/person_status_changes/me.pdf", "/documents/unit_changes/me.pdf",
         "/tasks?list=done", "/api/v1/tasks?list=done", "/api/v1/tasks?list=initiated"]


@pytest.mark.parametrize("edge", ["until=9999-12-31", "since=0001-01-01",
                                  "since=0001-01-01&until=9999-12-31"])
def test_a_date_at_the_calendars_edge_means_no_limit(app, make_api, edge):
    """“9999-12-31” is how people type “no end date”: the lists answer as without it."""
    api = make_api().login_operator()
    for url in DATED:
        joined = f"{url}{'&' if '?' in url else '?'}{edge}"
        answer = api.client.get(joined)
        assert answer.status_code == 200, (joined, answer.status_code)
        if url.startswith("/api/"):
            assert answer.json["total"] == api.client.get(url).json["total"], joined


def test_a_page_past_the_end_says_so_and_links_the_last(app, make_api):
    api = make_api().login_operator()
    page = api.client.get("/queries/persons?page=99").text
    assert "（第 99 页已超出）" in page and "最后一页" in page and "第 99/" not in page


def test_a_range_that_ends_before_it_starts_says_so(app, make_api):
    """Nothing can match it: the page says why the list is empty (it said nothing)."""
    api = make_api().login_operator()
    for url in ("/queries/unit?tab=ledger", "/queries/status-changes", "/tasks?list=done"):
        page = api.client.get(f"{url}&since=2026-12-01&until=2026-11-01" if "?" in url
                              else f"{url}?since=2026-12-01&until=2026-11-01").text
        assert "结束日期早于开始日期，没有符合条件的记录" in page, url
    account = api.client.get("/queries/unit?tab=account&since=2026-12-01&until=2026-11-01").text
    assert "结束日期早于开始日期" not in account  # 8.2 puts the range right and says so
