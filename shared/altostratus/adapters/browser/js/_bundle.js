// Selector bundles computed in the page, pasted where a script says //@bundle: the same fields
// perception's bundles have (role and accessible name, label, test id, name attribute,
// placeholder, text, id, a CSS path inside the element's own tree, the shadow hosts and
// frames around it), for elements perception did not list (a hit test's target, a text).
const __TEST_ATTRS = ["data-testid", "data-test-id", "data-test", "data-qa", "data-cy"];
const __norm = (s) => (s || "").replace(/\s+/g, " ").trim();
const __stableId = (v) => /^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(v || "") &&
  !/\d{3,}|^(ember|react|mui|radix|headlessui|:r)|[-_]\d+[-_]/.test(v);
const __implicitRole = (el) => {
  const tag = el.tagName.toLowerCase(), type = (el.getAttribute("type") || "text").toLowerCase();
  if (tag === "a" && el.hasAttribute("href")) return "link";
  if (tag === "button" || tag === "summary") return "button";
  if (tag === "select") return el.multiple || el.size > 1 ? "listbox" : "combobox";
  if (tag === "textarea") return "textbox";
  if (tag === "input") {
    if (["button", "submit", "reset", "image"].includes(type)) return "button";
    if (type === "checkbox") return "checkbox";
    if (type === "radio") return "radio";
    if (type === "range") return "slider";
    if (type === "number") return "spinbutton";
    if (type === "search") return "searchbox";
    if (type === "hidden" || type === "file") return null;
    return "textbox";
  }
  if (/^h[1-6]$/.test(tag)) return "heading";
  if (tag === "img") return "img";
  return null;
};
const __labelOf = (el) => {
  if (el.labels && el.labels.length) {
    return __norm([...el.labels].map((l) => l.innerText || l.textContent).join(" ")) || null;
  }
  return null;
};
const __nameOf = (el, role, label) => {
  const aria = el.getAttribute("aria-label");
  if (aria && __norm(aria)) return __norm(aria);
  const by = el.getAttribute("aria-labelledby");
  if (by) {
    const root = el.getRootNode();
    const text = by.split(/\s+/).map((id) => root.getElementById ? root.getElementById(id) : null)
      .filter(Boolean).map((n) => n.innerText || n.textContent).join(" ");
    if (__norm(text)) return __norm(text);
  }
  if (label) return label;
  const tag = el.tagName.toLowerCase();
  if (tag === "input" && ["button", "submit", "reset"].includes((el.type || "").toLowerCase())) {
    return __norm(el.value) || null;
  }
  if (["button", "link", "heading", "checkbox", "radio", "tab", "menuitem", "option"].includes(role) ||
      tag === "button" || tag === "a") {
    const text = __norm(el.innerText || el.textContent);
    if (text) return text.slice(0, 200);
  }
  return __norm(el.getAttribute("alt") || el.getAttribute("title") || el.getAttribute("placeholder")) || null;
};
const __cssIn = (el) => {
  const root = el.getRootNode();
  const steps = [];
  let cur = el;
  while (cur && cur.nodeType === 1) {
    const tag = cur.tagName.toLowerCase();
    if (cur.id && __stableId(cur.id) && root.querySelectorAll("#" + CSS.escape(cur.id)).length === 1) {
      steps.push("#" + cur.id);
      break;
    }
    const parent = cur.parentElement;
    const same = parent ? [...parent.children].filter((c) => c.tagName === cur.tagName)
                        : [cur];
    steps.push(same.length > 1 ? `${tag}:nth-of-type(${same.indexOf(cur) + 1})` : tag);
    if (tag === "body" || !parent) break;
    cur = parent;
  }
  return steps.reverse().join(" > ");
};
const __bundleOf = (el) => {
  if (!el || el.nodeType !== 1) return null;
  const role = el.getAttribute("role") ? el.getAttribute("role").split(/\s+/)[0] : __implicitRole(el);
  const label = __labelOf(el);
  let testId = null;
  for (const attribute of __TEST_ATTRS) {
    const value = el.getAttribute(attribute);
    if (value) { testId = {attribute, value}; break; }
  }
  const hosts = [], frames = [];
  let closed = false, root = el.getRootNode();
  while (root && root.host) {
    if (root.mode === "closed") closed = true;
    hosts.unshift(__cssIn(root.host));
    root = root.host.getRootNode();
  }
  let win = el.ownerDocument.defaultView;
  while (win && win !== win.parent) {
    let owner = null;
    try { owner = win.frameElement; } catch (e) { owner = null; }
    if (!owner) break;
    frames.unshift(__cssIn(owner));
    win = owner.ownerDocument.defaultView;
  }
  const tag = el.tagName.toLowerCase();
  const text = ["input", "select", "textarea"].includes(tag) ? "" : __norm(el.innerText || el.textContent);
  return {
    role: role || null,
    name: __nameOf(el, role, label),
    label,
    test_id: testId,
    name_attr: el.getAttribute("name") || null,
    placeholder: el.getAttribute("placeholder") || null,
    text: text ? text.slice(0, 200) : null,
    element_id: el.id || null,
    tag,
    input_type: tag === "input" ? (el.getAttribute("type") || "text").toLowerCase() : null,
    css: __cssIn(el) || null,
    shadow_hosts: hosts,
    frames,
    closed_shadow: closed,
  };
};
// The element a click on `el` operates (a label operates its control).
const __operated = (el) => {
  const hit = el.closest("a,button,label,[role],input,select,textarea,summary") || el;
  if (hit.tagName === "LABEL" && hit.control) return hit.control;
  return hit;
};
// The focused element, through open shadow roots and same-origin frames.
const __focused = () => {
  let el = document.activeElement;
  for (let depth = 0; el && depth < 8; depth++) {
    if (el.shadowRoot && el.shadowRoot.activeElement) { el = el.shadowRoot.activeElement; continue; }
    if (el.tagName === "IFRAME" || el.tagName === "FRAME") {
      let sub = null;
      try { sub = el.contentDocument; } catch (e) { sub = null; }
      if (sub && sub.activeElement) { el = sub.activeElement; continue; }
    }
    break;
  }
  return el && el !== document.body ? el : null;
};
