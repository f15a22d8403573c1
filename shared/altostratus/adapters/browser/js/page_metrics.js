function() {
  const s = document.scrollingElement || document.documentElement;
  return {x: s.scrollLeft, y: s.scrollTop, height: s.scrollHeight, width: s.scrollWidth,
          vw: window.innerWidth, vh: window.innerHeight};
}
