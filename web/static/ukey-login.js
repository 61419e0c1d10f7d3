/* Unit login with the UKey (manual 1.1). The page asks the UKey agent on this PC
   (127.0.0.1) whether a reader and a UKey are there; on 登录 it takes a fresh challenge from
   the hall, has the agent verify the PIN on the card and sign the challenge, and posts the
   certificate and signature with the unit account, login name and password. The PIN goes
   to the agent only. */
(function () {
  "use strict";
  var form = document.getElementById("login-form");
  var status = document.getElementById("ukey-status");
  if (!form || !status) return;
  var agent = status.getAttribute("data-agent");
  var message = document.getElementById("ukey-message");
  var download = document.getElementById("ukey-download");
  var pin = document.getElementById("ukey_pin");
  var submit = document.getElementById("login-submit");
  var NO_AGENT = "未检测到 UKey 驱动程序（UKey 助手）。请先下载并运行驱动程序，然后点击“重新检测”。";

  function show(kind, text, noAgent) {
    status.className = "notice notice--" + kind + " ukey-status";
    status.setAttribute("data-state", kind);
    message.textContent = text;
    download.hidden = !noAgent;
  }

  /* {ok, data} from the agent, or {noAgent: true} when nothing answers on its port. */
  function callAgent(path, body) {
    var options = body ? {method: "POST", headers: {"Content-Type": "application/json"},
                          body: JSON.stringify(body)} : {};
    return fetch(agent + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {ok: response.ok, data: data};
      });
    }, function () { return {noAgent: true}; });
  }

  function check() {
    show("info", "正在检测 UKey…", false);
    return callAgent("/status").then(function (result) {
      if (result.noAgent) return show("error", NO_AGENT, true);
      if (!result.ok) return show("error", result.data.message || "UKey 检测失败，请重新插入 UKey", false);
      show("success", "UKey 已就绪（" + result.data.reader + "）。请输入单位信息、登录密码和 UKey PIN 码后登录。", false);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submit.disabled = true;
    show("info", "正在进行 UKey 证书认证…", false);
    fetch(form.getAttribute("data-challenge-url"), {credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) throw new Error("challenge");
        return response.json();
      })
      .then(function (challenge) {
        return callAgent("/sign", {nonce: challenge.nonce, pin: pin.value}).then(function (result) {
          if (result.noAgent) return show("error", NO_AGENT, true);
          if (!result.ok) {
            show("error", result.data.message || "UKey 签名失败，请重新插入 UKey 后再试", false);
            pin.value = "";
            pin.focus();
            return;
          }
          document.getElementById("ukey_certificate").value = result.data.certificate;
          document.getElementById("ukey_challenge_id").value = challenge.challenge_id;
          document.getElementById("ukey_signature").value = result.data.signature;
          show("success", "UKey 证书认证完成，正在登录…", false);
          form.submit();  /* a plain submit: this handler does not run again */
        });
      })
      .catch(function () { show("error", "无法连接网上业务大厅，请检查网络后重试", false); })
      .then(function () { submit.disabled = false; });
  });

  document.getElementById("ukey-recheck").addEventListener("click", check);
  check();
})();
