// Forms that answer with a file (a member's card or list, a batch download), and the password re-entry page
// in front of them: <form data-documents-issue data-return-to="URL">. A download leaves the page as it was,
// so the form carries a random token; the server sends it back in a cookie with the file, and when it arrives
// the page goes to data-return-to (the member or the batch), where the success message waits.
// Without this script the file still downloads; the page just stays.
(function () {
  const COOKIE = "efnet_download";

  function randomToken() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function cookieValue() {
    const found = document.cookie.split("; ").find(function (c) { return c.indexOf(COOKIE + "=") === 0; });
    return found ? found.slice(COOKIE.length + 1) : "";
  }

  function clearCookie() {
    document.cookie = COOKIE + "=; Max-Age=0; Path=/; SameSite=Strict";
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.matches("[data-documents-issue]") || event.defaultPrevented) { return; }
    let field = form.querySelector("input[name=download_token]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "download_token";
      form.appendChild(field);
    }
    const token = randomToken();
    field.value = token;
    const returnTo = form.dataset.returnTo || window.location.pathname;
    const started = Date.now();
    const timer = window.setInterval(function () {
      if (cookieValue() === token) {
        window.clearInterval(timer);
        clearCookie();
        window.location.assign(returnTo);
      } else if (Date.now() - started > 10 * 60 * 1000) {
        window.clearInterval(timer);  // the answer was a page (re-entry, an error) or never came
      }
    }, 300);
  });
})();
