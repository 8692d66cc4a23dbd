// Small progressive enhancements; every page works without JavaScript.
// No inline script or handler anywhere (the Content-Security-Policy forbids them): behaviour lives here.
document.addEventListener("htmx:responseError", function (evt) {
  alert("The request failed (" + evt.detail.xhr.status + "). Please try again.");
});

// A tab nobody is looking at does not poll: an order page left open for days would otherwise ask every
// 2 s. Each htmx "every" poll (a detail page's live part, the automation board and serial page) is held
// while the document is hidden and goes out at its next tick once the tab is shown again.
document.addEventListener("htmx:beforeRequest", function (evt) {
  var elt = evt.detail && evt.detail.elt;
  var trigger = elt && elt.getAttribute && elt.getAttribute("hx-trigger");
  if (document.hidden && trigger && /^\s*every\s/.test(trigger)) evt.preventDefault();
});

// A <select data-submit-on-change> (the header's organization switcher) sends its form when changed.
document.addEventListener("change", function (evt) {
  var target = evt.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-submit-on-change") && target.form) {
    target.form.submit();
  }
});

// Rows of a Django formset, added and removed without a reload (the order's lines, a queue's tasks).
// Markup: a container [data-formset="<prefix>"] holding the management form, the rows' parent
// [data-formset-rows] (each row a direct child), a <template data-formset-template> of the empty form
// (its "__prefix__" becomes the next index) and a button [data-formset-add]. A row's button .remove-row
// ticks its DELETE box (its label .row-delete is hidden) and hides the row. Every change fires
// "formset:change" on the container; a new row fires "formset:added" with the row as its detail.
(function () {
  "use strict";

  function enhance(container, row) {
    var del = row.querySelector("input[type=checkbox][name$='-DELETE']");
    var label = row.querySelector(".row-delete");
    var button = row.querySelector(".remove-row");
    if (!button) return;
    if (label) label.hidden = true;
    button.hidden = false;
    button.addEventListener("click", function () {
      if (del) del.checked = true;
      row.classList.add("deleted");
      row.hidden = true;
      container.dispatchEvent(new CustomEvent("formset:change", {bubbles: true}));
    });
    if (del && del.checked) { row.classList.add("deleted"); row.hidden = true; }
  }

  function init(container) {
    var prefix = container.getAttribute("data-formset");
    var rows = container.querySelector("[data-formset-rows]");
    var template = container.querySelector("template[data-formset-template]");
    var add = container.querySelector("[data-formset-add]");
    var total = container.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    if (!rows || !template || !add || !total) return;
    Array.prototype.forEach.call(rows.children, function (row) { enhance(container, row); });
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var holder = document.createElement(rows.tagName === "TBODY" ? "tbody" : "div");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index)).trim();
      var row = holder.firstElementChild;
      rows.appendChild(row);
      total.value = String(index + 1);
      enhance(container, row);
      container.dispatchEvent(new CustomEvent("formset:added", {bubbles: true, detail: row}));
      container.dispatchEvent(new CustomEvent("formset:change", {bubbles: true}));
      var first = row.querySelector("input:not([type=hidden]), select");
      if (first) first.focus();
    });
  }

  function start() { document.querySelectorAll("[data-formset]").forEach(init); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
