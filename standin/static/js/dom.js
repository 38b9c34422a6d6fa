// Small DOM helpers: build elements with text set through textContent, never innerHTML,
// except `html()` which takes markup produced by mrkdwn.js (escaped there).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function html(tag, attrs, markup) {
  const el = h(tag, attrs);
  el.innerHTML = markup; // markup comes from mrkdwn.js, which escapes every piece of text
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function tsToDate(ts) {
  return new Date(Math.floor(Number(String(ts).split(".")[0]) * 1000));
}

export function timeOfDay(ts) {
  const when = tsToDate(ts);
  return when.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

export function dayLabel(ts) {
  const when = tsToDate(ts);
  const today = new Date();
  const same = (a, b) => a.toDateString() === b.toDateString();
  if (same(when, today)) return "Today";
  const yesterday = new Date(today.getTime() - 86400000);
  if (same(when, yesterday)) return "Yesterday";
  return when.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric" });
}
