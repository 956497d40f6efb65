// The annotator's workbench, shared by every task type:
// - keys: shortcuts act only while focus is not in a control with its own use for keys (text
//   field, button, link, select, contenteditable); Enter submits, Ctrl/Cmd+Enter submits from a
//   text field too, S skips, ? lists every shortcut of the page (the page's list plus the one its
//   task type declares in [data-keys]);
// - drafts: every mark on the current item is kept in localStorage under its assignment, put back
//   whenever the item's form is rendered again, and dropped once the item is submitted or skipped;
// - an expired session sends the browser to log in and back to this page, never a page in a page;
// - the time on the current item, and the instructions panel.
// Task scripts use window.Workbench: keysFree(event), draft(part), keep(part, data).
(function () {
  "use strict";
  const KEEP_DAYS = 7;
  let shownAt = Date.now(), shownFor = null, pending = null, timer = null;

  function form() { return document.getElementById("annotation-form"); }
  function formFor(id) { return document.querySelector('#annotation-form[data-assignment="' + id + '"]'); }

  // --- keys
  function ownsKeys(node) {
    if (!node || !node.tagName) return false;
    if (node.isContentEditable) return true;
    const tag = node.tagName;
    if (/^(TEXTAREA|SELECT|BUTTON|A|SUMMARY)$/.test(tag)) return true;
    return tag === "INPUT" && !/^(radio|checkbox|range)$/.test(node.type);
  }
  function keysFree(event) {
    return !ownsKeys(event.target) && !document.querySelector("dialog[open]");
  }

  // --- drafts (a store that fails, as in some private modes, keeps nothing and breaks nothing)
  const store = (function () {
    try { localStorage.setItem("wb", "1"); localStorage.removeItem("wb"); return localStorage; } catch (e) { return null; }
  })();
  function draftKey(id) { return "draft:" + id; }
  function readDraft(id) {
    try { return JSON.parse(store.getItem(draftKey(id))) || null; } catch (e) { return null; }
  }
  function writeDraft(id, draft) {
    draft.at = Date.now();
    try { store.setItem(draftKey(id), JSON.stringify(draft)); } catch (e) { /* full: keep going */ }
  }
  function fields(f) {
    return Array.from(f.elements).filter(function (el) {
      return el.name && !/^(hidden|submit|button|file)$/.test(el.type);
    });
  }
  function saveNow() {
    timer = null;
    const f = form();
    if (!f || !store) return;
    const draft = readDraft(f.dataset.assignment) || {};
    draft.fields = [];
    fields(f).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") { if (el.checked) draft.fields.push([el.name, el.value]); }
      else if (el.tagName === "SELECT" && el.multiple) {
        Array.from(el.selectedOptions).forEach(function (o) { draft.fields.push([el.name, o.value]); });
      } else draft.fields.push([el.name, el.value]);
    });
    writeDraft(f.dataset.assignment, draft);
  }
  function save() { if (!timer) timer = setTimeout(saveNow, 0); }
  function restore(f) {
    const draft = store && readDraft(f.dataset.assignment);
    if (!draft || !draft.fields) return;
    const has = function (name, value) { return draft.fields.some(function (p) { return p[0] === name && p[1] === value; }); };
    fields(f).forEach(function (el) {
      if (el.type === "radio" || el.type === "checkbox") el.checked = has(el.name, el.value);
      else if (el.tagName === "SELECT" && el.multiple) Array.from(el.options).forEach(function (o) { o.selected = has(el.name, o.value); });
      else {
        const pair = draft.fields.find(function (p) { return p[0] === el.name; });
        if (pair) el.value = pair[1];
      }
    });
  }
  function prune() {
    if (!store) return;
    const old = Date.now() - KEEP_DAYS * 864e5;
    Object.keys(store).forEach(function (key) {
      if (key.indexOf("draft:") !== 0) return;
      const d = readDraft(key.slice(6));
      if (!d || !(d.at > old)) store.removeItem(key);
    });
  }
  window.Workbench = {
    keysFree: keysFree,
    // A task script's own part of the draft (state that is not in named form fields).
    draft: function (part) {
      const f = form(), d = f && store && readDraft(f.dataset.assignment);
      return d && d.parts ? d.parts[part] : undefined;
    },
    keep: function (part, data) {
      const f = form();
      if (!f || !store) return;
      const d = readDraft(f.dataset.assignment) || {};
      d.parts = d.parts || {};
      d.parts[part] = data;
      writeDraft(f.dataset.assignment, d);
    },
  };

  // --- the item on screen: put its draft back, start its clock
  function shown() {
    const f = form();
    if (!f) { shownFor = null; return; }
    if (f.dataset.assignment !== shownFor) { shownFor = f.dataset.assignment; shownAt = Date.now(); }
    restore(f);
    tick();
  }
  function tick() {
    const clock = document.getElementById("item-clock");
    if (!clock) return;
    const s = Math.floor((Date.now() - shownAt) / 1000);
    clock.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  setInterval(tick, 1000);

  // --- the shortcut list and the instructions panel
  function openKeys() {
    const dialog = document.getElementById("keys-dialog");
    if (!dialog) return;
    const list = dialog.querySelector("#keys-task");
    list.replaceChildren();
    document.querySelectorAll("#work [data-keys] > li").forEach(function (li) { list.appendChild(li.cloneNode(true)); });
    dialog.showModal();
  }
  function toggleInstructions(open) {
    const panel = document.getElementById("instructions");
    const button = document.getElementById("instructions-toggle");
    if (!panel) return;
    panel.hidden = open === undefined ? !panel.hidden : !open;
    if (button) button.setAttribute("aria-expanded", String(!panel.hidden));
  }
  document.addEventListener("click", function (event) {
    const t = event.target.closest && event.target.closest("button");
    if (!t) return;
    if (t.id === "keys-toggle") openKeys();
    else if (t.id === "instructions-toggle") toggleInstructions();
    else if (t.dataset.close === "instructions") toggleInstructions(false);
    else if (t.dataset.close === "dialog") t.closest("dialog").close();
  });

  document.addEventListener("keydown", function (event) {
    const f = form();
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && f && f.contains(event.target)) {
      event.preventDefault();
      f.requestSubmit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && !document.querySelector("dialog[open]")) {
      const panel = document.getElementById("instructions");
      if (ownsKeys(event.target) && event.target.blur) event.target.blur();
      else if (panel && !panel.hidden && window.matchMedia("(max-width: 999px)").matches) toggleInstructions(false);
      return;
    }
    if (!keysFree(event)) {
      // Enter in a one-line field would send a half-done form: Ctrl/Cmd+Enter does that on purpose.
      if (event.key === "Enter" && event.target.tagName === "INPUT" && f && f.contains(event.target)) event.preventDefault();
      return;
    }
    if (event.key === "?") { event.preventDefault(); openKeys(); return; }
    if (!f) return;
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
  ["input", "change", "keyup", "click"].forEach(function (type) {
    document.addEventListener(type, function (event) { if (form() && form().contains(event.target)) save(); });
  });

  document.addEventListener("submit", function (event) {
    const f = event.target;
    if (f.id !== "annotation-form") return;
    const field = f.querySelector('input[name="time_spent_ms"]');
    if (field) field.value = String(Date.now() - shownAt);
  }, true);

  // A double press of Enter must not send the form twice while the first request is in flight.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const f = form();
    if (!f || !f.contains(event.target)) return;
    if (event.target === f) {
      if (f.dataset.busy === "1") { event.preventDefault(); return; }
      f.dataset.busy = "1";
    }
    saveNow();
    pending = f.dataset.assignment;
  });
  // A session that expired answers with the login page: go there, and come back to this item.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const xhr = event.detail.xhr, login = document.body.dataset.loginUrl;
    if (!xhr || !login || !xhr.responseURL) return;
    if (new URL(xhr.responseURL).pathname === new URL(login, location.href).pathname) {
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      window.location.assign(login + "?next=" + encodeURIComponent(location.pathname + location.search));
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    // The item that was sent is gone from the page: it was submitted or skipped.
    if (pending && !formFor(pending) && store) store.removeItem(draftKey(pending));
    pending = null;
    shown();
  });
  // A request that failed (server error, network down) swaps nothing in: say so, and let the
  // annotator try again instead of leaving the form marked busy for good.
  document.addEventListener("htmx:afterRequest", function (event) {
    const pane = document.getElementById("item-pane");
    if (event.detail.successful || !pane || !pane.contains(event.target)) return;
    pending = null;
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
      ": nothing was saved, and your marks are kept. Press Enter (or S) to try again.";
  });
  // Each server-side error also stands next to the control it concerns: the form's control named
  // by the error's path ("value.tones.c3" -> "tones:c3", "value.answers.q1" -> "answer:q1",
  // "value.aspects.style" -> "aspect_style", "value.rationale" -> "rationale"), else the task's own
  // [data-field] container, else it stays in the list at the top only.
  function controlFor(f, path) {
    const parts = path.replace(/^value\./, "").split(".");
    const head = parts[0], one = head.replace(/s$/, "");
    const names = parts.length > 1
      ? [head + ":" + parts[1], one + ":" + parts[1], one + "_" + parts[1], head]
      : [head];
    for (const name of names) {
      const hit = f.querySelector('[name="' + CSS.escape(name) + '"]');
      if (hit) return hit;
    }
    return f.querySelector('[data-field="' + CSS.escape(head) + '"]');
  }
  function placeErrors() {
    const f = form();
    if (!f) return;
    f.querySelectorAll(".field-error").forEach(function (old) { old.remove(); });
    f.querySelectorAll("#form-errors li[data-field]").forEach(function (li) {
      const control = controlFor(f, li.dataset.field);
      if (!control) return;
      const near = control.closest("fieldset, li.comment, .question, .aspect, section") || control.parentNode;
      const note = document.createElement("p");
      note.className = "field-error";
      note.textContent = li.textContent;
      near.appendChild(note);
    });
  }
  document.addEventListener("DOMContentLoaded", placeErrors);
  document.addEventListener("htmx:afterSettle", placeErrors);
  document.addEventListener("DOMContentLoaded", function () { prune(); shown(); });
})();
