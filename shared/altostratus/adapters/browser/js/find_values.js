(values) => {
  //@bundle
  // For each value, the smallest visible element whose text holds it (or a field holding it),
  // searched through open shadow roots and same-origin frames.
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
  const find = (value) => {
    const needle = __norm(value);
    if (!needle) return null;
    let best = null, bestLength = Infinity;
    for (const root of roots) {
      for (const el of root.querySelectorAll("*")) {
        if (skip.has(el.tagName)) continue;
        const field = ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
        const text = field ? __norm(el.value) : __norm(el.textContent);
        if (!text.includes(needle) || text.length >= bestLength) continue;
        if (!visible(el)) continue;
        const shown = field ? text : __norm(el.innerText || el.textContent);
        if (!shown.includes(needle)) continue;
        best = el; bestLength = text.length;
      }
    }
    if (!best) return null;
    const field = ["INPUT", "TEXTAREA", "SELECT"].includes(best.tagName);
    return {bundle: __bundleOf(best), text: field ? __norm(best.value) : __norm(best.innerText || best.textContent)};
  };
  return values.map(find);
}
