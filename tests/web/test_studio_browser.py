"""流程设计 in a real browser (Debian's Chromium through Playwright).

The analyst adds a second review to 基数调整 through the modeler's own UI: the space tool
makes room, two gateways and a task are dropped from the palette onto the approval flow
(which splits it), the task becomes a user task through the context pad's replace menu,
shapes are dragged, flows drawn with the context pad's connect, and the name, form, default
flows and conditions are set in the properties panel (a refused condition shows the
sandbox's reason as it is typed). Then 校验, 比较, 试运行 against recorded applications,
部署, and 迁移 of one of two applications started before the deploy, all in the browser.

Scripted rather than clicked: the recorded and running applications are made through the
JSON API (as in tests/business); where to click is computed from the rendered SVG (shape
boxes, a point on a flow's path); the ids bpmn-js gave the new elements are read from the
modeler's element registry. After the deploy, the applications are driven through the API:
a new one above the threshold passes two reviews, one below passes one, the one started
before the deploy finishes with one, the migrated one needs two.

Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from processes.events import MESSAGES
from tests.broken_diagrams import BROKEN
from tests.business.helpers import decide, submitted_adjustment

from .browser import new_page, shot, staff_login

pytestmark = pytest.mark.browser
CORPUS = Path("/work/shared/corpus/bpmn")
CONDITION = 'Decimal(manifest_summary["difference"]) > Decimal("1000")'


def box(page: Page, element_id: str) -> dict:
    return page.locator(f'.djs-element[data-element-id="{element_id}"]').bounding_box()


def inside(b: dict) -> tuple[float, float]:
    """A point inside a shape, off the centre lines where its flows attach."""
    return b["x"] + b["width"] * 0.6, b["y"] + b["height"] * 0.3


def on_flow(page: Page, flow_id: str, at: float = 0.5) -> tuple[float, float]:
    """A point on a flow's drawn path, in page coordinates."""
    return tuple(page.evaluate("""([id, at]) => {
        const path = document.querySelector(`.djs-element[data-element-id="${id}"] .djs-visual > path`);
        const point = path.getPointAtLength(path.getTotalLength() * at);
        const m = path.getScreenCTM();
        return [m.a * point.x + m.c * point.y + m.e, m.b * point.x + m.d * point.y + m.f];
    }""", [flow_id, at]))


def slow_drag(page: Page, start, end, steps: int = 25) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(start[0] + (end[0] - start[0]) * i / steps,
                        start[1] + (end[1] - start[1]) * i / steps)
        page.wait_for_timeout(15)
    page.mouse.up()


def selected(page: Page) -> list[str]:
    return page.evaluate("() => window.hallStudio.modeler.get('selection').get().map(e => e.id)")


def deselect(page: Page) -> None:
    """Click empty canvas, so no context pad covers where the next action points. The
    modeler swallows the first click after a drag, so this clicks until nothing is selected."""
    canvas = page.locator("#canvas").bounding_box()
    for _ in range(3):
        page.mouse.click(canvas["x"] + canvas["width"] - 60, canvas["y"] + 40)
        if not selected(page):
            return
        page.wait_for_timeout(100)


def select(page: Page, element_id: str, point=None) -> None:
    deselect(page)
    for _ in range(3):
        page.mouse.click(*(point or inside(box(page, element_id))))
        if selected(page) == [element_id]:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"could not select {element_id}: {selected(page)}")


def new_id(page: Page) -> str:
    [element_id] = selected(page)
    return element_id


def drop_on_flow(page: Page, palette_action: str, flow_id: str, at: float) -> str:
    """Create a shape from the palette and drop it on a flow, which splits the flow."""
    deselect(page)
    point = on_flow(page, flow_id, at)
    page.click(f'.djs-palette [data-action="{palette_action}"]')
    page.mouse.move(point[0] - 40, point[1] - 40)
    page.mouse.move(*point, steps=10)
    page.mouse.down()
    page.mouse.up()
    return new_id(page)


def connect(page: Page, source: str, target: str) -> str:
    select(page, source)
    page.click('.djs-context-pad [data-action="connect"]')
    b = box(page, target)
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=10)
    page.mouse.down()
    page.mouse.up()
    return new_id(page)


def flow_between(page: Page, source: str, target: str) -> str:
    return page.evaluate("""([s, t]) => window.hallStudio.modeler.get('elementRegistry')
        .find(e => e.type === 'bpmn:SequenceFlow' && e.businessObject.sourceRef.id === s
              && e.businessObject.targetRef.id === t).id""", [source, target])


def general(page: Page) -> None:
    header = page.locator('#properties [data-group-id="group-general"] .bio-properties-panel-group-header')
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def set_condition(page: Page, flow_id: str, text: str, at: float = 0.5) -> None:
    select(page, flow_id, on_flow(page, flow_id, at))
    page.fill("#bio-properties-panel-hall-condition", text)
    expect(page.locator('[data-entry-id="hall-condition"] [data-check="ok"]')).to_be_visible()


def set_default(page: Page, gateway: str, target_name: str) -> None:
    select(page, gateway)
    options = page.locator("#bio-properties-panel-hall-default option", has_text=f"→ {target_name}")
    page.select_option("#bio-properties-panel-hall-default", options.first.get_attribute("value"))


def model_second_review(page: Page) -> dict:
    """The analyst's edit, through the modeler's UI. Returns the new elements' ids."""
    gateway = box(page, "Gateway_decision")
    page.click('.djs-palette [data-action="space-tool"]')
    y = gateway["y"] + gateway["height"] + 30
    x = gateway["x"] + gateway["width"] + 25
    slow_drag(page, (x, y), (x + 330, y))
    page.click("#fit")
    amount = drop_on_flow(page, "create.exclusive-gateway", "Flow_approve", 0.25)
    review = drop_on_flow(page, "create.task", flow_between(page, amount, "apply"), 0.5)
    second = drop_on_flow(page, "create.exclusive-gateway", flow_between(page, review, "apply"), 0.5)
    select(page, review)
    page.click('.djs-context-pad [data-action="replace"]')
    page.click('.djs-popup [data-id="replace-with-user-task"]')
    review = new_id(page)  # replacing makes a new element
    for element_id in (review, second):  # above the main line, which the small changes keep
        deselect(page)
        start = inside(box(page, element_id))
        slow_drag(page, start, (start[0], start[1] - 55))
    connect(page, amount, "apply")
    connect(page, second, "notify_rejected")

    select(page, review)
    general(page)
    page.fill("#bio-properties-panel-name", "中心复核")
    page.select_option("#bio-properties-panel-hall-form", "review")
    expect(page.locator("#bio-properties-panel-hall-lane")).to_have_value("centre_reviewer")
    select(page, amount)
    general(page)
    page.fill("#bio-properties-panel-name", "月缴存额变动")
    set_default(page, amount, "新基数生效")
    big = flow_between(page, amount, review)
    select(page, big, on_flow(page, big, 0.5))
    page.fill("#bio-properties-panel-hall-condition", '__import__("os").system("id")')
    refused = page.locator('[data-entry-id="hall-condition"]')
    expect(refused.locator('[data-check="refused"]')).to_be_visible()
    expect(refused.locator(".bio-properties-panel-error")).to_contain_text("__import__")
    set_condition(page, big, CONDITION)
    set_default(page, second, "通知单位：已退回")
    # where this flow meets the main line it runs along the small changes' flow: pick it
    # on its first stretch, down from the gateway
    set_condition(page, flow_between(page, second, "apply"), 'decision == "approve"', at=0.15)
    return {"amount": amount, "review": review, "second": second, "big": big}


@pytest.fixture
def recorded(make_api):
    """Two finished applications of the first unit (a big change, a small one) and two
    running ones, one per unit, each waiting at the first review."""
    first, second = make_api().login_operator(0), make_api().login_operator(1)
    reviewer = make_api().login_reviewer()
    big = submitted_adjustment(first, Decimal("1500"))
    decide(reviewer, big)
    small = submitted_adjustment(first, Decimal("200"), person=1)
    decide(reviewer, small)
    stays = submitted_adjustment(first, Decimal("1500"), person=2)
    moves = submitted_adjustment(second, Decimal("1500"))
    return {"big": big, "small": small, "stays": stays, "moves": moves,
            "first": first, "reviewer": reviewer}


def test_an_analyst_adds_a_second_review_dry_runs_deploys_and_migrates(browser, live, demo,
                                                                        recorded):
    page = new_page(browser, 1600, 1000)
    staff_login(page, live, demo["analysts"][0], "流程管理")
    page.click('a[href$="/centre/processes/base_adjustment/studio"]')
    expect(page.locator("#studio[data-ready=true]")).to_be_attached()
    ids = model_second_review(page)

    page.click("#validate")
    expect(page.locator("#validate-ok")).to_be_visible()
    page.click("#compare")
    added = page.locator("#compare-added")
    expect(added).to_contain_text("中心复核")
    expect(page.locator(f'.djs-element[data-element-id="{ids["review"]}"]')).to_have_class(
        "djs-element djs-shape studio-added")
    expect(page.locator("#compare-changed")).to_contain_text("终点：apply → " + ids["amount"])

    page.click("#dry-run")
    table = page.locator("#dryrun-table")
    expect(table).to_be_visible()
    expect(page.locator("#dryrun-summary")).to_contain_text("路径相同 1 笔，路径不同 1 笔，运行失败 0 笔")
    big_row = table.locator(f'tr[data-instance="{recorded["big"]}"]')
    expect(big_row).to_have_attribute("data-result", "different")
    expect(big_row).to_contain_text("中心复核")
    expect(table.locator(f'tr[data-instance="{recorded["small"]}"]')).to_have_attribute(
        "data-result", "same")
    shot(page, "studio-dry-run")

    page.click("#deploy")
    page.click("#deploy-confirm")
    expect(page.locator("#studio-message")).to_contain_text("已部署为 v2")

    # 迁移: of the two applications waiting on v1, move the second unit's
    page.goto(f"{live}/centre/processes/base_adjustment/v1")
    page.click("#open-migration")
    expect(page.locator("#migration[data-ready=true]")).to_be_attached()
    rows = page.locator("#migration-list tbody tr")
    expect(rows).to_have_count(2)
    page.check("#select-all")
    page.click("#preview")
    expect(rows.nth(0).locator(".verdict")).to_contain_text("可迁移到 v2")
    page.uncheck(f'#migration-list input[value="{recorded["stays"]}"]')
    expect(page.locator("#migrate")).to_be_disabled()  # a new choice needs a new preview
    page.click("#preview")
    expect(page.locator("#migration-message")).to_contain_text("预览完成：1 笔可迁移")
    page.click("#migrate")
    page.click("#migrate-confirm")
    expect(page.locator("#migration-message")).to_contain_text("已迁移 1 笔申请")
    moved_row = page.locator(f'#migration-list tr[data-instance="{recorded["moves"]}"]')
    expect(moved_row.locator(".verdict")).to_contain_text("已迁移到 v2")
    shot(page, "studio-migration")

    # the deployed version at work, through the API
    first, reviewer = recorded["first"], recorded["reviewer"]
    assert decide(reviewer, recorded["stays"])["status"] == "completed"  # one review, on v1
    assert decide(reviewer, recorded["moves"])["tasks"][0]["title"] == "中心复核"
    assert decide(reviewer, recorded["moves"])["status"] == "completed"
    above = submitted_adjustment(first, Decimal("1500"))
    assert decide(reviewer, above)["tasks"][0]["title"] == "中心复核"
    assert decide(reviewer, above)["status"] == "completed"
    below = submitted_adjustment(first, Decimal("200"), person=1)
    assert decide(reviewer, below)["status"] == "completed"
    history = reviewer.get(f"/api/v1/instances/{recorded['moves']}/history").json["items"]
    assert any(e["type"] == "migrated" and e["actor"] == "张博文" for e in history)


def test_the_studio_refuses_each_broken_or_hostile_diagram(browser, live, demo, tmp_path):
    page = new_page(browser, 1600, 1000)
    staff_login(page, live, demo["analysts"][0], "流程管理")
    page.goto(f"{live}/centre/processes/base_adjustment/studio")
    expect(page.locator("#studio[data-ready=true]")).to_be_attached()
    for name, broken in sorted(BROKEN.items()):
        path = tmp_path / f"{name}.bpmn"
        path.write_bytes(broken.xml)
        page.set_input_files("#open-file", str(path))
        message = page.locator("#studio-message")
        if broken.element_id is None:
            expect(message).to_contain_text(f"已拒绝打开 {name}.bpmn")
            expect(message).to_contain_text(broken.word)
            continue
        expect(message).to_contain_text(f"已打开本地文件 {name}.bpmn")
        problem = page.locator(f'#problems li[data-element="{broken.element_id}"]').first
        expect(problem).to_contain_text(broken.word)
        marked = page.locator(f'.djs-element.studio-problem[data-element-id="{broken.element_id}"]')
        expect(marked).to_be_attached()
    # a broken diagram is not deployed either
    page.set_input_files("#open-file", str(tmp_path / "unknown_handler.bpmn"))
    expect(page.locator("#studio-message")).to_contain_text("已打开本地文件")
    page.click("#deploy")
    page.click("#deploy-confirm")
    expect(page.locator("#studio-message")).to_contain_text("未部署")
    expect(page.locator('#problems li[data-element="apply"]')).to_contain_text(
        "base_adjustment.apply_twice")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared BPMN corpus not present")
def test_other_tools_diagrams_open_and_what_cannot_run_is_named(browser, live, demo):
    page = new_page(browser, 1600, 1000)
    staff_login(page, live, demo["analysts"][0], "流程管理")
    page.goto(f"{live}/centre/processes/base_adjustment/studio")
    expect(page.locator("#studio[data-ready=true]")).to_be_attached()
    message = page.locator("#studio-message")
    for path in sorted(CORPUS.glob("*.bpmn")):
        page.set_input_files("#open-file", str(path))
        if path.name == "spiff-arena__invoice.bpmn":  # the external-entity probe
            expect(message).to_contain_text("已拒绝打开")
            continue
        expect(message).to_contain_text(f"已打开本地文件 {path.name}")
        shapes = [m.decode() for m in re.findall(
            rb'<(?:\w+:)?BPMNShape [^>]*bpmnElement="([^"]+)"', path.read_bytes())]
        drawn = page.evaluate("""ids => ids.filter(id => document.querySelector(
            `#canvas .djs-element[data-element-id="${CSS.escape(id)}"]`)).length""", shapes)
        # A file whose layout names no element it holds (the Bonita export's ids were
        # renamed) opens with nothing to draw, and the studio says so.
        assert drawn > 0 or "建模器无法显示" in message.text_content(), path.name
    page.set_input_files("#open-file", str(CORPUS / "camunda-examples__order-handling.bpmn"))
    expect(page.locator("#problems")).to_contain_text("Cron")
    page.click("#deploy")
    page.click("#deploy-confirm")
    expect(message).to_contain_text("未部署")
    expect(page.locator("#problems")).to_contain_text("外部任务（camunda:type）")


def exported(page: Page) -> str:
    return page.evaluate("() => window.hallStudio.modeler.saveXML().then(r => r.xml)")


def test_the_properties_panel_reads_and_writes_what_the_engine_reads(browser, live, demo):
    """Messages, handlers and their parameters, timers and lane roles, each from the
    registered choices, written back as the engine reads them."""
    page = new_page(browser, 1600, 1000)
    staff_login(page, live, demo["analysts"][0], "流程管理")
    page.goto(f"{live}/centre/processes/base_adjustment/studio")
    expect(page.locator("#studio[data-ready=true]")).to_be_attached()
    diagrams = Path(__file__).resolve().parents[1] / "diagrams"

    page.set_input_files("#open-file", str(diagrams / "payment_arrival.bpmn"))
    expect(page.locator("#studio-message")).to_contain_text("已打开本地文件")
    select(page, "wait_payment")
    expect(page.locator("#bio-properties-panel-hall-message")).to_have_value("payment_arrived")
    # one option per message the hall delivers, and the empty choice
    expect(page.locator("#bio-properties-panel-hall-message option")).to_have_count(
        len(MESSAGES) + 1)
    page.fill("#bio-properties-panel-hall-message-variable", "paid")
    page.wait_for_function("() => window.hallStudio.modeler.saveXML().then(r => "
                           "r.xml.includes('<spiffworkflow:messageVariable>paid<'))")
    select(page, "notify_paid")
    expect(page.locator("#bio-properties-panel-hall-handler")).to_have_value("common.notify")
    expect(page.locator('[data-entry-id="hall-param-text"] [data-check="ok"]')).to_be_visible()
    page.select_option("#bio-properties-panel-hall-handler", "base_adjustment.apply")
    expect(page.locator('[data-entry-id="hall-param-text"]')).to_have_count(0)
    assert 'serviceTaskOperator id="base_adjustment.apply"' in exported(page)

    page.set_input_files("#open-file", str(diagrams / "timer_reminder.bpmn"))
    expect(page.locator("#studio-message")).to_contain_text("timer_reminder.bpmn")
    select(page, "overdue")
    expect(page.locator("#bio-properties-panel-hall-timer-kind")).to_have_value("timeDuration")
    timer = page.locator('[data-entry-id="hall-timer"]')
    page.fill("#bio-properties-panel-hall-timer", "PT2H")
    expect(timer.locator(".bio-properties-panel-error")).to_contain_text('"PT2H"')
    page.fill("#bio-properties-panel-hall-timer", '"PT2H"')
    expect(timer.locator('[data-check="ok"]')).to_be_visible()
    page.select_option("#bio-properties-panel-hall-timer-kind", "timeCycle")
    page.wait_for_function("() => window.hallStudio.modeler.saveXML().then(r => "
                           "r.xml.includes('\"PT2H\"</bpmn:timeCycle>'))")
    select(page, "employer", (lambda b: (b["x"] + 60, b["y"] + 8))(box(page, "employer")))
    expect(page.locator("#bio-properties-panel-hall-role")).to_have_value("employer")
