// Phone-width checks, evaluated in the page by tests/e2e/conftest.py phone_problems().
// Returns {overflow: [...], scrollWidth, clientWidth, targets: [...]}.
//
// Touch targets: links, buttons, inputs, selects, textareas and summaries must be at least
// minTarget x minTarget CSS px. A checkbox or radio button counts together with its label
// (clicking the label ticks it). Exempt (WCAG 2.5.8 "inline" exception): a link displayed
// inline inside a <p> or <li> that holds more text than the link, i.e. a link in running text.
// Not counted: elements that are not rendered, visually hidden ones (1 px, the kern-sr-only
// pattern) and ones moved off-screen until focused (the skip link).
(minTarget) => {
  const root = document.documentElement;
  const viewWidth = root.clientWidth;

  function describe(el) {
    const parts = [];
    for (let node = el; node && node !== document.body && parts.length < 4; node = node.parentElement) {
      let part = node.tagName.toLowerCase();
      if (node.id) { parts.unshift(part + "#" + node.id); break; }
      const classes = Array.from(node.classList).slice(0, 2);
      if (classes.length) { part += "." + classes.join("."); }
      parts.unshift(part);
    }
    return parts.join(" > ");
  }
  function snippet(el) {
    const text = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().replace(/\s+/g, " ");
    return JSON.stringify(text.slice(0, 40)) + " " + el.outerHTML.replace(/\s+/g, " ").slice(0, 120);
  }
  function text(node) { return (node.textContent || "").replace(/\s+/g, " ").trim(); }
  function inScroller(el) {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      const ox = getComputedStyle(node).overflowX;
      if (ox === "auto" || ox === "scroll" || ox === "hidden" || ox === "clip") { return true; }
    }
    return false;
  }
  function offScreen(rect) { return rect.right <= 0 || rect.left >= Math.max(root.scrollWidth, viewWidth); }
  function rendered(el) {
    if (!el.getClientRects().length) { return false; }
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") { return false; }
    const rect = el.getBoundingClientRect();
    if (rect.width <= 1 || rect.height <= 1) { return false; }
    return !offScreen(rect);
  }

  // 1. Horizontal scrolling: which elements stick out of the viewport?
  const overflow = [];
  if (root.scrollWidth > viewWidth) {
    const wide = [];
    document.body.querySelectorAll("*").forEach((el) => {
      if (!el.getClientRects().length) { return; }
      const rect = el.getBoundingClientRect();
      if ((rect.right > viewWidth + 1 || rect.left < -1) && !offScreen(rect) && !inScroller(el)) { wide.push(el); }
    });
    // Report the outermost offenders only.
    wide.filter((el) => !wide.includes(el.parentElement)).slice(0, 10).forEach((el) => {
      const rect = el.getBoundingClientRect();
      overflow.push(describe(el) + " [" + Math.round(rect.left) + ".." + Math.round(rect.right) + "]");
    });
    if (!overflow.length) { overflow.push("(no single element found; check margins and transforms)"); }
  }

  // 2. Touch targets.
  const targets = [];
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]";
  document.querySelectorAll(selector).forEach((el) => {
    if (!rendered(el)) { return; }
    let rect = el.getBoundingClientRect();
    let left = rect.left, top = rect.top, right = rect.right, bottom = rect.bottom;
    if (el.tagName === "INPUT" && (el.type === "checkbox" || el.type === "radio") && el.labels) {
      Array.from(el.labels).forEach((label) => {
        const r = label.getBoundingClientRect();
        if (r.width && r.height) {
          left = Math.min(left, r.left); top = Math.min(top, r.top);
          right = Math.max(right, r.right); bottom = Math.max(bottom, r.bottom);
        }
      });
    }
    if (el.tagName === "A" && getComputedStyle(el).display === "inline") {
      const block = el.closest("p, li");
      if (block && text(block).length > text(el).length) { return; }
    }
    const width = Math.round(right - left), height = Math.round(bottom - top);
    if (width < minTarget - 0.5 || height < minTarget - 0.5) {
      targets.push({ selector: describe(el), html: snippet(el), width: width, height: height });
    }
  });

  return { overflow: overflow, scrollWidth: root.scrollWidth, clientWidth: viewWidth, targets: targets };
}
