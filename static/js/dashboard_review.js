// Review queue of diverging items: keyboard first. Number keys toggle categories, n writes a
// note, Enter saves and goes to the next item, j/k move without saving. The item part of the
// page is swapped by htmx, so elements are looked up at each key press.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && target.type !== "checkbox" && target.type !== "radio"));
  }

  function save() {
    var form = document.getElementById("tag-form");
    if (form) { form.requestSubmit(); }
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (link) { link.click(); }
  }

  document.documentElement.setAttribute("data-review-keys", "on");  // ready (tests wait on it)
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.metaKey) { return; }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); event.preventDefault(); }
      else if (event.key === "Enter" && event.ctrlKey) { event.preventDefault(); save(); }
      return;
    }
    if (event.ctrlKey) { return; }
    if (/^[0-9]$/.test(event.key)) {
      var box = document.querySelector('#tag-form input[data-key="' + event.key + '"]');
      if (box) { box.checked = !box.checked; event.preventDefault(); }
    } else if (event.key === "n") {
      var note = document.getElementById("tag-note");
      if (note) { event.preventDefault(); note.focus(); }
    } else if (event.key === "Enter") {
      if (event.target && (event.target.tagName === "A" || event.target.tagName === "BUTTON")) { return; }
      event.preventDefault();
      save();
    } else if (event.key === "j") {
      follow("review-next");
    } else if (event.key === "k") {
      follow("review-prev");
    }
  });
})();
