// What an automated check can tell about accessibility (RGAA's basics), run in
// the page by tests/browser.py: language, one main landmark, labelled fields,
// named links and buttons, tables with captions and scoped headers, text
// alternatives, and the contrast of the content's text (WCAG 2.1 formula: 4.5:1,
// 3:1 for large text). arguments[0]: a CSS selector that limits the content
// checks to the plugin's part of a page CKAN draws; the main landmark otherwise.
// Returns the problems found, as sentences.
const problems = [];
const visible = el => {
  const style = getComputedStyle(el);
  const rect = el.getBoundingClientRect();
  return style.visibility !== 'hidden' && style.display !== 'none' && rect.width > 1 && rect.height > 1;
};
const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '');
if ((document.documentElement.lang || '').length < 2) problems.push('the page has no language');
const mains = document.querySelectorAll('main, [role=main]');
if (mains.length !== 1) problems.push(mains.length + ' main landmarks');
const main = (arguments[0] && document.querySelector(arguments[0])) || mains[0] || document.body;
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (['hidden', 'submit', 'button'].includes(el.type) || !visible(el)) continue;
  const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.title;
  if (!named) problems.push('no label: ' + describe(el));
}
for (const el of main.querySelectorAll('a[href], button')) {
  if (!visible(el)) continue;
  const name = el.textContent.trim() || el.getAttribute('aria-label') || el.title;
  if (!name) problems.push('no name: ' + describe(el));
}
for (const table of main.querySelectorAll('table')) {
  const where = table.closest('[id]');
  if (!table.caption || !table.caption.textContent.trim()) problems.push('no caption: a table in #' + (where ? where.id : 'body'));
  for (const th of table.querySelectorAll('th')) {
    if (!th.getAttribute('scope')) problems.push('no scope: th "' + th.textContent.trim() + '"');
  }
}
for (const img of main.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('no alt: ' + img.src);
for (const svg of main.querySelectorAll('svg')) {
  const hidden = svg.getAttribute('aria-hidden') === 'true';
  const named = svg.getAttribute('role') === 'img' && (svg.getAttribute('aria-labelledby') || svg.getAttribute('aria-label'));
  if (!hidden && !named) problems.push('svg with no text alternative');
}
const rgba = value => {
  const m = value.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const parts = m[1].split(',').map(parseFloat);
  return {r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1};
};
const over = (top, bottom) => ({
  r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
  b: top.b * top.a + bottom.b * (1 - top.a), a: 1,
});
const background = el => {
  const layers = [];
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (style.backgroundImage !== 'none') return null;  // an image: cannot judge
    const color = rgba(style.backgroundColor);
    if (color && color.a > 0) {
      layers.push(color);
      if (color.a === 1) break;
    }
  }
  return layers.reverse().reduce((below, layer) => over(layer, below), {r: 255, g: 255, b: 255, a: 1});
};
const luminance = c => {
  const channel = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
};
for (const el of main.querySelectorAll('*')) {
  const text = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join(' ').trim();
  if (!text || !visible(el) || el.closest('svg')) continue;
  const style = getComputedStyle(el);
  const bg = background(el);
  if (!bg) continue;
  const fg = over(rgba(style.color), bg);
  const [light, dark] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
  const ratio = (light + 0.05) / (dark + 0.05);
  const size = parseFloat(style.fontSize);
  const large = size >= 24 || (parseInt(style.fontWeight, 10) >= 700 && size >= 18.66);
  if (ratio < (large ? 3 : 4.5)) problems.push('contrast ' + ratio.toFixed(2) + ':1 for "' + text.slice(0, 40) + '"');
}
return problems;
