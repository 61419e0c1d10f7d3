/* 迁移申请: the applications still on an old version, a preview of which can move to the
   latest version (and why not), and the move of the movable ones in one action. */
(function () {
  "use strict";
  var root = document.getElementById("migration");
  if (!root || !document.getElementById("migration-list")) return;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var body = document.querySelector("#migration-list tbody");
  var note = document.getElementById("migration-message");
  var movable = [];

  function post(url, data) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(data)}).then(function (r) {
      return r.json().then(function (json) { return {ok: r.ok, data: json}; });
    });
  }

  function say(text, kind) {
    note.className = "notice notice--" + kind;
    note.textContent = text;
    note.hidden = !text;
  }

  function cell(label, text) {
    var td = document.createElement("td");
    td.dataset.label = label;
    td.textContent = text;
    return td;
  }

  function load() {
    return fetch(root.dataset.running, {credentials: "same-origin"}).then(function (r) { return r.json(); })
      .then(function (data) {
        body.innerHTML = "";
        if (!data.items.length) {
          var empty = document.createElement("tr");
          empty.appendChild(cell("", "该版本上没有进行中的申请"));
          empty.firstChild.colSpan = 5;
          body.appendChild(empty);
        }
        data.items.forEach(function (item) {
          var tr = document.createElement("tr");
          tr.dataset.instance = item.instance_id;
          var pick = document.createElement("td");
          var box = document.createElement("input");
          box.type = "checkbox";
          box.value = item.instance_id;
          box.setAttribute("aria-label", "选择申请 #" + item.instance_id);
          pick.appendChild(box);
          tr.appendChild(pick);
          tr.appendChild(cell("申请号", "#" + item.instance_id));
          tr.appendChild(cell("发起时间", (item.created_at || "").replace("T", " ").slice(0, 16)));
          tr.appendChild(cell("所在环节", item.waiting.map(function (w) { return w.name; }).join("、") || "—"));
          var verdict = cell("能否迁移", "未预览");
          verdict.className = "verdict";
          tr.appendChild(verdict);
          body.appendChild(tr);
        });
        root.dataset.ready = "true";
      });
  }

  function chosen() {
    return Array.prototype.map.call(body.querySelectorAll("input:checked"), function (box) { return Number(box.value); });
  }

  function show(items) {
    items.forEach(function (item) {
      var row = body.querySelector('tr[data-instance="' + item.instance_id + '"]');
      if (!row) return;
      var verdict = row.querySelector(".verdict");
      verdict.textContent = (item.migrated ? "已迁移：" : item.movable ? "可迁移：" : "不能迁移：") + item.reason;
      verdict.className = "verdict " + (item.migrated || item.movable ? "result-same" : "result-failed");
    });
  }

  document.getElementById("select-all").addEventListener("change", function (e) {
    body.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = e.target.checked; });
  });
  if (root.dataset.canMigrate !== "1") { load(); return; }
  var migrateButton = document.getElementById("migrate");
  // A preview answers for the applications chosen then: choosing again asks for a new one.
  root.addEventListener("change", function (e) {
    if (e.target.type !== "checkbox") return;
    movable = [];
    migrateButton.disabled = true;
  });
  document.getElementById("preview").addEventListener("click", function () {
    var ids = chosen();
    if (!ids.length) { say("请先勾选要迁移的申请", "error"); return; }
    post(root.dataset.preview, {instance_ids: ids}).then(function (r) {
      if (!r.ok) { say(r.data.message, "error"); return; }
      show(r.data.items);
      movable = r.data.items.filter(function (i) { return i.movable; }).map(function (i) { return i.instance_id; });
      migrateButton.disabled = !movable.length;
      say("预览完成：" + movable.length + " 笔可迁移，" + (r.data.items.length - movable.length) + " 笔不能迁移（原因见列表）。", "info");
    });
  });
  migrateButton.addEventListener("click", function () {
    document.getElementById("migrate-text").textContent = "将 " + movable.length + " 笔申请迁移到最新版本？迁移后按新版本办理，并记入各申请的流程历史。";
    document.getElementById("migrate-dialog").showModal();
  });
  document.getElementById("migrate-confirm").addEventListener("click", function () {
    document.getElementById("migrate-dialog").close();
    post(root.dataset.migrate, {instance_ids: movable}).then(function (r) {
      if (!r.ok) { say(r.data.message, "error"); return; }
      var done = r.data.items.filter(function (i) { return i.migrated; }).length;
      say("已迁移 " + done + " 笔申请；" + (r.data.items.length - done ? (r.data.items.length - done) + " 笔未迁移（原因见列表）" : "全部完成"), "success");
      movable = [];
      migrateButton.disabled = true;
      show(r.data.items);
      body.querySelectorAll("input:checked").forEach(function (box) { box.checked = false; });
    });
  });
  load();
})();
