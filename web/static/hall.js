/* HPF Hall page behaviour: tabs, opening rows, dialogs, confirmations, the person picker,
   new-item sounds. Pages work without it; it makes them quicker to use. */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function toast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(el._timer);
    el._timer = setTimeout(function () { el.hidden = true; }, 3500);
  }

  /* Tabs (home task centre): click or arrow keys. */
  document.querySelectorAll('[role="tablist"]').forEach(function (list) {
    var tabs = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
    function select(tab) {
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      });
      tab.focus();
    }
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { select(tab); });
      tab.addEventListener("keydown", function (e) {
        if (e.key === "ArrowRight") select(tabs[(i + 1) % tabs.length]);
        if (e.key === "ArrowLeft") select(tabs[(i - 1 + tabs.length) % tabs.length]);
      });
    });
    if (location.hash) {
      var wanted = document.getElementById("tab-" + location.hash.slice(1));
      if (wanted && tabs.indexOf(wanted) >= 0) select(wanted);
    }
  });

  /* Rows open on double-click or Enter (manual chapter 2). */
  document.addEventListener("dblclick", function (e) {
    var row = e.target.closest("tr.open-row");
    if (row && !e.target.closest("form, button")) location.href = row.dataset.href;
  });
  document.addEventListener("keydown", function (e) {
    var row = e.target.closest && e.target.closest("tr.open-row");
    if (row && e.key === "Enter" && e.target === row) location.href = row.dataset.href;
  });

  /* Dialogs. */
  document.addEventListener("click", function (e) {
    var opener = e.target.closest("[data-open-dialog]");
    if (opener) document.getElementById(opener.dataset.openDialog).showModal();
    var closer = e.target.closest("[data-close-dialog]");
    if (closer) closer.closest("dialog").close();
    var soon = e.target.closest("[data-soon]");
    if (soon) toast(soon.dataset.soon);
  });

  /* Confirmations: forms with data-confirm ask first, with 确定 / 取消. */
  var confirmDialog;
  function askConfirm(text, onYes) {
    if (!confirmDialog) {
      confirmDialog = document.createElement("dialog");
      confirmDialog.id = "confirm-dialog";
      confirmDialog.setAttribute("aria-labelledby", "confirm-text");
      confirmDialog.innerHTML = '<div class="dialog__body"><p id="confirm-text"></p></div>' +
        '<div class="dialog__foot"><button type="button" class="btn btn--ghost" data-answer="no">取消</button>' +
        '<button type="button" class="btn btn--danger" data-answer="yes">确定</button></div>';
      document.body.appendChild(confirmDialog);
    }
    confirmDialog.querySelector("#confirm-text").textContent = text;
    confirmDialog.onclick = function (e) {
      var answer = e.target.dataset && e.target.dataset.answer;
      if (!answer) return;
      confirmDialog.close();
      if (answer === "yes") onYes();
    };
    confirmDialog.showModal();
    confirmDialog.querySelector('[data-answer="no"]').focus();
  }
  /* A form whose choice matters (a reviewer's decision) names the choice in the question. */
  function confirmText(form) {
    var text = form.dataset.confirm;
    var chosen = form.querySelector('input[type="radio"]:checked');
    if (form.dataset.confirmChoice && chosen) {
      text = "确定提交审批结果「" + chosen.parentNode.textContent.trim() + "」吗？";
    }
    return text;
  }
  /* A field required only with another's value (an opinion when 退回修改): asked for
     before the confirmation, not after the round trip. */
  function missingConditional(form) {
    var missing = null;
    form.querySelectorAll("[data-required-when]").forEach(function (el) {
      var rule = el.dataset.requiredWhen.split("="), other = form.elements[rule[0]];
      var needed = other && other.value === rule[1] && !el.value.trim();
      el.setCustomValidity(needed ? el.dataset.requiredMessage : "");
      if (needed && !missing) missing = el;
    });
    if (missing) missing.reportValidity();
    return missing;
  }
  document.addEventListener("input", function (e) {
    if (e.target.dataset && e.target.dataset.requiredWhen) e.target.setCustomValidity("");
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (missingConditional(form)) { e.preventDefault(); return; }
    if (form.dataset.confirm && !form._confirmed) {
      e.preventDefault();
      askConfirm(confirmText(form), function () { form._confirmed = true; form.submit(); });
    }
  });

  /* Sound switch without a page reload. */
  var soundForm = document.getElementById("sound-form");
  if (soundForm) {
    soundForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = document.getElementById("sound-toggle");
      var enable = button.dataset.enabled !== "1";
      var body = new FormData(soundForm);
      body.set("enabled", enable ? "1" : "0");
      fetch(soundForm.action, {method: "POST", body: body, headers: {"X-Requested-With": "fetch"}})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          button.dataset.enabled = data.sound_enabled ? "1" : "0";
          button.textContent = data.sound_enabled ? "关闭音效" : "开启音效";
          button.setAttribute("aria-pressed", data.sound_enabled ? "false" : "true");
          toast(data.sound_enabled ? "音效已开启" : "音效已关闭");
        });
    });
  }

  function beep() {
    var button = document.getElementById("sound-toggle");
    if (!button || button.dataset.enabled !== "1") return;
    try {
      var audio = new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.35);
    } catch (err) { /* no audio device: stay silent */ }
  }

  /* New 消息 or 待办: update the badges and play the sound once. */
  function watchCounters(unread, todo) {
    setInterval(function () {
      fetch("/api/v1/counters").then(function (r) { return r.ok ? r.json() : null; })
        .then(function (c) {
          if (!c) return;
          if (c.unread_messages > unread || c.todo > todo) {
            beep();
            toast("您有新的" + (c.todo > todo ? "待办" : "消息"));
          }
          unread = c.unread_messages; todo = c.todo;
          var u = document.getElementById("unread-count"), t = document.getElementById("todo-count");
          if (u) u.textContent = unread;
          if (t) t.textContent = todo;
        });
    }, 30000);
  }

  /* The 清册's change type: show the inputs that type uses; hidden ones are disabled. */
  function applyChangeType(form) {
    var checked = form.querySelector("[data-change-type]:checked");
    if (!checked) return;
    form.querySelectorAll("[data-for-types]").forEach(function (field) {
      var on = field.dataset.forTypes.split(" ").indexOf(checked.value) >= 0;
      field.hidden = !on;
      field.querySelectorAll("input, select").forEach(function (i) { i.disabled = !on; });
    });
    var pick = document.getElementById("person-picker");
    if (pick && checked.dataset.pickerSource) pick.dataset.source = checked.dataset.pickerSource;
  }
  var entry = document.getElementById("entry-form");
  if (entry) {
    applyChangeType(entry);
    entry.addEventListener("change", function (e) {
      if (e.target.matches("[data-change-type]")) applyChangeType(entry);
    });
  }
  document.querySelectorAll("[data-template-type]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      var link = document.getElementById("template-link");
      var full = document.getElementById("template-prefill-link");
      link.href = link.dataset.base + "?change_type=" + radio.value;
      if (full) full.href = link.dataset.base + "?change_type=" + radio.value + "&prefill=true";
    });
  });

  /* Suggestions for a 清册 input (e.g. 转出单位账号 found by the unit's name): after two
     characters, the endpoint's matches as buttons; a click fills the input with the
     match's value. What is searched and shown comes from the page. */
  document.querySelectorAll("[data-suggest]").forEach(function (input) {
    var box = document.getElementById("suggest-" + input.name), timer, asked = "";
    function fill(items) {
      box.innerHTML = "";
      items.forEach(function (item) {
        var value = item[input.dataset.suggestValue], label = item[input.dataset.suggestLabel];
        if (value === input.value) return;
        var b = document.createElement("button");
        b.type = "button"; b.className = "btn btn--ghost suggestion";
        b.textContent = label + "（" + value + "）";
        b.addEventListener("click", function () {
          input.value = value; box.hidden = true; input.focus();
          input.dispatchEvent(new Event("change", {bubbles: true}));
        });
        box.appendChild(b);
      });
      box.hidden = !box.childElementCount;
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { box.hidden = true; return; }
      timer = setTimeout(function () {
        asked = q;
        fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q))
          .then(function (r) { return r.ok ? r.json() : {items: []}; })
          .then(function (data) { if (asked === q) fill(data.items || []); });
      }, 250);
    });
  });

  /* Person picker (个人账号下拉框): type to search, or open it to see the first ones;
     arrows + Enter to choose. Each match shows its masked ID, so two people with one
     name can be told apart; the chosen person's details are shown back. What it searches
     and shows comes from the page (the business's 清册). */
  var picker = document.getElementById("person-picker");
  if (picker) {
    var list = document.getElementById("person-options");
    var showback = document.getElementById("showback");
    var items = [], active = -1, timer, searched = false, lastQuery = null;
    // Whose registered values the inputs hold: a page shown again after a refused entry
    // keeps what was typed for the person it names; only picking another refills them.
    var filledFor = picker.value.trim();
    function close() {
      list.hidden = true; picker.setAttribute("aria-expanded", "false"); active = -1;
      picker.removeAttribute("aria-activedescendant");
    }
    function shown(value, kind) {
      if (value === null || value === undefined) return "";
      if (kind === "rate") return (Math.round(Number(value) * 10000) / 100) + "%";
      if (kind === "money") return Number(value).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2});
      return value;
    }
    function render() {
      list.innerHTML = "";
      items.forEach(function (p, i) {
        var li = document.createElement("li");
        li.id = "person-opt-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        li.innerHTML = "<span></span><small></small>";
        li.firstChild.textContent = p.person_account + "  " + p.name;
        li.lastChild.textContent = p.id_number_masked || "";
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      if (!items.length && searched) {
        var none = document.createElement("li");
        none.className = "picker__empty";
        none.setAttribute("aria-disabled", "true");
        none.textContent = picker.dataset.empty || "没有找到符合条件的职工";
        list.appendChild(none);
      }
      list.hidden = !items.length && !searched;
      picker.setAttribute("aria-expanded", list.hidden ? "false" : "true");
      if (active >= 0) picker.setAttribute("aria-activedescendant", "person-opt-" + active);
    }
    function choose(i) {
      var p = items[i];
      picker.value = p.person_account;
      close();
      if (p.person_account !== filledFor) {
        filledFor = p.person_account;
        document.querySelectorAll("[data-fill]").forEach(function (el) {
          var v = p[el.dataset.fill];
          el.value = v === null || v === undefined ? "" : v;
        });
      }
      if (!showback) return;
      showback.hidden = false;
      showback.querySelectorAll("[data-show]").forEach(function (el) {
        el.textContent = shown(p[el.dataset.show], el.dataset.kind);
      });
    }
    function search(q) {
      if (q === lastQuery && !list.hidden) return;
      lastQuery = q;
      var sep = picker.dataset.source.indexOf("?") >= 0 ? "&" : "?";
      var extra = "";
      (picker.dataset.with ? picker.dataset.with.split(" ") : []).forEach(function (name) {
        var input = picker.form.elements[name];
        extra += "&" + name + "=" + encodeURIComponent(input ? input.value.trim() : "");
      });
      fetch(picker.dataset.source + sep + "per_page=10&q=" + encodeURIComponent(q) + extra)
        .then(function (r) { return r.json(); })
        .then(function (data) {
          // an answer counts while the field still holds what it answers (a blur between
          // the question and the answer used to drop it: a full number typed then Tab
          // picked no one)
          if (q !== picker.value.trim()) return;
          items = data.items || []; searched = true; active = items.length ? 0 : -1;
          if (items.length === 1 && items[0].person_account === q) { choose(0); return; }
          if (document.activeElement === picker) render();
        });
    }
    picker.addEventListener("input", function () {
      clearTimeout(timer);
      if (showback) showback.hidden = true;
      var q = picker.value.trim();
      timer = setTimeout(function () { search(q); }, 180);
    });
    picker.addEventListener("focus", function () { search(picker.value.trim()); });
    picker.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && list.hidden) { lastQuery = null; search(picker.value.trim()); e.preventDefault(); return; }
      if (list.hidden) return;
      if (e.key === "Escape") { close(); return; }
      if (!items.length) return;
      if (e.key === "ArrowDown") { active = (active + 1) % items.length; render(); e.preventDefault(); }
      if (e.key === "ArrowUp") { active = (active - 1 + items.length) % items.length; render(); e.preventDefault(); }
      if (e.key === "Enter" && active >= 0) { choose(active); e.preventDefault(); }
    });
    picker.addEventListener("blur", function () { setTimeout(close, 100); lastQuery = null; });
    // typed before this script ran (a slow page): answer it now rather than never
    if (picker.value.trim()) search(picker.value.trim());
  }

  /* Forms the page submits by itself once shown (a message marks itself read by POST). */
  document.querySelectorAll("form[data-auto-submit]").forEach(function (form) {
    fetch(form.action, {method: "POST", body: new FormData(form),
                        headers: {"X-Requested-With": "fetch"}});
  });

  window.Hall = {toast: toast, watchCounters: watchCounters, csrf: csrf};
})();
