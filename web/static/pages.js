// Progressive touches only: every page works without this file.
// A password field's "show" button (buttons marked data-reveal="<input id>").
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-reveal]");
  if (!button) return;
  const input = document.getElementById(button.dataset.reveal);
  if (!input) return;
  const shown = input.type === "text";
  input.type = shown ? "password" : "text";
  button.setAttribute("aria-pressed", String(!shown));
});
