// Copy to the clipboard. navigator.clipboard needs a secure context (http://127.0.0.1 is one,
// http://a-lan-address is not), so fall back to a hidden textarea and execCommand there.

export async function copyText(text: string, button?: HTMLButtonElement): Promise<void> {
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch {
    ok = false;
  }
  if (!ok) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
  }
  if (button) {
    const label = button.dataset.label ?? button.textContent ?? "";
    button.dataset.label = label;
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = label; }, 1200);
  }
}
