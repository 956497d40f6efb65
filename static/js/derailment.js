// Derailment threads, keyboard first: j/k move between comments, d marks the derailment point,
// t the toxic comment, x says no comment is toxic, n says the thread never derails, 1-9 toggle a
// tone on the current comment. The ordering rule (the derailment point is the toxic comment or
// comes before it) is kept on the page as well as by the server.
(function () {
  "use strict";

  function comments() { return Array.from(document.querySelectorAll("#thread > .comment")); }
  function current() { return document.querySelector("#thread > .comment.current"); }
  function input(comment, name) { return comment.querySelector('input[name="' + name + '"]'); }
  function say(text) {
    const note = document.getElementById("derailment-message");
    if (note) note.textContent = text;
  }

  function setCurrent(comment) {
    if (!comment) return;
    comments().forEach(function (c) { c.classList.toggle("current", c === comment); });
    comment.scrollIntoView({ block: "nearest" });
  }

  // Disable derailment choices the ordering rule forbids; clear one that became invalid.
  function sync() {
    const form = document.getElementById("annotation-form");
    if (!form || !document.getElementById("thread")) return;
    const toxic = form.querySelector('input[name="toxic_comment"]:checked');
    let toxicAt = null; // null: not chosen yet; 0: no toxic comment
    if (toxic) toxicAt = toxic.value === "none" ? 0 : Number(toxic.closest(".comment").dataset.position);
    comments().forEach(function (comment) {
      const at = Number(comment.dataset.position);
      const derail = input(comment, "derailment_comment");
      const allowed = toxicAt === null || (toxicAt > 0 && at <= toxicAt);
      derail.disabled = !allowed;
      if (!allowed && derail.checked) {
        derail.checked = false;
        say(toxicAt === 0 ? "No comment is toxic, so the thread never derails: choose Never derails (n)."
          : "The derailment point was after the toxic comment, so it was cleared.");
      }
      comment.classList.toggle("is-derailment", derail.checked);
      comment.classList.toggle("is-toxic", input(comment, "toxic_comment").checked);
    });
  }

  function check(box) {
    box.checked = true;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || !Workbench.keysFree(event)) return;
    if (!document.getElementById("thread")) return;
    const list = comments();
    const here = current() || list[0];
    const index = list.indexOf(here);
    const key = event.key;
    if (key === "j" || key === "k") {
      setCurrent(list[Math.max(0, Math.min(list.length - 1, index + (key === "j" ? 1 : -1)))]);
    } else if (key === "d") {
      const derail = input(here, "derailment_comment");
      if (derail.disabled) say("The derailment point must be the toxic comment or come before it.");
      else { check(derail); say("Derailment point: comment #" + here.dataset.position + "."); }
    } else if (key === "t") {
      say("Toxic comment: #" + here.dataset.position + ".");
      check(input(here, "toxic_comment")); // may say that a later derailment point was cleared
    } else if (key === "x") {
      check(document.querySelector('input[data-role="no-toxic"]'));
    } else if (key === "n") {
      check(document.querySelector('input[data-role="never"]'));
    } else if (/^[1-9]$/.test(key)) {
      const tone = here.querySelector('input[type="checkbox"][data-key="' + key + '"]');
      if (!tone) return;
      tone.checked = !tone.checked;
      tone.dispatchEvent(new Event("change", { bubbles: true }));
    } else {
      return;
    }
    event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("#annotation-form")) sync();
  });
  document.addEventListener("click", function (event) {
    const comment = event.target.closest && event.target.closest("#thread > .comment");
    if (comment) setCurrent(comment);
  });
  // After settling: htmx puts the server's class attributes back on elements it kept by id.
  document.addEventListener("htmx:afterSettle", sync);
  document.addEventListener("DOMContentLoaded", sync);
})();
