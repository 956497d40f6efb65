// Theory-of-mind questions, keyboard first: a/b/... or 1/2/... answer the highlighted question and
// move to the next one; arrow keys change question; Shift+1..5 set the optional confidence of the
// question just answered (or, after moving, of the highlighted one).
(function () {
  "use strict";

  function questions() { return Array.from(document.querySelectorAll(".tom-question")); }
  function current() { return document.querySelector(".tom-question.current"); }
  function setCurrent(question) {
    if (!question) return;
    questions().forEach(function (q) { q.classList.toggle("current", q === question); });
    question.scrollIntoView({ block: "nearest" });
  }
  let answered = null; // the question the last key answered, while no other key came after it

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || !Workbench.keysFree(event)) return;
    const list = questions();
    if (!list.length) return;
    const here = current() || list[0];
    const rated = answered && list.indexOf(answered) >= 0 ? answered : here;
    if (event.key !== "Shift") answered = null;
    const index = list.indexOf(here);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      setCurrent(list[Math.max(0, Math.min(list.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)))]);
      event.preventDefault();
      return;
    }
    const digit = /^Digit([1-9])$/.exec(event.code || "");
    if (event.shiftKey && digit) {
      const level = rated.querySelector('input[name^="confidence:"][value="' + digit[1] + '"]');
      if (level) { check(level); event.preventDefault(); }
      answered = rated;
      return;
    }
    if (event.shiftKey) return;
    let choice = null;
    if (/^[a-j]$/.test(event.key)) choice = here.querySelector('input[data-key="' + event.key + '"]');
    else if (/^[1-9]$/.test(event.key)) choice = here.querySelector('input[data-number="' + event.key + '"]');
    if (!choice) return;
    check(choice);
    answered = here;
    event.preventDefault();
    const next = list.slice(index + 1).find(function (q) { return !q.querySelector('input[name^="answer:"]:checked'); });
    if (next) setCurrent(next);
  });

  function check(input) {
    input.checked = true;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // A restored draft (reload, validation error) goes on at the first question still open.
  function resume() {
    const open = questions().find(function (q) { return !q.querySelector('input[name^="answer:"]:checked'); });
    if (open && current() && current().querySelector('input[name^="answer:"]:checked')) setCurrent(open);
  }
  document.addEventListener("htmx:afterSettle", resume);
  document.addEventListener("DOMContentLoaded", resume);

  document.addEventListener("click", function (event) {
    answered = null;
    const question = event.target.closest && event.target.closest(".tom-question");
    if (question) setCurrent(question);
  });
})();
