(b) => {
  //@bundle
  // The text of the one element a bundle names: by test id, id or CSS path, inside its frames
  // and shadow hosts (a reading needs no accessible name: the values it reads change).
  let doc = document;
  for (const frame of b.frames || []) {
    const owner = doc.querySelector(frame);
    let sub = null;
    try { sub = owner ? owner.contentDocument : null; } catch (e) { sub = null; }
    if (!sub) return {reason: "its frame is not on the page (or not readable)"};
    doc = sub;
  }
  let root = doc;
  for (const host of b.shadow_hosts || []) {
    const found = root.querySelector(host);
    if (!found || !found.shadowRoot) return {reason: "its shadow host is not on the page"};
    root = found.shadowRoot;
  }
  const tries = [];
  if (b.test_id) tries.push(["test_id", `[${b.test_id.attribute}="${CSS.escape(b.test_id.value)}"]`]);
  if (b.element_id && __stableId(b.element_id)) tries.push(["id", `[id="${CSS.escape(b.element_id)}"]`]);
  if (b.css) tries.push(["css", b.css]);
  let counts = [];
  for (const [by, selector] of tries) {
    let found = [];
    try { found = [...root.querySelectorAll(selector)]; } catch (e) { found = []; }
    if (found.length === 1) {
      const el = found[0];
      const field = ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
      return {
        text: field ? __norm(el.value) : __norm(el.innerText || el.textContent),
        value: field ? el.value : null,
        matched_by: by,
      };
    }
    counts.push(`${found.length} match its ${by}`);
  }
  return {reason: counts.length ? counts.join("; ") : "the bundle has no test id, id or CSS path"};
}
