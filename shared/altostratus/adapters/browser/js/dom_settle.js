function(mode, id, quiet, cap, frames = 2) {
  // "watch": record the main document's relevant mutations from now on, as watch `id`.
  // "settle": wait until the subtree watch `id` saw changing is quiet (a fresh watch when
  // `id` is not the current one: a new document, or responses just in), looking after
  // `frames` animation frames (one for a document just loaded: no action of ours is still
  // being rendered there, only what the page itself starts).
  const relevantAttributes = new Set(["value", "checked", "disabled", "hidden", "open", "href", "src",
    "aria-expanded", "aria-hidden", "aria-selected", "aria-checked", "aria-busy"]);
  const install = (watchId) => {
    const previous = globalThis.__altostratusWatch;
    if (previous) previous.observer.disconnect();
    const watch = {id: watchId, started: performance.now(), records: [], observer: null};
    watch.observer = new MutationObserver((records) => {
      const t = performance.now();
      for (const r of records) {
        if (r.type === "attributes" && !relevantAttributes.has(r.attributeName)) continue;
        watch.records.push({t, node: r.target});
      }
      if (watch.records.length > 5000) watch.records.splice(0, watch.records.length - 2500);
    });
    watch.observer.observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
    globalThis.__altostratusWatch = watch;
    return watch;
  };
  if (mode === "watch") {
    install(id);
    return true;
  }
  const start = performance.now();
  let watch = globalThis.__altostratusWatch;
  const fresh = !id || !watch || watch.id !== id;
  if (fresh) watch = install("");
  const frame = () => new Promise((resolve) => {
    let done = false;
    const go = () => { if (!done) { done = true; resolve(); } };
    requestAnimationFrame(go);
    setTimeout(go, 50);  // a hidden tab gets no animation frames
  });
  const finish = (why) => {
    watch.observer.disconnect();
    if (globalThis.__altostratusWatch === watch) globalThis.__altostratusWatch = null;
    return {why, ms: performance.now() - start};
  };
  return (async () => {
    await frame();
    if (frames > 1) await frame();
    // Whatever the frame's rendering step set off (observers' callbacks run after the
    // animation frame callbacks) has run once the task queue comes round again.
    else await new Promise((resolve) => setTimeout(resolve, 0));
    const since = fresh ? start : watch.started;
    const roots = [...new Set(watch.records.filter((r) => r.t >= since).map((r) => r.node))];
    if (!roots.length) return finish("still");
    // The affected subtree: what changed so far, with its ancestors and descendants.
    const everywhere = roots.length > 200 || roots.includes(document) || roots.includes(document.documentElement);
    const inScope = (node) => everywhere || roots.some((r) => r === node || r.contains(node) || node.contains(r));
    const lastInScope = () => {
      for (let i = watch.records.length - 1; i >= 0; i--) {
        const r = watch.records[i];
        if (r.t < since) break;
        if (inScope(r.node)) return r.t;
      }
      return -Infinity;
    };
    // Changes made while the action ran are done; only changes still coming in need a quiet window.
    if (lastInScope() < start) return finish("quiet");
    return await new Promise((resolve) => {
      const check = () => {
        const now = performance.now();
        const idle = now - lastInScope();
        if (idle >= quiet) return resolve(finish("quiet"));
        if (now - start >= cap) return resolve(finish("cap"));
        setTimeout(check, Math.max(5, Math.min(quiet - idle, cap - (now - start))));
      };
      check();
    });
  })();
}
