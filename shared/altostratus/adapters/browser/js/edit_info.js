function() {
  const el = this;
  const tag = el.tagName.toLowerCase(), type = (el.getAttribute("type") || "text").toLowerCase();
  const nonText = ["checkbox", "radio", "button", "submit", "reset", "image", "file", "hidden"];
  const editable = (tag === "input" && !nonText.includes(type)) || tag === "textarea" || el.isContentEditable;
  return {tag, type, editable, readonly: !!el.readOnly || el.getAttribute("aria-readonly") === "true",
          disabled: !!el.disabled || el.getAttribute("aria-disabled") === "true",
          file: tag === "input" && type === "file", multiple: !!el.multiple};
}
