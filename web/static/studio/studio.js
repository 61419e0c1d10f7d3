/* 流程设计: the bpmn-js Modeler with the hall's properties panel (HallStudio, built from
   web/frontend/studio), and the studio's actions through /api/v1/studio: open a version or
   a local file, 校验, 比较, 试运行, 部署, 下载. Problems and differences are marked on
   the diagram; clicking one selects its element. */
(function () {
  "use strict";
  var root = document.getElementById("studio");
  if (!root || !window.BpmnJS || !window.HallStudio) return;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var key = root.dataset.key;
  var api = root.dataset.api;
  var message = document.getElementById("studio-message");
  var results = document.getElementById("results");
  var resultsBody = document.getElementById("results-body");
  var MARKS = ["studio-problem", "studio-added", "studio-changed", "studio-diverged"];
  var marked = [];
  var modeler, baseViewer;

  function request(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {status: response.status, ok: response.ok, data: data};
      });
    });
  }

  function say(text, kind) {
    message.className = "notice notice--" + (kind || "info");
    message.textContent = text;
    message.hidden = !text;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function versionUrl(template, number) {
    return template.replace(/\/v0(\/|$)/, "/v" + number + "$1").replace(/\/versions\/0$/, "/versions/" + number);
  }

  function check(kind, text) {
    return request("POST", api + "/check", {kind: kind, text: text}).then(function (r) {
      return r.ok ? r.data : {ok: false, message: r.data.message || "检查失败，请重试"};
    });
  }

  function currentXml() {
    return modeler.saveXML({format: true}).then(function (saved) { return saved.xml; });
  }

  // -- marks and results ------------------------------------------------------------------

  function clearMarks() {
    var canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    marked.forEach(function (id) {
      if (registry.get(id)) MARKS.forEach(function (cls) { canvas.removeMarker(id, cls); });
    });
    marked = [];
  }

  function mark(id, cls) {
    var registry = modeler.get("elementRegistry");
    if (!id || !registry.get(id)) return false;
    modeler.get("canvas").addMarker(id, cls);
    marked.push(id);
    return true;
  }

  function focusElement(id) {
    var element = modeler.get("elementRegistry").get(id);
    if (!element) return;
    modeler.get("selection").select(element);
    modeler.get("canvas").scrollToElement(element);
  }

  function locateButton(id) {
    if (!id || !modeler.get("elementRegistry").get(id)) return null;
    var button = el("button", {type: "button", "class": "btn btn--small btn--ghost", "data-locate": id, text: "定位"});
    button.addEventListener("click", function () { focusElement(id); });
    return button;
  }

  function showResults(title, legend, nodes) {
    document.getElementById("results-title").textContent = title;
    document.getElementById("results-legend").innerHTML = "";
    (legend || []).forEach(function (pair) {
      document.getElementById("results-legend").appendChild(el("span", {"class": "legend-" + pair[0], text: pair[1]}));
    });
    resultsBody.innerHTML = "";
    nodes.forEach(function (node) { resultsBody.appendChild(node); });
    document.getElementById("base-view-wrap").hidden = true;
    results.hidden = false;
  }

  function showProblems(problems, title) {
    clearMarks();
    if (!problems.length) {
      showResults(title || "校验结果", [], [el("p", {"class": "result-same", id: "validate-ok", text: "校验通过：没有发现问题，可以试运行或部署。"})]);
      return;
    }
    var list = el("ul", {"class": "studio-list", id: "problems"});
    problems.forEach(function (problem) {
      mark(problem.element_id, "studio-problem");
      list.appendChild(el("li", {"data-element": problem.element_id || ""},
        [el("span", {text: problem.message}), locateButton(problem.element_id)]));
    });
    showResults((title || "校验结果") + "：发现 " + problems.length + " 个问题", [["problem", "有问题的元素"]],
      [el("p", {"class": "result-failed", text: "流程图不能部署，请按下列原因修改（已在图上标红）："}), list]);
  }

  // -- loading ------------------------------------------------------------------------------

  function importXml(xml) {
    marked = [];  // a new diagram carries no marks
    return modeler.importXML(xml).then(function (done) {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      root.dataset.ready = "true";
      return done;
    });
  }

  function openVersion(number) {
    root.dataset.ready = "false";
    return fetch(versionUrl(root.dataset.xmlUrl, number), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) { return importXml(data.bpmn_xml); })
      .then(function () {
        root.dataset.version = String(number);
        say("已打开 v" + number + "，修改后可校验、比较、试运行或部署。", "info");
      })
      .catch(function () { say("流程图加载失败，请刷新页面重试。", "error"); });
  }

  function openFile(file) {
    var reader = new FileReader();
    reader.onload = function () {
      var text = String(reader.result || "");
      // SpiffArena's new-diagram template leaves the process id to be filled in, as
      // SpiffArena itself does when it makes a model from it: here, the business key.
      var template = text.indexOf("{{PROCESS_ID}}") >= 0;
      text = text.split("{{PROCESS_ID}}").join(key);
      // The server reads the file first: a file it would not read (DOCTYPE, entities,
      // not XML, not BPMN) is never parsed here either.
      request("POST", api + "/" + key + "/validate", {bpmn_xml: text}).then(function (r) {
        if (!r.ok) { say(r.data.message || "无法校验该文件", "error"); return; }
        if (!r.data.readable) {
          say("已拒绝打开 " + file.name + "：" + r.data.problems.map(function (p) { return p.message; }).join("；"), "error");
          showProblems(r.data.problems, "打开文件");
          return;
        }
        importXml(text).then(function (done) {
          var warnings = (done && done.warnings) || [];
          say("已打开本地文件 " + file.name + (template ? "（模板中的 {{PROCESS_ID}} 已换成 " + key + "）" : "") +
              (warnings.length ? "（" + warnings.length + " 处内容建模器无法显示）" : ""), "info");
          showProblems(r.data.problems, "打开文件时的校验结果");
        }).catch(function (error) {
          say("建模器无法打开 " + file.name + "：" + (error && error.message || error), "error");
        });
      });
    };
    reader.readAsText(file, "utf-8");
  }

  // -- actions ------------------------------------------------------------------------------

  /* 校验; `refused` is what to say instead when another action (部署, 试运行) was
     refused for these problems. */
  function validate(refused) {
    return currentXml().then(function (xml) {
      return request("POST", api + "/" + key + "/validate", {bpmn_xml: xml});
    }).then(function (r) {
      if (!r.ok) { say(r.data.message || "校验失败", "error"); return; }
      if (typeof refused === "string") say(refused, "error");
      else say(r.data.ok ? "校验通过" : "校验未通过，问题已在图上标出", r.data.ok ? "success" : "error");
      showProblems(r.data.problems);
    });
  }

  function change(item) {
    var li = el("li", {"data-element": item.id},
      [el("strong", {text: (item.name || item.id) + "（" + item.kind_name + "，" + item.id + "）"}), locateButton(item.id)]);
    if (item.changes) {
      var inner = el("ul", {"class": "studio-list"});
      item.changes.forEach(function (c) {
        inner.appendChild(el("li", {text: c.label + "：" + (c.old == null ? "（无）" : c.old) + " → " + (c["new"] == null ? "（无）" : c["new"])}));
      });
      li.appendChild(inner);
    }
    return li;
  }

  function compare() {
    var version = document.getElementById("compare-version").value;
    return currentXml().then(function (xml) {
      return request("POST", api + "/" + key + "/compare", {version: Number(version), bpmn_xml: xml});
    }).then(function (r) {
      if (!r.ok) { say(r.data.message || "比较失败", "error"); return; }
      clearMarks();
      var d = r.data, nodes = [];
      d.added.forEach(function (a) { mark(a.id, "studio-added"); });
      d.changed.forEach(function (c) { mark(c.id, "studio-changed"); });
      [["added", "新增", d.added], ["changed", "修改", d.changed], ["removed", "删除", d.removed]].forEach(function (part) {
        nodes.push(el("h3", {text: part[1] + "（" + part[2].length + "）"}));
        var list = el("ul", {"class": "studio-list", id: "compare-" + part[0]});
        part[2].forEach(function (item) { list.appendChild(change(item)); });
        if (!part[2].length) list.appendChild(el("li", {"class": "hint", text: "无"}));
        nodes.push(list);
      });
      var total = d.added.length + d.changed.length + d.removed.length;
      showResults("与 v" + version + " 比较：" + (total ? total + " 处不同" : "引擎读取的内容完全相同"),
        [["added", "新增"], ["changed", "修改"], ["removed", "删除（见下方 v" + version + "）"]], nodes);
      showBase(version, d.removed, d.changed);
    });
  }

  function showBase(version, removed, changed) {
    var wrap = document.getElementById("base-view-wrap");
    if (!removed.length) return;
    wrap.hidden = false;
    document.getElementById("base-view-title").textContent = "v" + version + "（删除的元素标红，修改的标橙）";
    if (!baseViewer) baseViewer = new window.BpmnJS({container: "#base-view"});
    fetch(versionUrl(root.dataset.xmlUrl, version), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) { return baseViewer.importXML(data.bpmn_xml); })
      .then(function () {
        var canvas = baseViewer.get("canvas"), registry = baseViewer.get("elementRegistry");
        canvas.zoom("fit-viewport", "auto");
        removed.forEach(function (r) { if (registry.get(r.id)) canvas.addMarker(r.id, "studio-removed"); });
        changed.forEach(function (c) { if (registry.get(c.id)) canvas.addMarker(c.id, "studio-changed"); });
      });
  }

  function dryRun() {
    var limit = Number(document.getElementById("dryrun-limit").value) || 20;
    say("试运行中：正在用最近办结的申请重演修改后的流程图（全部回滚，不留任何数据）…", "info");
    return currentXml().then(function (xml) {
      return request("POST", api + "/" + key + "/dry-run", {bpmn_xml: xml, limit: limit});
    }).then(function (r) {
      if (r.status === 422 && r.data.errors && r.data.errors.bpmn_xml) {
        return validate("未试运行：" + r.data.message + "，问题已在图上标出");
      }
      if (!r.ok) { say(r.data.message || "试运行失败", "error"); return; }
      clearMarks();
      var c = r.data.counts, rows = el("tbody");
      r.data.items.forEach(function (item) {
        if (item.element_id) mark(item.element_id, item.result === "failed" ? "studio-problem" : "studio-diverged");
        rows.appendChild(el("tr", {"data-instance": String(item.instance_id), "data-result": item.result}, [
          el("td", {"data-label": "申请号", text: "#" + item.instance_id}),
          el("td", {"data-label": "原版本", text: "v" + item.version}),
          el("td", {"data-label": "办结", text: (item.status === "completed" ? "已办结 " : "已结束 ") + (item.ended_at || "").replace("T", " ").slice(0, 16)}),
          el("td", {"data-label": "结果", "class": "result-" + item.result, text: item.result_name}),
          el("td", {"data-label": "说明"}, [el("span", {text: item.message}), locateButton(item.element_id)])
        ]));
      });
      var table = el("table", {"class": "responsive", id: "dryrun-table"}, [
        el("thead", {}, [el("tr", {}, ["申请号", "原版本", "办结", "结果", "说明"].map(function (h) { return el("th", {text: h}); }))]),
        rows]);
      var summary = r.data.items.length
        ? "共重演 " + r.data.items.length + " 笔：路径相同 " + c.same + " 笔，路径不同 " + c.different + " 笔，运行失败 " + c.failed + " 笔。"
        : "该业务还没有办结的申请可供试运行。";
      say("试运行完成，数据已全部回滚。", "success");
      showResults("试运行结果", [["diverged", "路径分叉处"], ["problem", "运行失败处"]],
        [el("p", {id: "dryrun-summary", text: summary}), el("div", {"class": "table-wrap"}, [table])]);
    });
  }

  function deploy() {
    document.getElementById("deploy-dialog").close();
    return currentXml().then(function (xml) {
      return request("POST", api + "/" + key + "/deploy", {bpmn_xml: xml});
    }).then(function (r) {
      if (r.status === 422 && r.data.errors && r.data.errors.bpmn_xml) {
        return validate("未部署：流程图没有通过校验（未做任何更改），问题已在图上标出");
      }
      if (!r.ok) { say(r.data.message || "部署失败", "error"); return; }
      var number = r.data.version;
      message.className = "notice notice--success";
      message.hidden = false;
      message.innerHTML = "";
      message.appendChild(document.createTextNode(r.data.changed
        ? "已部署为 v" + number + "：新发起的申请按此版本办理，进行中的申请仍按原版本办结。"
        : "与当前版本 v" + number + " 完全相同，未产生新版本。"));
      message.appendChild(el("a", {href: versionUrl(root.dataset.versionPage, number), id: "deployed-link", text: " 查看 v" + number}));
      if (r.data.changed) {
        root.dataset.version = String(number);
        ["open-version", "compare-version"].forEach(function (id) {
          var select = document.getElementById(id);
          if (!select.querySelector('option[value="' + number + '"]')) {
            select.insertBefore(el("option", {value: String(number), text: "v" + number}), select.firstChild);
          }
        });
        document.getElementById("open-version").value = String(number);
      }
    });
  }

  function download() {
    return currentXml().then(function (xml) {
      var link = el("a", {href: URL.createObjectURL(new Blob([xml], {type: "application/xml"})),
                          download: key + ".bpmn"});
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }

  function busy(button, action) {
    button.addEventListener("click", function () {
      button.disabled = true;
      Promise.resolve().then(action).catch(function (error) {
        say("操作失败：" + (error && error.message || error), "error");
      }).then(function () { button.disabled = false; });
    });
  }

  // -- start --------------------------------------------------------------------------------

  request("GET", api + "/catalog").then(function (r) {
    modeler = new window.BpmnJS({
      container: "#canvas",
      propertiesPanel: {parent: "#properties"},
      additionalModules: window.HallStudio.modules,
      moddleExtensions: window.HallStudio.moddleExtensions,
      hallCatalog: r.data,
      hallCheck: check
    });
    window.hallStudio = {modeler: modeler};
    busy(document.getElementById("validate"), validate);
    busy(document.getElementById("compare"), compare);
    busy(document.getElementById("download"), download);
    document.getElementById("fit").addEventListener("click", function () {
      modeler.get("canvas").zoom("fit-viewport", "auto");
    });
    if (root.dataset.canDeploy === "1") {
      busy(document.getElementById("dry-run"), dryRun);
      document.getElementById("deploy").addEventListener("click", function () {
        document.getElementById("deploy-dialog").showModal();
      });
      busy(document.getElementById("deploy-confirm"), deploy);
    }
    document.getElementById("open-version").addEventListener("change", function (e) {
      openVersion(e.target.value);
    });
    document.getElementById("open-file").addEventListener("change", function (e) {
      if (e.target.files[0]) openFile(e.target.files[0]);
      e.target.value = "";
    });
    return openVersion(root.dataset.version);
  });
})();
