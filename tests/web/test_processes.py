"""流程管理: centre staff see each business's diagram versions; analysts deploy a changed
diagram as the next version through the same checks as `hpf deploy`, and a refused file
changes nothing. Applications already running finish on their own version."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import func, select

from engine.models import ProcessDefinition
from services.db import db
from services.models import Staff
from tests.conftest import make_app

from .test_login import centre_login, form_token

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = (ROOT / "bpmn-diagrams" / "base_adjustment.bpmn").read_bytes()
RENAMED = ORIGINAL.replace('<bpmn:userTask id="review" name="中心审核">'.encode(),
                           '<bpmn:userTask id="review" name="中心复核">'.encode())
ESCAPE = ORIGINAL.replace(b'decision == "approve"', b'().__class__.__bases__[0].__subclasses__()')
API = "/api/v1/processes"


def upload(api, content: bytes, name: str = "base_adjustment.bpmn"):
    return api.client.post(API, data={"file": (io.BytesIO(content), name)},
                           headers={"X-CSRF-Token": api.csrf()},
                           content_type="multipart/form-data")


def analyst_name(app, demo) -> str:
    with app.app_context():
        return db.session.execute(select(Staff.name).where(
            Staff.login_name == demo["analysts"][0]["login_name"])).scalar_one()


def versions(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(ProcessDefinition).where(
            ProcessDefinition.key == "base_adjustment")).scalar_one()


def test_an_analyst_deploys_a_changed_diagram_as_the_next_version(app, make_api):
    running = make_api().login_operator()
    started = running.post(f"{API}/base_adjustment/instances", {"data": {}}).json
    api = make_api().login_analyst()

    response = upload(api, RENAMED)

    assert response.status_code == 201, response.json
    assert response.json == {"key": "base_adjustment", "version": 2, "changed": True}
    listed = api.get(f"{API}/base_adjustment/versions").json["items"]
    assert [(v["version"], v["running"]) for v in listed] == [(2, 0), (1, 1)]
    assert listed[0]["deployed_by"] == analyst_name(app, api.demo)
    v2 = api.get(f"{API}/base_adjustment/versions/2").json
    assert "中心复核" in v2["bpmn_xml"]
    # The application started before still runs on version 1.
    detail = running.get(f"/api/v1/instances/{started['instance_id']}").json
    assert detail["version"] == 1


def test_the_same_file_again_makes_no_new_version(make_api):
    api = make_api().login_analyst()
    response = upload(api, ORIGINAL)
    assert response.status_code == 200
    assert response.json == {"key": "base_adjustment", "version": 1, "changed": False}


def test_a_diagram_the_sandbox_refuses_is_not_deployed_and_says_why(app, make_api):
    api = make_api().login_analyst()
    before = versions(app)

    response = upload(api, ESCAPE)

    assert response.status_code == 422
    assert response.json["errors"]["file"] == [
        "元素 Flow_approve 的条件被拒绝：脚本中不允许访问属性 __subclasses__（第 1 行）"]
    assert versions(app) == before


def test_the_business_is_named_by_the_process_id_inside_not_the_file_name(make_api):
    api = make_api().login_analyst()
    response = upload(api, RENAMED, "基数调整（修改稿）.bpmn")
    assert response.status_code == 201 and response.json["key"] == "base_adjustment"
    unknown = upload(api, ORIGINAL.replace(b'id="base_adjustment"', b'id="lottery"'))
    assert unknown.status_code == 422
    assert unknown.json["errors"]["file"] == ["流程标识 lottery 不是大厅已有的业务"]


def test_only_bpmn_files_are_taken(make_api):
    response = upload(make_api().login_analyst(), b"PK\x03\x04 not a diagram", "adjust.xlsx")
    assert response.status_code == 422
    assert response.json["errors"] == {"file": ["文件须为 .bpmn 格式"]}


def test_only_analysts_deploy_and_only_centre_staff_see_versions(app, make_api):
    reviewer = make_api().login_reviewer()
    assert upload(reviewer, RENAMED).status_code == 403
    assert reviewer.get(f"{API}/base_adjustment/versions").status_code == 200
    operator = make_api().login_operator()
    assert upload(operator, RENAMED).status_code == 403
    assert operator.get(f"{API}/base_adjustment/versions").status_code == 403
    assert operator.get(f"{API}/base_adjustment/versions/1").status_code == 403
    assert versions(app) == 1


def test_deploying_needs_the_csrf_token(app, make_api):
    api = make_api().login_analyst()
    response = api.client.post(API, data={"file": (io.BytesIO(RENAMED), "base_adjustment.bpmn")},
                               content_type="multipart/form-data")
    assert response.status_code in (400, 403)
    assert versions(app) == 1


# -- the pages ----------------------------------------------------------------------------------


def analyst_client(app, demo):
    client = app.test_client()
    response = centre_login(client, demo["analysts"][0])
    assert response.status_code == 302 and response.location.endswith("/centre/processes")
    return client


def test_an_analyst_lands_on_the_process_page_and_deploys_from_it(app, demo):
    client = analyst_client(app, demo)
    page = client.get("/centre/processes").text
    assert "流程管理" in page and "基数调整" in page and "v1" in page and 'id="deploy-form"' in page

    response = client.post("/centre/processes", data={
        "csrf_token": form_token(client, "/centre/processes"),
        "file": (io.BytesIO(RENAMED), "base_adjustment.bpmn")}, content_type="multipart/form-data")

    assert response.status_code == 302
    assert response.location.endswith("/centre/processes/base_adjustment/v2")
    version_page = client.get(response.location).text
    assert "已部署为 v2" in version_page
    assert re.search(r'data-src="/api/v1/processes/base_adjustment/versions/2"', version_page)
    assert "v1" in version_page  # the version history lists the earlier one


def test_a_refused_upload_shows_every_reason_on_the_page(app, demo):
    client = analyst_client(app, demo)
    response = client.post("/centre/processes", data={
        "csrf_token": form_token(client, "/centre/processes"),
        "file": (io.BytesIO(ESCAPE), "base_adjustment.bpmn")}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "流程图未部署" in response.text and 'id="deploy-errors"' in response.text
    assert versions(app) == 1


def test_reviewers_see_versions_but_no_deploy_form(app, demo):
    client = app.test_client()
    centre_login(client, demo["reviewers"][0])
    page = client.get("/centre/processes").text
    assert "基数调整" in page and 'id="deploy-form"' not in page
    assert client.post("/centre/processes", data={
        "csrf_token": form_token(client, "/centre/processes")}).status_code == 403


def test_a_restart_does_not_undo_what_an_analyst_deployed(app, make_api, tmp_path):
    assert upload(make_api().login_analyst(), RENAMED).status_code == 201
    restarted = make_app(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, DEPLOY_ON_START=True)
    with restarted.app_context():
        newest = db.session.execute(select(ProcessDefinition).where(
            ProcessDefinition.key == "base_adjustment")
            .order_by(ProcessDefinition.version.desc())).scalars().first()
        assert (newest.version, "中心复核" in newest.bpmn_xml) == (2, True)
        db.engine.dispose()
    assert versions(app) == 2
