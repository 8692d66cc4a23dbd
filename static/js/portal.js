// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("htmx:responseError", function (evt) {
  alert("The request failed (" + evt.detail.xhr.status + "). Please try again.");
});
