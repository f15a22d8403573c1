function(select) {
  const el = this;
  el.focus({preventScroll: true});
  if (!select) return true;
  if (typeof el.select === "function" && ["input", "textarea"].includes(el.tagName.toLowerCase())) {
    try { el.select(); return true; } catch (e) { /* types without selection (number, email) */ }
  }
  const doc = el.ownerDocument, sel = doc.getSelection();
  if (el.isContentEditable && sel) {
    const range = doc.createRange(); range.selectNodeContents(el); sel.removeAllRanges(); sel.addRange(range);
  }
  return true;
}
