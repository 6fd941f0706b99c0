// Copy buttons, confirmation dialogs and one-submission-only forms for the developer portal.
"use strict";

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain HTTP on a non-local host has no clipboard API: copy from a temporary text area.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.appendChild(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  copyText(source.textContent).then(
    () => { button.textContent = "Copied"; button.classList.add("copied"); },
    () => { button.textContent = "Select and copy"; },
  );
  setTimeout(() => { button.textContent = "Copy"; button.classList.remove("copied"); }, 2000);
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm) {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    // The server asks again on a page of its own unless the form says the user agreed.
    if (!form.querySelector("input[name=confirmed]")) {
      const agreed = document.createElement("input");
      agreed.type = "hidden";
      agreed.name = "confirmed";
      agreed.value = "yes";
      form.appendChild(agreed);
    }
  }
  if (form.dataset.submitted) {
    event.preventDefault(); // a double click sends the form once
    return;
  }
  form.dataset.submitted = "yes";
  form.querySelectorAll("button[type=submit]").forEach((button) => button.classList.add("busy"));
});
