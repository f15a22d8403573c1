(values) => {
  //@bundle
  // For each value, the smallest visible element whose text holds it (or a field holding it),
  // searched through open shadow roots and same-origin frames. Each element's text is taken
  // once for all the values.
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return false;
    return el.checkVisibility ? el.checkVisibility({opacityProperty: true, visibilityProperty: true}) : true;
  };
  const roots = [];
  const collect = (root) => {
    roots.push(root);
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) collect(el.shadowRoot);
      if (el.tagName === "IFRAME" || el.tagName === "FRAME") {
        let sub = null;
        try { sub = el.contentDocument; } catch (e) { sub = null; }
        if (sub && sub.documentElement) collect(sub);
      }
    }
  };
  collect(document);
  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "TITLE"]);
  const fields = new Set(["INPUT", "TEXTAREA", "SELECT"]);
  const needles = values.map(__norm);
  const best = needles.map(() => null), bestLength = needles.map(() => Infinity);
  for (const root of roots) {
    for (const el of root.querySelectorAll("*")) {
      if (skip.has(el.tagName)) continue;
      const field = fields.has(el.tagName);
      const text = field ? __norm(el.value) : __norm(el.textContent);
      if (!text) continue;
      let shown = null;
      needles.forEach((needle, i) => {
        if (!needle || text.length >= bestLength[i] || !text.includes(needle)) return;
        if (shown === null) shown = visible(el) ? (field ? text : __norm(el.innerText || el.textContent)) : "";
        if (!shown.includes(needle)) return;
        best[i] = el; bestLength[i] = text.length;
      });
    }
  }
  return best.map((el) => {
    if (!el) return null;
    const field = fields.has(el.tagName);
    return {bundle: __bundleOf(el), text: field ? __norm(el.value) : __norm(el.innerText || el.textContent)};
  });
}
