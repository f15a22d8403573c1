async function(text, state, timeout) {
  //@helpers

  const needle = text.replace(/\s+/g, " ").trim().toLowerCase();
  const until = performance.now() + timeout;
  const present = () => {
    const body = document.body || document.documentElement;
    if ((body.innerText || "").replace(/\s+/g, " ").toLowerCase().includes(needle)) return true;
    for (const host of body.querySelectorAll("*")) {
      if (host.shadowRoot && (host.shadowRoot.textContent || "").replace(/\s+/g, " ").toLowerCase().includes(needle)) return true;
    }
    return false;
  };
  while (true) {
    if (present() === (state === "visible")) return true;
    if (performance.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
