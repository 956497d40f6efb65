// A reopened item (the annotator's history): put their current answer into the form's own
// controls. The server sends it as form fields (name -> values) in #current-form; each control
// gets a "change" event so the task type's script updates what it shows (listed after the task
// scripts, so their listeners are in place).
(function () {
  "use strict";
  function fill() {
    const data = document.getElementById("current-form");
    const form = document.getElementById("annotation-form");
    if (!data || !form) return;
    const fields = JSON.parse(data.textContent);
    Object.keys(fields).forEach(function (name) {
      const values = fields[name].map(String);
      form.querySelectorAll("[name]").forEach(function (control) {
        if (control.name !== name) return;
        if (control.type === "radio" || control.type === "checkbox") {
          control.checked = values.indexOf(control.value) !== -1;
        } else if (control.tagName === "SELECT" && control.multiple) {
          Array.from(control.options).forEach(function (o) { o.selected = values.indexOf(o.value) !== -1; });
        } else if (control.type !== "hidden" && control.type !== "file") {
          control.value = values[0] || "";
        } else {
          return;
        }
        control.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fill);
  else fill();
})();
