// Member page: an issue form downloads a PDF and the page stays; reload it shortly after so the new card
// appears in the issue history. Batch page: nothing needed (htmx polls the progress).
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (!form.matches("[data-documents-issue]") || event.defaultPrevented) { return; }
  const status = document.querySelector("[data-documents-status]");
  window.setTimeout(function () {
    if (status) { status.hidden = false; }
    window.setTimeout(function () { window.location.reload(); }, 1500);
  }, 1500);
});
