function(dx, dy, pages) {
  const asked = this && this.nodeType === 1 ? this : null;
  const doc = asked ? asked.ownerDocument : document, win = doc.defaultView;
  const scrollable = (n) => {
    const s = win.getComputedStyle(n);
    return (/(auto|scroll|overlay)/.test(s.overflowY) && n.scrollHeight > n.clientHeight + 1) ||
           (/(auto|scroll|overlay)/.test(s.overflowX) && n.scrollWidth > n.clientWidth + 1);
  };
  const scroll = (box, isPage) => {
    const w = isPage ? win.innerWidth : box.clientWidth, h = isPage ? win.innerHeight : box.clientHeight;
    const before = {x: box.scrollLeft, y: box.scrollTop, height: box.scrollHeight};
    box.scrollBy({left: dx * w * pages, top: dy * h * pages, behavior: "instant"});
    return {before, after: {x: box.scrollLeft, y: box.scrollTop, height: box.scrollHeight}, page: isPage};
  };
  let el = asked;
  while (el && !scrollable(el)) el = el.parentElement;
  if (el) return scroll(el, false);
  const result = scroll(doc.scrollingElement || doc.documentElement, true);
  if (asked || result.after.y !== result.before.y || result.after.x !== result.before.x) return result;
  // The document does not scroll: app shells scroll an inner container. Use the largest one in view.
  let best = null, bestArea = 0;
  for (const n of doc.body ? doc.body.querySelectorAll("*") : []) {
    if (n.clientHeight < 50 || !scrollable(n)) continue;
    const r = n.getBoundingClientRect();
    const area = Math.max(0, Math.min(r.right, win.innerWidth) - Math.max(r.left, 0)) *
                 Math.max(0, Math.min(r.bottom, win.innerHeight) - Math.max(r.top, 0));
    if (area > bestArea) { best = n; bestArea = area; }
  }
  if (!best) return result;
  const inner = scroll(best, false);
  inner.container = (best.getAttribute("aria-label") || best.id || best.tagName.toLowerCase()).slice(0, 40);
  return inner;
}
