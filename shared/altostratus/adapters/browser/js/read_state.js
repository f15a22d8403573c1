function(expected, compare) {
  const el = this;
  if (!el.isConnected) return {connected: false};
  const tag = el.tagName.toLowerCase();
  const type = (el.getAttribute("type") || "").toLowerCase();
  const out = {connected: true, tag, type};
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  let value = null;
  if (tag === "input" || tag === "textarea") value = el.value;
  else if (tag === "select") value = [...el.selectedOptions].map((o) => o.label || o.text).join(", ");
  else if (el.isContentEditable) value = el.innerText;
  else if (el.getAttribute("role") === "combobox" || el.getAttribute("aria-haspopup")) value = el.innerText || el.value || "";
  if (type === "checkbox" || type === "radio") out.checked = el.checked;
  else if (el.hasAttribute("aria-checked")) out.checked = el.getAttribute("aria-checked") === "true";
  if (type === "file") out.files = [...(el.files || [])].map((f) => f.name);
  if (value !== null) {
    if (compare) out.matches = norm(value) === norm(expected) || (compare === "suffix" && norm(value).endsWith(norm(expected)));
    if (type === "password") { out.masked = true; out.length = value.length; }
    else out.value = norm(value).slice(0, 300);
  }
  return out;
}
