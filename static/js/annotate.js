// Keyboard-first annotation: 1-5 pick the scale, Enter submits, S skips.
(function () {
  "use strict";
  let shownAt = performance.now();

  function form() { return document.getElementById("annotation-form"); }

  function typing(event) {
    const tag = event.target && event.target.tagName;
    return tag === "TEXTAREA" || (tag === "INPUT" && event.target.type === "text");
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const f = form();
    if (!f) return;
    if (typing(event)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (/^[1-9]$/.test(event.key)) {
      const input = f.querySelector('input[name="preference"][data-key="' + event.key + '"]');
      if (input) { input.checked = true; input.focus(); event.preventDefault(); }
    } else if (event.key === "Enter") {
      event.preventDefault();
      f.requestSubmit();
    } else if (event.key === "s" || event.key === "S") {
      const skip = document.getElementById("skip-button");
      if (skip) { event.preventDefault(); skip.click(); }
    }
  });

  document.addEventListener("submit", function (event) {
    const f = event.target;
    if (f.id !== "annotation-form") return;
    const field = f.querySelector('input[name="time_spent_ms"]');
    if (field) field.value = String(Math.round(performance.now() - shownAt));
  }, true);

  document.addEventListener("htmx:afterSwap", function () { shownAt = performance.now(); });
  // A double press of Enter must not send the form twice while the first request is in flight.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const f = form();
    if (f && event.target === f) {
      if (f.dataset.busy === "1") { event.preventDefault(); return; }
      f.dataset.busy = "1";
    }
  });
  // A request that failed (server error, network down) swaps nothing in: say so, and let the
  // annotator try again instead of leaving the form marked busy for good.
  document.addEventListener("htmx:afterRequest", function (event) {
    const pane = document.getElementById("item-pane");
    if (event.detail.successful || !pane || !pane.contains(event.target)) return;
    const f = form();
    if (f) delete f.dataset.busy;
    let note = document.getElementById("request-error");
    if (!note) {
      note = document.createElement("p");
      note.id = "request-error";
      note.className = "error";
      note.setAttribute("role", "alert");
      pane.insertBefore(note, f);
    }
    const status = event.detail.xhr && event.detail.xhr.status;
    note.textContent = (status ? "The server answered " + status : "No answer from the server") +
      ": nothing was saved. Press Enter (or S) to try again.";
  });
})();
