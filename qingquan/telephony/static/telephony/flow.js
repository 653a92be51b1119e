// The test call's keypad: each button adds its key to the keys field.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-key]");
  if (!button) return;
  const field = document.getElementById("test-keys");
  if (!field) return;
  const key = button.dataset.key;
  field.value = key === " " || key === "-" ? `${field.value.trimEnd()} ${key === "-" ? "- " : ""}`.trimStart() : field.value + key;
  field.focus();
});
