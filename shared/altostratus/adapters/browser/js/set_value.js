function(value) {
  const el = this;
  const proto = Object.getPrototypeOf(el);
  const setter = Object.getOwnPropertyDescriptor(proto, "value") ||
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value");
  el.focus({preventScroll: true});
  setter.set.call(el, value);
  el.dispatchEvent(new Event("input", {bubbles: true, composed: true}));
  el.dispatchEvent(new Event("change", {bubbles: true}));
  return el.value;
}
