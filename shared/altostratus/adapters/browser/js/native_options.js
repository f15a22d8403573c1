function() {
  return [...this.options].map((o, i) => ({index: i, text: (o.label || o.text || "").trim(), value: o.value,
    disabled: o.disabled, selected: o.selected}));
}
