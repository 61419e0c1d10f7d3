/* A background job's page: poll its status until it is done or failed, then show the result. */
(function () {
  "use strict";
  const box = document.getElementById("job");
  if (!box) return;
  const bar = document.getElementById("job-bar");
  const text = document.getElementById("job-text");
  const state = document.getElementById("job-state");
  const done = document.getElementById("job-result");
  const failed = document.getElementById("job-error");

  function show(job) {
    bar.value = job.percent;
    text.textContent = job.percent + "%" + (job.total ? "（" + job.done + " / " + job.total + "）" : "");
    state.textContent = job.state_name;
    state.className = "badge" + (job.state === "done" ? " badge--ok" : job.state === "failed" ? " badge--bad" : "");
    if (job.state === "done") {
      done.hidden = false;
      done.textContent = "";
      const result = job.result || {};
      const parts = [];
      if (result.imported !== undefined) parts.push("已导入 " + result.imported + " 行" +
        (result.skipped ? "，跳过空行 " + result.skipped + " 行" : ""));
      if (result.rows !== undefined) parts.push("共 " + result.rows + " 行");
      if (result.message) parts.push(result.message);
      done.append("处理完成" + (parts.length ? "：" + parts.join("，") : "") + "。");
      if (job.download) {
        const link = document.createElement("a");
        link.href = box.dataset.downloadUrl;
        link.id = "job-download";
        link.className = "btn";
        link.textContent = "下载 " + job.download;
        done.append(" ", link);
      }
    } else if (job.state === "failed") {
      failed.hidden = false;
      document.getElementById("job-error-text").textContent = job.error || "任务失败";
      const list = document.getElementById("job-errors");
      list.textContent = "";
      const errors = Array.isArray(job.errors) ? job.errors : [];
      errors.slice(0, 200).forEach(function (e) {
        const item = document.createElement("li");
        item.textContent = "第 " + e.row + " 行「" + e.column + "」：" + e.message;
        list.append(item);
      });
    }
  }

  function poll() {
    fetch(box.dataset.statusUrl, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        show(job);
        if (job.state !== "done" && job.state !== "failed") setTimeout(poll, 500);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
