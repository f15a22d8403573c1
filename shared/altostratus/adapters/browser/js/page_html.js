function() {
  // The document as markup: its doctype, then the root element (what Playwright's content() gives).
  let html = "";
  if (document.doctype) html = new XMLSerializer().serializeToString(document.doctype);
  if (document.documentElement) html += document.documentElement.outerHTML;
  return html;
}
