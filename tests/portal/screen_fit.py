"""What "nothing is clipped" means on the big screen and the town page, as one browser-side check.

`FIT_CHECK` runs in the page and lists every element that lies outside its panel or whose content
spills out of its own box (scroll size larger than the box, whether the spill is hidden or
shows over its neighbours). Inside a chart or a map only the
container counts (their canvases are the libraries' business); a deliberate one-line ellipsis
(`text-overflow: ellipsis`) counts as fitted.
"""

from __future__ import annotations

FIT_CHECK = """(selector) => {
  const found = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  for (const box of document.querySelectorAll(selector)) {
    const outer = box.getBoundingClientRect();
    for (const el of [box, ...box.querySelectorAll('*')]) {
      const inside = el.parentElement && el.parentElement.closest('[data-chart], .ov-map, .tp-map, .maplibregl-map');
      if (inside && box.contains(inside)) continue;
      const style = getComputedStyle(el);
      const rect = el.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0 || style.visibility === 'hidden') continue;
      if (el.offsetWidth <= 1 && el.offsetHeight <= 1) continue;  // visually hidden (sr-only)
      const text = (el.textContent || '').trim().slice(0, 40);
      if (rect.left < outer.left - 1 || rect.right > outer.right + 1 ||
          rect.top < outer.top - 1 || rect.bottom > outer.bottom + 1) {
        found.push({box: name(box), el: name(el), why: 'outside', text});
        continue;
      }
      if (style.textOverflow === 'ellipsis' && el.scrollHeight <= el.clientHeight + 1) continue;
      if (el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1) {
        found.push({box: name(box), el: name(el), why: 'cut', text,
                    size: [el.scrollWidth, el.scrollHeight, el.clientWidth, el.clientHeight]});
      }
    }
  }
  return found;
}"""

#: The boxes of the big screen: every panel, the head and the foot line.
SCREEN_BOXES = "section.ov-part, .screen-head, .screen-foot, .screen-stage"
