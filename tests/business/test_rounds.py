"""A returned application goes round again: each round's forms start empty, what was
submitted stays readable, and the trail tells the whole story (manual chapter 2)."""

from __future__ import annotations

API = "/api/v1"


def started_with_a_row(operator) -> tuple[int, str]:
    started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    person = operator.get(f"{API}/persons?status=01&per_page=1").json["items"][0]
    assert operator.post(f"{API}/instances/{started['instance_id']}/manifest/rows", {
        "person_account": person["person_account"], "new_base": "6000"}).status_code == 201
    return started["instance_id"], started["tasks"][0]["task_id"]


def review_task(reviewer, instance_id: int) -> str:
    queue = reviewer.get(f"{API}/tasks?list=group").json["items"]
    task_id = next(t["task_id"] for t in queue if t["instance_id"] == instance_id)
    assert reviewer.post(f"{API}/tasks/{task_id}/claim").status_code == 200
    return task_id


def employer_task(operator, instance_id: int) -> str:
    todo = operator.get(f"{API}/tasks?list=todo").json["items"]
    return next(t["task_id"] for t in todo if t["instance_id"] == instance_id)


def test_a_second_review_round_starts_without_the_first_rounds_decision(make_api):
    operator = make_api().login_operator()
    first_reviewer = make_api().login_reviewer(0)
    second_reviewer = make_api().login_reviewer(1)
    instance_id, task_id = started_with_a_row(operator)
    assert operator.post(f"{API}/tasks/{task_id}/complete",
                         {"data": {"remark": "第一次提交"}}).status_code == 200
    first = review_task(first_reviewer, instance_id)
    assert first_reviewer.post(f"{API}/tasks/{first}/complete", {"data": {
        "decision": "reject", "opinion": "基数与工资表不符。"}}).status_code == 200

    again = employer_task(operator, instance_id)
    assert operator.get(f"{API}/tasks/{again}").json["values"]["remark"] is None
    assert operator.post(f"{API}/tasks/{again}/complete",
                         {"data": {"remark": "已核实"}}).status_code == 200

    second = review_task(second_reviewer, instance_id)
    values = second_reviewer.get(f"{API}/tasks/{second}").json["values"]
    assert values == {"decision": None, "opinion": None}
    # approving with no opinion records no opinion, not the earlier rejection's
    assert second_reviewer.post(f"{API}/tasks/{second}/complete",
                                {"data": {"decision": "approve"}}).status_code == 200
    trail = operator.get(f"{API}/instances/{instance_id}/trail").json["items"]
    assert [(t["decision"], t["opinion"]) for t in trail] == [
        (None, "第一次提交"), ("reject", "基数与工资表不符。"), (None, "已核实"), ("approve", None)]
    chart = operator.get(f"{API}/instances/{instance_id}/diagram").json
    assert [d["opinion"] for d in chart["details"]["review"] if d["type"] == "办理"] == [
        "基数与工资表不符。", None]
    # the return message does not end the quoted opinion with a second full stop
    returned = next(m["content"] for m in operator.get(f"{API}/messages").json["items"]
                    if "退回" in m["content"])
    assert "基数与工资表不符。请在待办中修改" in returned and "。。" not in returned


def test_a_submitted_task_shows_what_was_submitted(make_api):
    operator = make_api().login_operator()
    _, task_id = started_with_a_row(operator)
    assert operator.post(f"{API}/tasks/{task_id}/complete",
                         {"data": {"remark": "七月调整"}}).status_code == 200
    done = operator.get(f"{API}/tasks/{task_id}").json
    assert done["state"] == "completed"
    assert done["values"]["remark"] == "七月调整"
    assert done["values"]["unit_name"] == "示范市星河信息科技有限公司"
    page = operator.client.get(f"/tasks/{task_id}").text
    assert "七月调整" in page and 'value="示范市星河信息科技有限公司"' in page


def test_the_reason_for_ending_an_application_is_in_its_trail(make_api):
    operator = make_api().login_operator()
    instance_id, _ = started_with_a_row(operator)
    assert operator.post(f"{API}/instances/{instance_id}/terminate",
                         {"reason": "录错了，重新申请"}).status_code == 200
    trail = operator.get(f"{API}/instances/{instance_id}/trail").json["items"]
    assert trail[-1]["title"] == "结束流程" and trail[-1]["opinion"] == "录错了，重新申请"
    page = operator.client.get(f"/instances/{instance_id}").text
    assert "录错了，重新申请" in page and "已结束" in page


def test_the_manifest_numbers_rows_in_order_after_a_delete(make_api):
    operator = make_api().login_operator()
    started = operator.post(f"{API}/processes/base_adjustment/instances", {"data": {}}).json
    instance_id = started["instance_id"]
    people = operator.get(f"{API}/persons?status=01&per_page=3").json["items"]
    for person in people:
        operator.post(f"{API}/instances/{instance_id}/manifest/rows",
                      {"person_account": person["person_account"], "new_base": "6000"})
    rows = operator.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    assert operator.delete(f"{API}/instances/{instance_id}/manifest/rows/"
                           f"{rows[0]['row_id']}").status_code == 200
    after = operator.get(f"{API}/instances/{instance_id}/manifest").json["items"]
    assert [r["seq"] for r in after] == [1, 2]
    assert [r["person_account"] for r in after] == [p["person_account"] for p in people[1:]]
