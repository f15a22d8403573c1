function(quiet, cap) {
  return new Promise((resolve) => {
    const started = performance.now();
    let timer = null, capTimer = null, mutations = 0;
    const watched = new Set(["value", "checked", "disabled", "hidden", "open", "href", "src",
      "aria-expanded", "aria-hidden", "aria-selected", "aria-checked", "aria-busy"]);
    const done = (why) => {
      observer.disconnect(); clearTimeout(timer); clearTimeout(capTimer);
      resolve({why, mutations, ms: performance.now() - started});
    };
    const observer = new MutationObserver((records) => {
      const relevant = records.some((r) => r.type !== "attributes" || watched.has(r.attributeName));
      if (!relevant) return;
      mutations += 1;
      clearTimeout(timer);
      timer = setTimeout(() => done("quiet"), quiet);
    });
    observer.observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
    timer = setTimeout(() => done("quiet"), quiet);
    capTimer = setTimeout(() => done("cap"), cap);
  });
}
