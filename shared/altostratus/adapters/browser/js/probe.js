async function(opts) {
  //@helpers

  const el = this;
  if (!el.isConnected) return {connected: false};
  const doc = el.ownerDocument, win = doc.defaultView;
  const tag = el.tagName.toLowerCase();
  const type = (el.getAttribute("type") || "").toLowerCase();
  const disabled = !!(el.disabled || el.closest("fieldset:disabled") && el.matches(":disabled")) ||
    el.getAttribute("aria-disabled") === "true";
  let target = el;
  if (!__visible(el) && el.labels && el.labels.length) {
    const label = [...el.labels].find(__visible);
    if (label) target = label;  // a visually hidden checkbox is operated through its label
  }
  let rect = target.getBoundingClientRect();
  for (let i = 0; i < 8; i++) {  // wait until the box stops moving (animations)
    await __wait(win);
    const next = target.getBoundingClientRect();
    if (next.x === rect.x && next.y === rect.y && next.width === rect.width && next.height === rect.height) break;
    rect = next;
  }
  const base = {connected: true, tag, type, disabled, via_label: target !== el,
    visible: __visible(target), rect: {x: rect.x, y: rect.y, width: rect.width, height: rect.height},
    viewport: {width: win.innerWidth, height: win.innerHeight}};
  if (!base.visible) return base;
  const root = target.getRootNode();
  const hitAt = (x, y) => (root.elementFromPoint ? root.elementFromPoint(x, y) : doc.elementFromPoint(x, y));
  const ours = (h) => {
    if (!h) return false;
    if (h === target || target.contains(h) || h === el || el.contains(h)) return true;
    if (h.control && h.control === el) return true;
    if (el.labels && [...el.labels].some((l) => l === h || l.contains(h))) return true;
    return false;
  };
  const left = Math.max(rect.x, 0), top = Math.max(rect.y, 0);
  const right = Math.min(rect.x + rect.width, win.innerWidth), bottom = Math.min(rect.y + rect.height, win.innerHeight);
  if (right - left < 1 || bottom - top < 1) return {...base, in_view: false};
  const points = [[0.5, 0.5], [0.25, 0.5], [0.75, 0.5], [0.5, 0.25], [0.5, 0.75],
                  [0.15, 0.15], [0.85, 0.15], [0.15, 0.85], [0.85, 0.85]];
  const cx = (left + right) / 2, cy = (top + bottom) / 2;
  const centreHit = hitAt(cx, cy);
  if (ours(centreHit)) return {...base, in_view: true, point: {x: cx, y: cy}, clear_at: "centre"};
  let around = null;
  for (const [fx, fy] of points.slice(1)) {
    const x = left + (right - left) * fx, y = top + (bottom - top) * fy;
    if (ours(hitAt(x, y))) { around = {x, y}; break; }
  }
  // Find the blocker's overlay (fixed/sticky layer, dialog) and the controls that close it.
  let layer = centreHit, overlay = null;
  while (layer && layer !== doc.body && layer !== doc.documentElement) {
    const style = win.getComputedStyle(layer);
    const role = layer.getAttribute && layer.getAttribute("role");
    if (style.position === "fixed" || style.position === "sticky" || role === "dialog" || role === "alertdialog" ||
        layer.tagName === "DIALOG" || (layer.getAttribute && layer.getAttribute("aria-modal") === "true")) {
      overlay = layer;
    }
    layer = __parent(layer);
  }
  const closers = [];
  if (overlay) {
    const closeWords = /^(×|✕|✖|x|close|dismiss|no,? thanks|not now|maybe later|skip|cancel|later)$/i;
    const rejectWords = /(reject|decline|refuse|deny|necessary only|only necessary|essential only|only essential)/i;
    const acceptWords = /(accept|agree|allow|got it|^ok$|^okay$|understand|continue|consent)/i;
    const seen = new Set();
    const collect = (scopes) => {
      for (const s of scopes) {
        for (const c of s.querySelectorAll("button, [role=button], a, input[type=button], input[type=submit], [aria-label], [class*=close]")) {
          if (seen.has(c) || !__visible(c) || c === el || c.contains(el)) continue;
          seen.add(c);
          const label = ((c.getAttribute("aria-label") || c.getAttribute("title") || c.value || c.innerText || "") + "").trim().replace(/\s+/g, " ");
          const cls = (c.getAttribute("class") || "").toLowerCase();
          let rank = -1;
          if (closeWords.test(label) || /close|dismiss/i.test(c.getAttribute("aria-label") || "") || /(^|[-_ ])close/.test(cls)) rank = 0;
          else if (rejectWords.test(label)) rank = 1;
          else if (acceptWords.test(label)) rank = 2;
          if (rank < 0) continue;
          const r = c.getBoundingClientRect();
          closers.push({rank, text: label.slice(0, 40) || cls.slice(0, 40), x: r.x + r.width / 2, y: r.y + r.height / 2});
        }
      }
    };
    collect(overlay.shadowRoot ? [overlay, overlay.shadowRoot] : [overlay]);
    if (!closers.length) {
      // A backdrop has no buttons; the dialog it belongs to is usually a sibling layer.
      const layers = [...doc.querySelectorAll("[role=dialog], [role=alertdialog], [aria-modal=true], dialog[open]")];
      if (overlay.parentElement) {
        for (const sibling of overlay.parentElement.children) {
          if (sibling !== overlay && win.getComputedStyle(sibling).position === "fixed") layers.push(sibling);
        }
      }
      collect(layers.filter(__visible).flatMap((l) => (l.shadowRoot ? [l, l.shadowRoot] : [l])));
    }
    closers.sort((a, b) => a.rank - b.rank);
  }
  return {...base, in_view: true, point: null, around, blocker: __describe(centreHit),
          overlay: __describe(overlay), closers: closers.slice(0, 3)};
}
