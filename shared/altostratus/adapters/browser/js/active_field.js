function() {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body) return null;
  const tag = el.tagName.toLowerCase();
  return (tag === "input" || tag === "textarea" || el.isContentEditable) ? el : null;
}
