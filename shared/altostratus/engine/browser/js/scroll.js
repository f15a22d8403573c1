function(dx, dy, pages) {
  let el = this && this.nodeType === 1 ? this : null;
  const doc = el ? el.ownerDocument : document, win = doc.defaultView;
  const scrollable = (n) => {
    const s = win.getComputedStyle(n);
    return (/(auto|scroll|overlay)/.test(s.overflowY) && n.scrollHeight > n.clientHeight + 1) ||
           (/(auto|scroll|overlay)/.test(s.overflowX) && n.scrollWidth > n.clientWidth + 1);
  };
  while (el && !scrollable(el)) el = el.parentElement;
  const box = el || doc.scrollingElement || doc.documentElement;
  const w = el ? el.clientWidth : win.innerWidth, h = el ? el.clientHeight : win.innerHeight;
  const before = {x: box.scrollLeft, y: box.scrollTop, height: box.scrollHeight};
  box.scrollBy({left: dx * w * pages, top: dy * h * pages, behavior: "instant"});
  return {before, after: {x: box.scrollLeft, y: box.scrollTop, height: box.scrollHeight}, page: !el};
}
