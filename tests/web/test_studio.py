"""流程设计 through the JSON API: centre staff look (catalog, sandbox checks, validation,
comparison, running applications); only analysts dry-run, deploy and migrate; units see
none of it; every POST needs the CSRF token; a refused diagram changes nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.broken_diagrams import BROKEN, ORIGINAL
from tests.business.helpers import decide, submitted_adjustment

ROOT = Path(__file__).resolve().parents[2]
TWO_REVIEWS = (ROOT / "tests" / "diagrams" / "base_adjustment_two_reviews.bpmn").read_text()
STUDIO = "/api/v1/studio"


def test_the_catalog_offers_what_the_code_registered(make_api):
    catalog = make_api().login_reviewer().get(f"{STUDIO}/catalog").json
    assert {"review", "base_adjustment.edit"} <= {f["key"] for f in catalog["forms"]}
    notify = next(h for h in catalog["handlers"] if h["name"] == "common.notify")
    assert notify["parameters"] == [{"name": "text", "required": True}]
    assert notify["summary"].startswith("Push a 消息")
    from engine.actors import ROLES
    from processes.events import MESSAGES
    assert [lane["key"] for lane in catalog["lanes"]] == list(ROLES)
    assert {"name": "payment_arrived", "label": "缴款到账"} in catalog["messages"]
    assert [m["name"] for m in catalog["messages"]] == list(MESSAGES)


@pytest.mark.parametrize(("kind", "text", "ok", "word"), [
    ("condition", 'Decimal(manifest_summary["difference"]) > Decimal("1000")', True, "可以执行"),
    ("condition", "().__class__.__bases__", False, "__bases__"),
    ("script", "import os", False, "Import"),
    ("timer", "PT1H", False, '"PT1H"'),
    ("parameter", "open('/etc/passwd')", False, "open"),
])
def test_a_snippet_is_checked_by_the_sandbox_as_typed(make_api, kind, text, ok, word):
    answer = make_api().login_reviewer().post(f"{STUDIO}/check", {"kind": kind, "text": text}).json
    assert answer["ok"] is ok and word in answer["message"]


def test_validation_names_elements_and_says_when_a_file_is_unreadable(make_api):
    api = make_api().login_analyst()
    good = api.post(f"{STUDIO}/base_adjustment/validate", {"bpmn_xml": TWO_REVIEWS}).json
    assert good == {"ok": True, "readable": True, "problems": []}
    form = BROKEN["unknown_form"]
    bad = api.post(f"{STUDIO}/base_adjustment/validate", {"bpmn_xml": form.xml.decode()}).json
    assert bad["readable"] and bad["problems"][0]["element_id"] == "review"
    hostile = BROKEN["external_entity"]
    refused = api.post(f"{STUDIO}/base_adjustment/validate", {"bpmn_xml": hostile.xml.decode()}).json
    assert refused["readable"] is False and "外部实体" in refused["problems"][0]["message"]


def test_comparing_with_a_deployed_version(make_api):
    api = make_api().login_reviewer()
    result = api.post(f"{STUDIO}/base_adjustment/compare",
                      {"version": 1, "bpmn_xml": TWO_REVIEWS}).json
    assert "second_review" in {a["id"] for a in result["added"]}
    same = api.post(f"{STUDIO}/base_adjustment/compare", {"version": 1, "other_version": 1}).json
    assert same == {"added": [], "removed": [], "changed": []}
    assert api.post(f"{STUDIO}/base_adjustment/compare", {"version": 9,
                                                          "bpmn_xml": TWO_REVIEWS}).status_code == 404


def test_an_analyst_dry_runs_deploys_and_migrates(app, make_api):
    operator, reviewer = make_api().login_operator(), make_api().login_reviewer()
    finished = submitted_adjustment(operator, Decimal("1500"))
    decide(reviewer, finished)
    running = submitted_adjustment(operator, Decimal("1500"), person=1)
    api = make_api().login_analyst()

    tried = api.post(f"{STUDIO}/base_adjustment/dry-run", {"bpmn_xml": TWO_REVIEWS, "limit": 5})
    assert tried.status_code == 200, tried.json
    assert tried.json["counts"] == {"same": 0, "different": 1, "failed": 0}
    assert tried.json["items"][0]["element_id"] == "second_review"

    deployed = api.post(f"{STUDIO}/base_adjustment/deploy", {"bpmn_xml": TWO_REVIEWS})
    assert deployed.status_code == 201 and deployed.json["version"] == 2
    listed = api.get(f"{STUDIO}/base_adjustment/versions/1/running").json["items"]
    assert [(i["instance_id"], [w["name"] for w in i["waiting"]]) for i in listed] == [
        (running, ["中心审核"])]
    preview = api.post(f"{STUDIO}/base_adjustment/migration/preview",
                       {"instance_ids": [running, finished]}).json["items"]
    assert [(p["movable"], p["reason"]) for p in preview] == [
        (True, "可迁移到 v2"), (False, "申请已办结或已结束，无需迁移")]
    moved = api.post(f"{STUDIO}/base_adjustment/migration", {"instance_ids": [running]}).json
    assert moved["items"][0]["migrated"] is True
    history = operator.get(f"/api/v1/instances/{running}/history").json["items"]
    assert history[-1]["type"] == "migrated" and history[-1]["type_name"] == "迁移流程版本"
    assert history[-1]["actor"] == "张博文" and history[-1]["opinion"] == "流程版本由 v1 迁移到 v2"
    assert operator.get(f"/api/v1/instances/{running}").json["version"] == 2


def test_a_refused_deploy_names_the_element_and_stores_nothing(make_api):
    api = make_api().login_analyst()
    broken = BROKEN["gateway_without_default"]
    response = api.post(f"{STUDIO}/base_adjustment/deploy", {"bpmn_xml": broken.xml.decode()})
    assert response.status_code == 422
    assert any("Gateway_decision" in r for r in response.json["errors"]["bpmn_xml"])
    assert [v["version"] for v in api.get("/api/v1/processes/base_adjustment/versions")
            .json["items"]] == [1]
    other = api.post(f"{STUDIO}/base_adjustment/deploy",
                     {"bpmn_xml": ORIGINAL.replace('id="base_adjustment"', 'id="lottery"')})
    assert other.status_code == 422 and "base_adjustment" in other.json["message"]


def test_only_analysts_act_and_units_see_nothing(make_api):
    reviewer = make_api().login_reviewer()
    body = {"bpmn_xml": TWO_REVIEWS}
    for path in ("dry-run", "deploy"):
        response = reviewer.post(f"{STUDIO}/base_adjustment/{path}", body)
        assert response.status_code == 403 and "业务分析员" in response.json["message"]
    for path in ("migration/preview", "migration"):
        assert reviewer.post(f"{STUDIO}/base_adjustment/{path}",
                             {"instance_ids": [1]}).status_code == 403
    operator = make_api().login_operator()
    assert operator.get(f"{STUDIO}/catalog").status_code == 403
    assert operator.post(f"{STUDIO}/base_adjustment/validate", body).status_code == 403
    anonymous = make_api()
    assert anonymous.get(f"{STUDIO}/catalog").status_code == 401


def test_every_post_needs_the_csrf_token(make_api):
    api = make_api().login_analyst()
    response = api.client.post(f"{STUDIO}/base_adjustment/deploy", json={"bpmn_xml": TWO_REVIEWS})
    assert response.status_code == 400 and response.json["code"] == "csrf"
    assert api.client.post(f"{STUDIO}/check", json={"text": "1"}).status_code == 400


def test_bad_requests_get_field_errors(make_api):
    api = make_api().login_analyst()
    assert api.post(f"{STUDIO}/lottery/validate", {"bpmn_xml": TWO_REVIEWS}).status_code == 404
    empty = api.post(f"{STUDIO}/base_adjustment/validate", {"bpmn_xml": ""})
    assert empty.status_code == 422 and "bpmn_xml" in empty.json["errors"]
    many = api.post(f"{STUDIO}/base_adjustment/dry-run", {"bpmn_xml": TWO_REVIEWS, "limit": 1000})
    assert many.status_code == 422 and "limit" in many.json["errors"]
    none = api.post(f"{STUDIO}/base_adjustment/migration", {"instance_ids": []})
    assert none.status_code == 422 and "instance_ids" in none.json["errors"]


def test_the_pages_show_actions_by_role(make_api):
    analyst, reviewer = make_api().login_analyst(), make_api().login_reviewer()
    page = analyst.get("/centre/processes/base_adjustment/studio").get_data(as_text=True)
    assert 'id="deploy"' in page and 'id="dry-run"' in page and "流程设计 · 基数调整" in page
    seen = reviewer.get("/centre/processes/base_adjustment/studio?v=1").get_data(as_text=True)
    assert 'id="validate"' in seen and 'id="deploy"' not in seen and 'id="dry-run"' not in seen
    migration = reviewer.get("/centre/processes/base_adjustment/v1/migrate").get_data(as_text=True)
    assert "无需迁移" in migration and 'id="migrate"' not in migration
    assert reviewer.get("/centre/processes/lottery/studio").status_code == 404
    assert make_api().login_operator().get(
        "/centre/processes/base_adjustment/studio").status_code == 403
