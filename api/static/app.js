// caseclock pages: refresh counts without reloading (polls /web/live.json every data-poll seconds).
(function () {
  "use strict";
  var body = document.body;
  var every = parseInt(body.getAttribute("data-poll") || "30", 10) * 1000;
  var view = body.getAttribute("data-view") || "";
  var caseId = body.getAttribute("data-case") || "";
  var version = body.getAttribute("data-version") || "";
  if (!document.querySelector(".who")) { return; } // not signed in
  var colours = ["green", "yellow", "red", "darkred"];

  function setText(sel, value) {
    document.querySelectorAll(sel).forEach(function (el) {
      if (el.textContent !== String(value)) { el.textContent = value; }
    });
  }
  function setColour(el, colour) {
    colours.forEach(function (c) { el.classList.remove(c); });
    el.classList.add(colour);
  }
  function stale(message) {
    var el = document.querySelector("[data-live-stale]");
    if (el && el.hidden) {
      el.hidden = false;
      var note = document.getElementById("live-note");
      if (note) { note.textContent = message; }
    }
  }
  function apply(data) {
    if (!data || !data.signed_in) { return; }
    var counts = data.counts || {};
    Object.keys(counts).forEach(function (k) { setText('[data-live="' + k + '"]', counts[k]); });
    if (data.rows) {
      var seen = {};
      Object.keys(data.rows).forEach(function (id) {
        var r = data.rows[id];
        seen[id] = true;
        document.querySelectorAll('[data-live-sla="' + id + '"]').forEach(function (el) {
          el.textContent = r.sla_label; setColour(el, r.colour);
        });
        document.querySelectorAll('[data-live-left="' + id + '"]').forEach(function (el) {
          var label = el.textContent.split("：")[0];
          var text = label + "：" + r.left;
          if (el.textContent !== text) { el.textContent = text; }
        });
        if (!document.querySelector('tr[data-case="' + id + '"]')) { stale("待办有新案件"); }
      });
      document.querySelectorAll("tr[data-case]").forEach(function (tr) {
        if (!seen[tr.getAttribute("data-case")]) { stale("有案件已离开待办"); }
      });
    }
    if (data.cells) {
      Object.keys(data.cells).forEach(function (key) {
        var cell = data.cells[key];
        var td = document.querySelector('td[data-cell="' + key + '"]');
        if (!td) { return; }
        var n = td.querySelector(".n");
        if (n && n.textContent !== String(cell.total)) { n.textContent = cell.total; }
        colours.forEach(function (c) { td.classList.remove("cell-" + c); });
        td.classList.add("cell-" + cell.colour);
        td.setAttribute("data-level", cell.level);
      });
      if (data.totals) {
        var total = 0;
        Object.keys(data.totals).forEach(function (k) { total += data.totals[k]; setText('[data-live-total="' + k + '"]', data.totals[k]); });
        setText('[data-live-total="total"]', total);
      }
    }
    if (data.case) {
      if (String(data.case.version) !== version) { stale("案件已被更新"); }
      Object.keys(data.case.clocks || {}).forEach(function (name) {
        setText('[data-live-clock="' + name + '"]', data.case.clocks[name]);
      });
    }
  }
  function poll() {
    if (document.hidden) { return; }
    var url = "/web/live.json?view=" + encodeURIComponent(view) + (caseId ? "&id=" + encodeURIComponent(caseId) : "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(apply)
      .catch(function () { /* offline for a moment: try again next time */ });
  }
  window.caseclockPoll = poll;
  setInterval(poll, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { poll(); } });
})();
