// The order form: add and remove lines without a reload, live line values and order total,
// catalog search for product codes, "importer same as recipient". The form works without it.
(function () {
  "use strict";

  function money(n) { return isFinite(n) ? n.toFixed(2) : "–"; }

  function init() {
    var form = document.getElementById("order-form");
    if (!form) return;
    var rows = document.getElementById("line-rows");
    var total = document.getElementById("order-total");
    var datalist = document.getElementById("catalog-skus");
    var catalogUrl = form.getAttribute("data-catalog-url");

    function prices() {
      var out = {};
      datalist.querySelectorAll("option").forEach(function (o) { out[o.value] = o.getAttribute("data-price"); });
      return out;
    }

    function recalc() {
      var sum = 0;
      rows.querySelectorAll("tr[data-line]").forEach(function (row) {
        var cell = row.querySelector(".line-total");
        if (row.classList.contains("deleted")) { cell.textContent = "–"; return; }
        var q = row.querySelector(".line-quantity").value;
        var v = row.querySelector(".line-value").value;
        var qn = /^\d+$/.test(q) ? parseInt(q, 10) : NaN;
        var vn = v === "" ? NaN : parseFloat(v);
        var line = qn * vn;
        cell.textContent = isFinite(line) ? money(line) : "–";
        if (isFinite(line)) sum += line;
      });
      total.textContent = money(sum);
    }

    // Adding and removing lines: the shared formset rows (portal.js); the total follows every change.
    document.getElementById("lines").addEventListener("formset:change", recalc);

    var timer = null;
    rows.addEventListener("input", function (evt) {
      var t = evt.target;
      if (t.classList.contains("line-product")) {
        clearTimeout(timer);
        timer = setTimeout(function () {
          fetch(catalogUrl + "?q=" + encodeURIComponent(t.value), {headers: {"HX-Request": "true"}})
            .then(function (r) { return r.ok ? r.text() : ""; })
            .then(function (html) { if (html) datalist.innerHTML = html; });
        }, 200);
      }
      recalc();
    });
    rows.addEventListener("change", function (evt) {
      var t = evt.target;
      if (t.classList.contains("line-product")) {
        var price = prices()[t.value];
        var value = t.closest("tr").querySelector(".line-value");
        if (price && value.value === "") { value.value = parseFloat(price).toFixed(2); }
      }
      recalc();
    });

    var same = document.getElementById("id_importer_same_as_recipient");
    var importer = document.getElementById("importer");
    function toggleImporter() { if (same && importer) importer.hidden = same.checked; }
    if (same) { same.addEventListener("change", toggleImporter); toggleImporter(); }

    recalc();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
