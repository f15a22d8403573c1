function() {
  const inner = (root) => root.querySelector("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea, [contenteditable=''], [contenteditable=true]");
  return inner(this) || (this.shadowRoot && inner(this.shadowRoot)) || null;
}
