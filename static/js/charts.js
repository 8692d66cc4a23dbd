// Draws every chart of a page: each <figure data-chart> of templates/includes/chart.html (portal/charts.py).
// Its data comes from the json_script element the attribute names (no inline script: the
// Content-Security-Policy forbids it). The vendored Chart.js (static/vendor/chartjs/) is fetched only
// when the page has a chart; without JavaScript each chart's table shows the same numbers.
(function () {
  "use strict";
  var PALETTE = ["#1f5fa8", "#e07b00", "#2e8540", "#a23b72", "#6b7280"];
  var waiting = null; // callbacks waiting for Chart.js while it loads

  function withChartJs(src, done) {
    if (window.Chart) {
      done();
      return;
    }
    if (waiting) {
      waiting.push(done);
      return;
    }
    waiting = [done];
    var script = document.createElement("script");
    script.src = src;
    script.onload = function () {
      var callbacks = waiting;
      waiting = null;
      callbacks.forEach(function (callback) {
        callback();
      });
    };
    document.head.appendChild(script);
  }

  function numberFormat(places, compact) {
    var lang = document.documentElement.lang || undefined;
    if (compact) {
      return new Intl.NumberFormat(lang, { notation: "compact", maximumFractionDigits: 1 });
    }
    return new Intl.NumberFormat(lang, { minimumFractionDigits: places, maximumFractionDigits: places });
  }

  function draw(figure) {
    if (figure.getAttribute("data-chart-drawn")) {
      return;
    }
    var source = document.getElementById(figure.getAttribute("data-chart"));
    var canvas = figure.querySelector("canvas");
    if (!source || !canvas) {
      return;
    }
    figure.setAttribute("data-chart-drawn", "1");
    var spec = JSON.parse(source.textContent);
    var exact = numberFormat(spec.places, false);
    var axis = numberFormat(spec.places, true);
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { display: spec.datasets.length > 1 },
        tooltip: {
          callbacks: {
            label: function (context) {
              return context.dataset.label + ": " + exact.format(context.parsed.y);
            },
          },
        },
      },
      scales: {
        y: {
          beginAtZero: true,
          ticks: {
            callback: function (value) {
              return axis.format(value);
            },
          },
        },
      },
    };
    if (window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      options.animation = false;
    }
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (dataset, n) {
          var colour = PALETTE[n % PALETTE.length];
          return { label: dataset.label, data: dataset.data, backgroundColor: colour, borderColor: colour };
        }),
      },
      options: options,
    });
  }

  function drawAll(root) {
    var figures = [];
    if (root.matches && root.matches("figure[data-chart]")) {
      figures.push(root);
    }
    if (root.querySelectorAll) {
      figures = figures.concat(Array.prototype.slice.call(root.querySelectorAll("figure[data-chart]")));
    }
    figures = figures.filter(function (figure) {
      return !figure.getAttribute("data-chart-drawn");
    });
    if (!figures.length) {
      return;
    }
    withChartJs(figures[0].getAttribute("data-chart-lib"), function () {
      figures.forEach(draw);
    });
  }

  drawAll(document); // a deferred script: the document is parsed
  document.addEventListener("htmx:load", function (evt) {
    drawAll(evt.target); // a chart htmx swapped in
  });
})();
