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

  // A serial page's refresh never redraws over an operator's work. It waits while they write a message
  // for a task (a redraw would lose what they typed), and an answer that arrives once they have started
  // typing, or after they sent an action, is dropped: their own action's answer redraws the page, and
  // the next refresh brings what changed meanwhile.
  var issued = 0;
  var lastAction = 0;

  function typing(live) {
    return Array.prototype.some.call(live.querySelectorAll(".task-action input[name=message]"), function (input) {
      return input.value !== "" || input === document.activeElement;
    });
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!elt) return;
    if (elt.id === "serial-live") {
      if (typing(elt)) evt.preventDefault();
      else evt.detail.xhr.portalIssued = ++issued;
    } else if (elt.closest && elt.closest("#serial-live")) {
      lastAction = ++issued;
    }
  });

  // (htmx names the swap's target as this event's elt, so a refresh is known by the mark on its request.)
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    if (!xhr || xhr.portalIssued === undefined) return;
    if (xhr.portalIssued < lastAction || typing(evt.detail.elt)) evt.detail.shouldSwap = false;
  });

  function start() {
    tick();
    window.setInterval(tick, 15000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
