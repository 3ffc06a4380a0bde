// 摸排 on a phone with a poor connection: a visit form that cannot reach the server is kept on the phone
// (localStorage) and sent when the connection is back. Each form carries the submission id the server made when it
// showed the form, so a visit sent twice — queued and retried, or retried by hand — is stored once.
(function () {
  "use strict";
  const KEY = "civicgrid.visitQueue";
  const form = document.getElementById("visit-form");
  const note = document.getElementById("offline-note");

  function load() {
    try {
      return JSON.parse(localStorage.getItem(KEY) || "[]");
    } catch (error) {
      return [];
    }
  }

  function save(queue) {
    localStorage.setItem(KEY, JSON.stringify(queue));
    show(queue.length ? "本机有" + queue.length + "条走访记录待提交，恢复网络后自动提交。" : "");
  }

  function show(text) {
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
  }

  function post(url, fields) {
    return fetch(url, { method: "POST", body: new URLSearchParams(fields), credentials: "same-origin" });
  }

  async function flush() {
    const queue = load();
    if (!queue.length || !navigator.onLine) return;
    const left = [];
    for (const item of queue) {
      try {
        const response = await post(item.url, item.fields);
        if (response.status >= 500) left.push(item); // the server failed: try again later
        // 2xx/3xx: stored; 4xx: refused for good (already done, closed) — shown on the list by the server
      } catch (error) {
        left.push(item);
      }
    }
    save(left);
    if (!left.length) show("离线保存的走访记录已全部提交。");
  }

  function keep(url, fields) {
    const queue = load();
    queue.push({ url: url, fields: fields });
    save(queue);
  }

  if (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const fields = Object.fromEntries(new FormData(form));
      if (!navigator.onLine) {
        keep(form.action, fields);
        show("网络已断开：本条走访记录已保存在本机，恢复网络后自动提交。");
        return;
      }
      try {
        const response = await post(form.action, fields);
        if (response.redirected) {
          window.location.assign(response.url);
          return;
        }
        form.submit(); // refused (shown next to the question) or another answer: let the page show it
      } catch (error) {
        keep(form.action, fields);
        show("网络中断：本条走访记录已保存在本机，恢复网络后自动提交。");
      }
    });
  }
  window.addEventListener("online", flush);
  save(load());
  flush();
})();
