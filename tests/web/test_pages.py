"""HTML pages without a browser: CSRF on every state-changing form, 消息 read state, the
【更多】 lists with filters, and what another unit's pages answer."""

from __future__ import annotations

import re

from .test_login import form_token, login

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
    page = client.get(message_url).text
    for label in ("业务名称", "消息内容", "时间", "推送渠道", "网上业务大厅"):
        assert label in page
    assert 'badge--bad">未读' not in client.get("/messages").text


def test_more_lists_filter_by_business_and_date(app, demo, make_api):
    api = make_api().login_operator()
    api.post("/api/v1/processes/base_adjustment/instances", {"data": {}})
    client = app.test_client()
    login(client, demo)
    page = client.get("/tasks?list=initiated&process_key=base_adjustment").text
    assert "基数调整" in page and "共 1 条" in page
    empty = client.get("/tasks?list=initiated&since=2000-01-01&until=2000-01-31").text
    assert "没有符合条件的记录" in empty


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
