// The automation board and a serial's page: the time spent in the current task keeps counting, and a
// task that passes its stuck limit while the page is open is flagged without waiting for a change.
// The rows themselves are refreshed by htmx (the board's #board-refresh, the serial page's #serial-live).
// Loaded in the page's head (deferred), before htmx processes the page.
(function () {
  "use strict";

  function elapsed(since, now) {
    var minutes = Math.max(0, Math.floor((now - since) / 60000));
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 48) return hours + " h " + (minutes < 10 ? "0" : "") + minutes + " min";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-elapsed]").forEach(function (t) {
      var since = Date.parse(t.getAttribute("datetime"));
      if (!isNaN(since)) t.textContent = elapsed(since, now);
    });
    document.querySelectorAll(".stuck-flag[hidden]").forEach(function (flag) {
      var at = Date.parse(flag.getAttribute("data-stuck-at"));
      if (!isNaN(at) && at <= now) flag.hidden = false;
    });
  }

  // A serial page's refresh waits while an operator is writing a message for a task: a redraw would
  // lose what they typed. Their own action's answer redraws the page anyway.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!elt || elt.id !== "serial-live") return;
    var typing = Array.prototype.some.call(elt.querySelectorAll(".task-action input[name=message]"), function (input) {
      return input.value !== "" || input === document.activeElement;
    });
    if (typing) evt.preventDefault();
  });

  function start() {
    tick();
    window.setInterval(tick, 15000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
