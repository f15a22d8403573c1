async function(state, timeout) {
  //@helpers

  const el = this, win = el.ownerDocument.defaultView, until = performance.now() + timeout;
  while (true) {
    const shown = el.isConnected && __visible(el);
    if ((state === "visible") === shown) return true;
    if (performance.now() > until) return false;
    await __wait(win);
  }
}
