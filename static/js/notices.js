// Notice editing: nothing here is needed for the page to work (htmx updates the audience count).
// Clicking a merge field name in the help text inserts it at the cursor of the body.
document.addEventListener("click", function (event) {
  const field = event.target.closest("[data-merge-field]");
  const body = document.querySelector("textarea.notice-body");
  if (!field || !body) { return; }
  event.preventDefault();
  const text = "{{ " + field.dataset.mergeField + " }}";
  const start = body.selectionStart, end = body.selectionEnd;
  body.value = body.value.slice(0, start) + text + body.value.slice(end);
  body.focus();
  body.selectionStart = body.selectionEnd = start + text.length;
});
