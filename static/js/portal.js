// Small progressive enhancements; every page works without JavaScript.
// No inline script or handler anywhere (the Content-Security-Policy forbids them): behaviour lives here.
document.addEventListener("htmx:responseError", function (evt) {
  alert("The request failed (" + evt.detail.xhr.status + "). Please try again.");
});

// A <select data-submit-on-change> (the header's organization switcher) sends its form when changed.
document.addEventListener("change", function (evt) {
  var target = evt.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-submit-on-change") && target.form) {
    target.form.submit();
  }
});
