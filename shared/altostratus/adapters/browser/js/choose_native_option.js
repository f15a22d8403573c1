function(index) {
  const el = this;
  el.focus({preventScroll: true});
  el.selectedIndex = index;
  el.options[index].selected = true;
  el.dispatchEvent(new Event("input", {bubbles: true, composed: true}));
  el.dispatchEvent(new Event("change", {bubbles: true}));
  return (el.options[index].label || el.options[index].text || "").trim();
}
