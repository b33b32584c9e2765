// Small progressive enhancements; every page works without them.
document.addEventListener("click", function (event) {
  // Buttons that ask before acting: <button data-confirm="…">
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
  // Copy buttons: <button data-copy="#id">
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.querySelector(copy.dataset.copy);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.value || source.textContent);
      copy.textContent = "コピーしました";
    }
  }
});
// Forms that must be sent once: <form data-once> disables its submit buttons after the first submit.
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form.matches("[data-once]")) {
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-busy", "true"); });
  }
});
