// Slack's mrkdwn to HTML, escaping everything: no text from a message can become markup.
//
// Slack text arrives with `&`, `<` and `>` escaped as entities; a raw `<` only opens a
// control sequence (<@U1>, <!here>, <url|label>, <!date^...>). We cut the text into
// pieces: code blocks, inline code and control sequences become placeholders holding
// their finished HTML; the rest is decoded and HTML-escaped; then *bold*, _italic_ and
// ~strike~ apply around the placeholders; finally the placeholders are put back.

import { emojify } from "./emoji.js";

const HOLE_OPEN = "\uE000";
const HOLE_CLOSE = "\uE001";
const HOLE = /\uE000(\d+)\uE001/g;

export function escapeHtml(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

// Slack's three entities back to characters (the only ones Slack uses).
export function decodeSlack(text) {
  return String(text).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

export function safeUrl(url) {
  const trimmed = String(url).trim();
  return /^(https?:|mailto:)/i.test(trimmed) ? trimmed : null;
}

export function plainToHtml(text, emoji = true) {
  const escaped = escapeHtml(text).replace(/\n/g, "<br>");
  return emoji ? emojify(escaped) : escaped;
}

// Boundaries as Slack's client applies them: a marker must touch a word on its inside
// and not on its outside.
const STYLES = [
  [/(^|[^\p{L}\p{N}*])\*(?!\s)([^*\n]*?[^\s*])\*(?![\p{L}\p{N}*])/gu, "b"],
  [/(^|[^\p{L}\p{N}_])_(?!\s)([^_\n]*?[^\s_])_(?![\p{L}\p{N}_])/gu, "i"],
  [/(^|[^\p{L}\p{N}~])~(?!\s)([^~\n]*?[^\s~])~(?![\p{L}\p{N}~])/gu, "s"],
];

export function mrkdwnToHtml(source, ctx = {}) {
  const holes = [];
  const hole = (html) => {
    holes.push(html);
    return HOLE_OPEN + (holes.length - 1) + HOLE_CLOSE;
  };
  let text = String(source ?? "").replace(/[\uE000\uE001]/g, "");

  // ```code blocks``` first: nothing inside them is formatted.
  text = text.replace(/```\n?([\s\S]*?)```/g, (_, code) =>
    hole(`<pre class="mk-pre">${escapeHtml(decodeSlack(code))}</pre>`),
  );
  text = text.replace(/`([^`\n]+)`/g, (_, code) =>
    hole(`<code class="mk-code">${escapeHtml(decodeSlack(code))}</code>`),
  );
  text = text.replace(/<([^<>\n]*)>/g, (_, inner) => hole(controlSequence(inner, ctx)));

  // Lines starting with a raw ">" are quotes; `&gt;` is a literal ">".
  const lines = text.split("\n");
  const out = [];
  let quote = [];
  const flushQuote = () => {
    if (quote.length) out.push(hole(`<blockquote class="mk-quote">${quote.join("<br>")}</blockquote>`));
    quote = [];
  };
  for (const line of lines) {
    if (line.startsWith(">")) {
      quote.push(formatLine(line.replace(/^> ?/, ""), ctx));
    } else {
      flushQuote();
      out.push(formatLine(line, ctx));
    }
  }
  flushQuote();
  let html = out.join("<br>").replace(/(<br>)?(\uE000\d+\uE001)(<br>)?/g, (m, before, h, after) => {
    // Block-level holes (pre, blockquote) carry their own line breaks.
    const block = /^<(pre|blockquote)/.test(holes[Number(h.slice(1, -1))]);
    return block ? h : m;
  });
  // Holes may nest (a quote holds formatted lines with links): fill until none are left.
  for (let i = 0; i < 3 && HOLE.test(html); i++) {
    HOLE.lastIndex = 0;
    html = html.replace(HOLE, (_, n) => holes[Number(n)]);
  }
  return html;
}

function formatLine(line, ctx) {
  let html = escapeHtml(decodeSlack(line));
  for (const [pattern, tag] of STYLES) {
    html = html.replace(pattern, (_, before, inner) => `${before}<${tag}>${inner}</${tag}>`);
  }
  return ctx.emoji === false ? html : emojify(html);
}

function controlSequence(inner, ctx) {
  const bar = inner.indexOf("|");
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? inner.slice(bar + 1) : null;
  if (target.startsWith("@")) return mention(target.slice(1), label, ctx);
  if (target.startsWith("#")) {
    const name = label || (ctx.channelName ? ctx.channelName(target.slice(1)) : target.slice(1));
    return `<span class="mk-channel" data-channel="${escapeHtml(target.slice(1))}">#${escapeHtml(decodeSlack(name))}</span>`;
  }
  if (target.startsWith("!")) return special(target.slice(1), label, ctx);
  const url = safeUrl(decodeSlack(target));
  const shown = escapeHtml(decodeSlack(label ?? target));
  if (!url) return shown;
  return `<a class="mk-link" href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${shown}</a>`;
}

function mention(userId, label, ctx) {
  const name = ctx.userName ? ctx.userName(userId) : null;
  const shown = name || (label ? decodeSlack(label) : userId);
  const mine = ctx.me && ctx.me === userId ? " mk-mention-me" : "";
  return `<span class="mk-mention${mine}" data-user="${escapeHtml(userId)}">@${escapeHtml(shown)}</span>`;
}

function special(body, label, ctx) {
  const [kind, ...rest] = body.split("^");
  if (kind === "here" || kind === "channel" || kind === "everyone") {
    return `<span class="mk-mention mk-broadcast">@${kind}</span>`;
  }
  if (kind === "subteam") {
    const id = rest[0] || "";
    const handle = ctx.groupHandle ? ctx.groupHandle(id) : null;
    const shown = handle ? `@${handle}` : label ? decodeSlack(label) : `@${id}`;
    return `<span class="mk-mention mk-group" data-group="${escapeHtml(id)}">${escapeHtml(shown)}</span>`;
  }
  if (kind === "date") {
    const [epoch, format, link] = rest;
    const when = new Date(Number(epoch) * 1000);
    const shown = Number.isFinite(when.getTime()) ? formatSlackDate(when, format || "{date}") : decodeSlack(label || "");
    const url = link ? safeUrl(decodeSlack(link)) : null;
    const inner = escapeHtml(shown);
    return url
      ? `<a class="mk-link mk-date" href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${inner}</a>`
      : `<span class="mk-date" title="${escapeHtml(when.toString())}">${inner}</span>`;
  }
  return escapeHtml(label ? decodeSlack(label) : `<!${body}>`);
}

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function ordinal(n) {
  const s = ["th", "st", "nd", "rd"];
  const v = n % 100;
  return n + (s[(v - 20) % 10] || s[v] || s[0]);
}

function pretty(when, fallback) {
  const today = new Date();
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const diff = Math.round((day(when) - day(today)) / 86400000);
  if (diff === 0) return "today";
  if (diff === -1) return "yesterday";
  if (diff === 1) return "tomorrow";
  return fallback;
}

export function formatSlackDate(when, format) {
  const y = when.getFullYear();
  const m = when.getMonth();
  const d = when.getDate();
  const pad = (n) => String(n).padStart(2, "0");
  const hours = when.getHours() % 12 || 12;
  const ampm = when.getHours() < 12 ? "AM" : "PM";
  const parts = {
    date_num: `${y}-${pad(m + 1)}-${pad(d)}`,
    date: `${MONTHS[m]} ${ordinal(d)}, ${y}`,
    date_short: `${MONTHS[m].slice(0, 3)} ${d}, ${y}`,
    date_long: `${DAYS[when.getDay()]}, ${MONTHS[m]} ${ordinal(d)}, ${y}`,
    time: `${hours}:${pad(when.getMinutes())} ${ampm}`,
    time_secs: `${hours}:${pad(when.getMinutes())}:${pad(when.getSeconds())} ${ampm}`,
  };
  parts.date_pretty = pretty(when, parts.date);
  parts.date_short_pretty = pretty(when, parts.date_short);
  parts.date_long_pretty = pretty(when, parts.date_long);
  parts.ago = relative(when);
  return decodeSlack(format).replace(/\{(\w+)\}/g, (whole, key) => parts[key] ?? whole);
}

function relative(when) {
  const seconds = Math.round((Date.now() - when.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const unit = abs < 60 ? [abs, "second"] : abs < 3600 ? [Math.round(abs / 60), "minute"]
    : abs < 86400 ? [Math.round(abs / 3600), "hour"] : [Math.round(abs / 86400), "day"];
  const phrase = `${unit[0]} ${unit[1]}${unit[0] === 1 ? "" : "s"}`;
  return seconds >= 0 ? `${phrase} ago` : `in ${phrase}`;
}
