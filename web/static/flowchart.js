/* The flowchart viewer (bpmn-js NavigatedViewer): the application's pinned diagram with
   completed, active and cancelled elements marked, the flows taken, and who did what. */
(function () {
  "use strict";
  var box = document.getElementById("flowchart");
  if (!box || !window.BpmnJS) return;
  var MARK = {completed: "el-done", active: "el-active", cancelled: "el-cancelled"};

  fetch(box.dataset.src).then(function (r) { return r.json(); }).then(function (data) {
    box.innerHTML = "";
    var viewer = new window.BpmnJS({container: box});
    return viewer.importXML(data.bpmn_xml).then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      canvas.zoom("fit-viewport", "auto");
      Object.keys(MARK).forEach(function (state) {
        (data[state] || []).forEach(function (id) {
          if (registry.get(id)) canvas.addMarker(id, MARK[state]);
        });
      });
      (data.flows || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "flow-taken"); });
      box.dataset.ready = "true";
      box.dataset.completed = (data.completed || []).join(" ");
      box.dataset.active = (data.active || []).join(" ");
      box.dataset.cancelled = (data.cancelled || []).join(" ");
      tooltips(viewer, data.details || {});
    });
  }).catch(function () {
    box.innerHTML = '<p class="hint" style="padding:1rem">流程图加载失败，请刷新页面重试。</p>';
  });

  function tooltips(viewer, details) {
    var tip = document.createElement("div");
    tip.className = "flow-tip";
    tip.hidden = true;
    tip.setAttribute("role", "tooltip");
    box.appendChild(tip);
    var bus = viewer.get("eventBus");
    function show(e) {
      var items = details[e.element.id];
      var name = (e.element.businessObject && e.element.businessObject.name) || e.element.id;
      if (!items || e.element.type === "bpmn:SequenceFlow") { tip.hidden = true; return; }
      tip.innerHTML = "";
      var title = document.createElement("p");
      title.innerHTML = "<strong></strong>";
      title.firstChild.textContent = name;
      tip.appendChild(title);
      items.forEach(function (d) {
        var line = document.createElement("p");
        var when = d.at ? d.at.replace("T", " ").slice(0, 16) : "";
        var text = d.type + "：" + (d.actor || "") + "  " + when;
        if (d.decision) text += "  " + (d.decision === "approve" ? "审核通过" : "退回修改");
        if (d.opinion) text += "  意见：" + d.opinion;
        line.textContent = text;
        tip.appendChild(line);
      });
      var rect = box.getBoundingClientRect(), ev = e.originalEvent || {};
      tip.style.left = Math.min(Math.max((ev.clientX || rect.left + 20) - rect.left + 12, 4), rect.width - 290) + "px";
      tip.style.top = Math.max((ev.clientY || rect.top + 20) - rect.top + 12, 4) + "px";
      tip.hidden = false;
    }
    bus.on("element.hover", show);
    bus.on("element.click", show);
    bus.on("element.out", function () { tip.hidden = true; });
  }
})();
