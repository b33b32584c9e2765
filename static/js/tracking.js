// Password-change tracking: select-all and live count on the account list, copy button for the self-report link.
(function () {
  "use strict";

  function updateCount() {
    var items = document.querySelectorAll("[data-tracking-item]");
    var n = 0;
    items.forEach(function (box) { if (box.checked) { n += 1; } });
    document.querySelectorAll("[data-tracking-count]").forEach(function (el) { el.textContent = String(n); });
    var all = document.querySelector("[data-tracking-select-all]");
    if (all) {
      all.checked = n > 0 && n === items.length;
      all.indeterminate = n > 0 && n < items.length;
    }
  }

  function init() {
    var all = document.querySelector("[data-tracking-select-all]");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("[data-tracking-item]").forEach(function (box) { box.checked = all.checked; });
        updateCount();
      });
    }
    document.querySelectorAll("[data-tracking-item]").forEach(function (box) {
      box.addEventListener("change", updateCount);
    });
    updateCount();

    document.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.addEventListener("click", function () {
        var field = document.getElementById(button.getAttribute("data-copy-target"));
        var status = button.parentElement.querySelector("[data-copy-status]");
        if (!field) { return; }
        field.select();
        var done = function () { if (status) { status.textContent = "コピーしました"; } };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
