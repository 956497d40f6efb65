// Visual arguments. Structure mode: draw, move, resize and delete boxes on the image (mouse,
// touch or pen through Pointer Events, or the keyboard), write each premise, add commonsense premises, link reasoning steps into a tree that
// ends in C. The whole structure travels as JSON in the hidden field value_json, in image pixels.
// Identification mode: 1-9 pick a premise option.
(function () {
  "use strict";
  const MIN = 4; // smallest box side in image pixels
  let state = null;
  let drag = null;
  let resizeMode = false;

  function root() { return document.getElementById("va-root"); }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function say(text) { const m = document.getElementById("va-message"); if (m) m.textContent = text; }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function nextId(prefix, list) {
    let n = 0;
    list.forEach(function (x) { n = Math.max(n, Number(x.id.slice(prefix.length)) || 0); });
    return prefix + (n + 1);
  }
  function scale() {
    const img = document.getElementById("va-image");
    return img.getBoundingClientRect().width / state.width || 1;
  }
  function point(event) {
    const rect = document.getElementById("va-image").getBoundingClientRect();
    const s = scale();
    return { x: clamp((event.clientX - rect.left) / s, 0, state.width),
             y: clamp((event.clientY - rect.top) / s, 0, state.height) };
  }

  // --- the value
  function value() {
    return {
      visual_premises: state.boxes.map(function (b) {
        return { id: b.id, text: b.text, box: { x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.w), h: Math.round(b.h) } };
      }),
      commonsense_premises: state.cps.map(function (c) { return { id: c.id, text: c.text }; }),
      reasoning_steps: state.steps.map(function (s) { return { from: s.from.slice(), to: s.to, text: s.text }; }),
      conclusion: document.getElementById("va-conclusion").value,
    };
  }
  function save() {
    const field = document.getElementById("va-value");
    if (!field) return;
    field.value = JSON.stringify(value());
    Workbench.keep("va", { boxes: state.boxes, cps: state.cps, steps: state.steps, conclusion: document.getElementById("va-conclusion").value });
  }

  // --- drawing the boxes
  function renderBoxes() {
    const stage = document.getElementById("va-stage");
    stage.querySelectorAll(".va-box").forEach(function (b) { b.remove(); });
    const s = scale();
    state.boxes.forEach(function (b, index) {
      const node = el("div", { "class": "va-box" + (index === state.selected ? " selected" : ""), "data-index": String(index), "data-id": b.id,
        role: "img", "aria-label": "Box " + b.id + " at " + Math.round(b.x) + "," + Math.round(b.y) + ", " + Math.round(b.w) + " by " + Math.round(b.h) + " pixels" });
      node.style.left = (b.x * s) + "px";
      node.style.top = (b.y * s) + "px";
      node.style.width = (b.w * s) + "px";
      node.style.height = (b.h * s) + "px";
      node.appendChild(el("span", { "class": "va-tag" }, b.id));
      node.appendChild(el("span", { "class": "va-handle", "data-index": String(index) }));
      stage.appendChild(node);
    });
  }

  function ids() {
    return state.boxes.map(function (b) { return b.id; }).concat(state.cps.map(function (c) { return c.id; }));
  }

  function renderLists() {
    const premises = document.getElementById("va-premises");
    premises.replaceChildren();
    state.boxes.forEach(function (b, index) {
      const li = el("li", { "class": index === state.selected ? "selected" : "" });
      li.appendChild(el("strong", {}, b.id));
      const input = el("input", { type: "text", "data-kind": "vp", "data-index": String(index), "aria-label": b.id + " text", placeholder: "What does this part of the image show?" });
      input.value = b.text;
      li.appendChild(input);
      li.appendChild(el("span", { "class": "hint" }, Math.round(b.x) + "," + Math.round(b.y) + " " + Math.round(b.w) + "×" + Math.round(b.h)));
      li.appendChild(el("button", { type: "button", "data-remove": "vp", "data-index": String(index) }, "Remove"));
      premises.appendChild(li);
    });
    const cps = document.getElementById("va-commonsense");
    cps.replaceChildren();
    state.cps.forEach(function (c, index) {
      const li = el("li");
      li.appendChild(el("strong", {}, c.id));
      const input = el("input", { type: "text", "data-kind": "cp", "data-index": String(index), "aria-label": c.id + " text", placeholder: "A fact everyone knows" });
      input.value = c.text;
      li.appendChild(input);
      li.appendChild(el("button", { type: "button", "data-remove": "cp", "data-index": String(index) }, "Remove"));
      cps.appendChild(li);
    });
    const steps = document.getElementById("va-steps");
    steps.replaceChildren();
    state.steps.forEach(function (step, index) {
      const li = el("li", { "data-step": String(index) });
      const inputs = el("span", { "class": "va-inputs" });
      const produced = state.steps.filter(function (o) { return o !== step && o.to !== "C"; }).map(function (o) { return o.to; });
      ids().concat(produced).forEach(function (id) {
        const label = el("label");
        const box = el("input", { type: "checkbox", "data-step": String(index), value: id, "aria-label": "step " + (index + 1) + " uses " + id });
        box.checked = step.from.indexOf(id) >= 0;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + id));
        inputs.appendChild(label);
      });
      li.appendChild(inputs);
      li.appendChild(el("span", {}, "→"));
      const to = el("select", { "data-step": String(index), "aria-label": "step " + (index + 1) + " gives" });
      [step.ic, "C"].forEach(function (option) {
        const o = el("option", { value: option }, option === "C" ? "C (conclusion)" : option);
        if (option === step.to) o.selected = true;
        to.appendChild(o);
      });
      li.appendChild(to);
      const text = el("input", { type: "text", "data-kind": "step", "data-index": String(index), "aria-label": "step " + (index + 1) + " text", placeholder: "because…" });
      text.value = step.text;
      li.appendChild(text);
      li.appendChild(el("button", { type: "button", "data-remove": "step", "data-index": String(index) }, "Remove"));
      steps.appendChild(li);
    });
  }

  function render() { renderBoxes(); renderLists(); save(); }

  // --- editing
  function addBox(box) {
    state.boxes.push({ id: nextId("VP", state.boxes), text: "", x: box.x, y: box.y, w: box.w, h: box.h });
    state.selected = state.boxes.length - 1;
    render();
    say(state.boxes[state.selected].id + " added: describe it (Esc to leave the field).");
    // Typing the description must go into it, not fire the shortcuts of the canvas.
    const input = document.querySelector('#va-premises input[data-index="' + state.selected + '"]');
    if (input) input.focus();
  }
  function removeId(id) {
    state.steps.forEach(function (s) { s.from = s.from.filter(function (x) { return x !== id; }); });
  }
  function removeBox(index) {
    if (index === null || index === undefined || !state.boxes[index]) return;
    removeId(state.boxes[index].id);
    state.boxes.splice(index, 1);
    state.selected = state.boxes.length ? Math.min(index, state.boxes.length - 1) : null;
    render();
  }
  function addCommonsense() {
    state.cps.push({ id: nextId("CP", state.cps), text: "" });
    render();
    const inputs = document.querySelectorAll('#va-commonsense input[type="text"]');
    inputs[inputs.length - 1].focus();
  }
  function addStep() {
    const ic = nextId("IC", state.steps.map(function (s) { return { id: s.ic }; }));
    const hasC = state.steps.some(function (s) { return s.to === "C"; });
    state.steps.push({ ic: ic, from: [], to: hasC ? ic : "C", text: "" });
    render();
  }

  function init() {
    const r = root();
    if (!r || r.dataset.ready === "1" || r.dataset.mode !== "structure") return;
    r.dataset.ready = "1";
    state = { width: Number(r.dataset.width), height: Number(r.dataset.height), boxes: [], cps: [], steps: [], selected: null };
    // The work on this item kept by the workbench's draft (reload, validation error, new login).
    const saved = Workbench.draft("va");
    if (saved) {
      state.boxes = saved.boxes || []; state.cps = saved.cps || []; state.steps = saved.steps || [];
      if (typeof saved.conclusion === "string") document.getElementById("va-conclusion").value = saved.conclusion;
    }
    const img = document.getElementById("va-image");
    if (!img.complete) img.addEventListener("load", renderBoxes);
    render();
  }

  // --- pointer: mouse, touch and pen alike (the stage has touch-action: none, so a finger draws
  // instead of scrolling the page)
  document.addEventListener("pointerdown", function (event) {
    if (!state || event.button !== 0 || !root() || drag) return;
    const stage = event.target.closest && event.target.closest("#va-stage");
    if (!stage) return;
    event.preventDefault();
    if (document.activeElement && root().contains(document.activeElement)) document.activeElement.blur();
    try { stage.setPointerCapture(event.pointerId); } catch (e) { /* a synthetic pointer */ }
    const p = point(event);
    const handle = event.target.closest(".va-handle");
    const boxNode = event.target.closest(".va-box");
    if (handle) {
      state.selected = Number(handle.dataset.index);
      drag = { kind: "resize", index: state.selected };
    } else if (boxNode) {
      state.selected = Number(boxNode.dataset.index);
      const b = state.boxes[state.selected];
      drag = { kind: "move", index: state.selected, dx: p.x - b.x, dy: p.y - b.y };
    } else {
      drag = { kind: "draw", x0: p.x, y0: p.y, box: { x: p.x, y: p.y, w: 0, h: 0 } };
      state.boxes.push({ id: "…", text: "", x: p.x, y: p.y, w: 0, h: 0, drawing: true });
      drag.index = state.boxes.length - 1;
    }
    drag.pointer = event.pointerId;
    renderBoxes();
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag || !state || event.pointerId !== drag.pointer) return;
    const p = point(event);
    const b = state.boxes[drag.index];
    if (drag.kind === "draw") {
      b.x = Math.min(drag.x0, p.x); b.y = Math.min(drag.y0, p.y);
      b.w = Math.abs(p.x - drag.x0); b.h = Math.abs(p.y - drag.y0);
    } else if (drag.kind === "move") {
      b.x = clamp(p.x - drag.dx, 0, state.width - b.w);
      b.y = clamp(p.y - drag.dy, 0, state.height - b.h);
    } else {
      b.w = clamp(p.x - b.x, MIN, state.width - b.x);
      b.h = clamp(p.y - b.y, MIN, state.height - b.y);
    }
    renderBoxes();
  });

  function release(event) {
    if (!drag || !state || event.pointerId !== drag.pointer) return;
    const done = drag;
    drag = null;
    if (done.kind === "draw") {
      const b = state.boxes.pop();
      if (b.w >= MIN && b.h >= MIN) addBox(b); else renderBoxes();
    } else {
      render();
    }
  }
  document.addEventListener("pointerup", release);
  document.addEventListener("pointercancel", release);

  // --- lists
  document.addEventListener("input", function (event) {
    if (!state || !root() || !root().contains(event.target)) return;
    const t = event.target;
    const index = Number(t.dataset.index);
    if (t.dataset.kind === "vp") state.boxes[index].text = t.value;
    else if (t.dataset.kind === "cp") state.cps[index].text = t.value;
    else if (t.dataset.kind === "step") state.steps[index].text = t.value;
    save();
  });
  document.addEventListener("change", function (event) {
    if (!state || !root() || !root().contains(event.target)) return;
    const t = event.target;
    if (t.type === "checkbox" && t.dataset.step !== undefined) {
      const step = state.steps[Number(t.dataset.step)];
      step.from = step.from.filter(function (x) { return x !== t.value; });
      if (t.checked) step.from.push(t.value);
      render();
    } else if (t.tagName === "SELECT" && t.dataset.step !== undefined) {
      const index = Number(t.dataset.step);
      if (t.value === "C") {
        state.steps.forEach(function (s, i) { if (i !== index && s.to === "C") s.to = s.ic; });
      }
      state.steps[index].to = t.value;
      if (t.value === "C") removeId(state.steps[index].ic); // its IC is no longer produced
      render();
    }
  });
  document.addEventListener("click", function (event) {
    if (!state || !root() || !root().contains(event.target)) return;
    const t = event.target;
    if (t.id === "va-add-cp") addCommonsense();
    else if (t.id === "va-add-step") addStep();
    else if (t.dataset && t.dataset.remove) {
      const index = Number(t.dataset.index);
      if (t.dataset.remove === "vp") removeBox(index);
      else if (t.dataset.remove === "cp") { removeId(state.cps[index].id); state.cps.splice(index, 1); render(); }
      else {
        const gone = state.steps.splice(index, 1)[0];
        removeId(gone.ic);
        render();
      }
    }
  });

  // --- keyboard
  document.addEventListener("keydown", function (event) {
    const r = root();
    if (!r) return;
    if (event.key === "Enter" && event.target.tagName === "INPUT" && r.contains(event.target)) {
      event.preventDefault(); // Enter in a premise field must not send the form half done
      event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || !Workbench.keysFree(event)) return;
    if (r.dataset.mode === "identification") {
      const option = /^[1-9]$/.test(event.key) && r.querySelector('input[name="choice"][data-key="' + event.key + '"]');
      if (option) { option.checked = true; option.dispatchEvent(new Event("change", { bubbles: true })); event.preventDefault(); }
      return;
    }
    if (!state) return;
    const key = event.key;
    const b = state.selected !== null ? state.boxes[state.selected] : null;
    const step = event.shiftKey ? 10 : 1;
    const arrows = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (key === "b") {
      const w = Math.max(MIN, Math.round(state.width / 4)), h = Math.max(MIN, Math.round(state.height / 4));
      addBox({ x: Math.round((state.width - w) / 2), y: Math.round((state.height - h) / 2), w: w, h: h });
    } else if (key === "[" || key === "]") {
      if (!state.boxes.length) return;
      const n = state.boxes.length;
      state.selected = state.selected === null ? 0 : (state.selected + (key === "]" ? 1 : n - 1)) % n;
      render();
    } else if (arrows[key] && b) {
      const d = arrows[key];
      if (resizeMode) {
        b.w = clamp(b.w + d[0] * step, MIN, state.width - b.x);
        b.h = clamp(b.h + d[1] * step, MIN, state.height - b.y);
      } else {
        b.x = clamp(b.x + d[0] * step, 0, state.width - b.w);
        b.y = clamp(b.y + d[1] * step, 0, state.height - b.h);
      }
      render();
    } else if (key === "r") {
      resizeMode = !resizeMode;
      say(resizeMode ? "Arrow keys now resize the selected box (r to move again)." : "Arrow keys now move the selected box.");
    } else if ((key === "Delete" || key === "Backspace") && b) {
      removeBox(state.selected);
    } else if (key === "e" && b) {
      const input = document.querySelector('#va-premises input[data-index="' + state.selected + '"]');
      if (input) input.focus();
    } else if (key === "c") {
      addCommonsense();
    } else if (key === "l") {
      addStep();
    } else {
      return;
    }
    event.preventDefault();
  });

  document.addEventListener("input", function (event) {
    if (state && event.target.id === "va-conclusion") save();
  });
  window.addEventListener("resize", function () { if (state && root()) renderBoxes(); });
  document.addEventListener("htmx:beforeSwap", function () { state = null; drag = null; });
  document.addEventListener("htmx:afterSwap", init);
  document.addEventListener("DOMContentLoaded", init);
})();
