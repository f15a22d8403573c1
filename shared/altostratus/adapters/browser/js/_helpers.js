// Shared helpers, pasted where a script says //@helpers.
const __wait = (win) => new Promise((resolve) => {
  let done = false;
  const finish = () => { if (!done) { done = true; resolve(); } };
  win.requestAnimationFrame(finish);
  win.setTimeout(finish, 60);
});
const __visible = (el) => {
  const r = el.getBoundingClientRect();
  if (r.width <= 0 || r.height <= 0) return false;
  return el.checkVisibility ? el.checkVisibility({opacityProperty: true, visibilityProperty: true}) : true;
};
const __describe = (n) => n ? ({
  tag: (n.tagName || "").toLowerCase(),
  id: n.id || "",
  role: n.getAttribute ? (n.getAttribute("role") || "") : "",
  text: ((n.getAttribute && (n.getAttribute("aria-label") || n.getAttribute("title"))) ||
         n.innerText || n.textContent || "").trim().replace(/\s+/g, " ").slice(0, 80),
}) : null;
const __parent = (n) => n.parentElement || (n.getRootNode && n.getRootNode().host) || null;
