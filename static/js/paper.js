// Paper view: "Copy LaTeX" puts a table's LaTeX on the clipboard (selects it where the clipboard
// API is refused, so Ctrl+C still works).
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy-latex");
  if (!button) return;
  const pre = document.getElementById(button.dataset.target);
  const status = button.parentElement.querySelector(".copied");
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(pre);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  };
  const done = (text) => { if (status) status.textContent = text; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(pre.textContent).then(
      () => done("Copied."),
      () => { select(); done("Selected: press Ctrl+C to copy."); },
    );
  } else {
    select();
    done("Selected: press Ctrl+C to copy.");
  }
});
