// One message (or ephemeral) as Slack's client draws it: avatar, name, time, content,
// files, legacy attachments, and the "N replies" line that opens its thread.

import { renderBlocks } from "./blocks.js";
import { h, html, timeOfDay, tsToDate } from "./dom.js";
import { mrkdwnToHtml, plainToHtml, safeUrl } from "./mrkdwn.js";

const SLACKBOT = "USLACKBOT";

function author(message, app) {
  if (message.user === SLACKBOT) return { name: "Slackbot", initials: "S", bot: true, color: "#2eb67d" };
  if (message.bot_id || message.user === app.data.bot.user_id) {
    return { name: app.data.bot.name, initials: "411", bot: true, color: "#e01e5a" };
  }
  const user = app.user(message.user);
  const name = user?.profile?.display_name || user?.name || message.user || "unknown";
  return { name, initials: name.slice(0, 1).toUpperCase(), bot: false, color: app.colorFor(message.user) };
}

export function renderMessage(message, app, { ephemeral = false, inThread = false, compact = false } = {}) {
  const who = author(message, app);
  const el = h("div", {
    class: `msg${ephemeral ? " msg-ephemeral" : ""}${compact ? " msg-compact" : ""}`,
    "data-testid": ephemeral ? "ephemeral" : "message",
    "data-ts": message.ts,
    "data-channel": message.channel || app.current.channel || "",
    id: `${ephemeral ? "eph" : "msg"}-${inThread ? "t-" : ""}${message.ts}`,
  });
  el.append(h("div", { class: "msg-avatar", style: `background:${who.color}`, "aria-hidden": "true", text: compact ? "" : who.initials }));
  const body = h("div", { class: "msg-body" });
  if (!compact) {
    body.append(h("div", { class: "msg-meta" },
      h("span", { class: "msg-author", text: who.name }),
      who.bot ? h("span", { class: "msg-badge", text: "APP" }) : null,
      h("span", { class: "msg-time", title: tsToDate(message.ts).toString(), text: timeOfDay(message.ts) }),
    ));
  }
  if (ephemeral) {
    body.append(h("div", { class: "msg-only-you", "data-testid": "only-visible-to-you" }, "👁 Only visible to you"));
  }
  if (message.subtype === "thread_broadcast" && !inThread) {
    body.append(h("div", { class: "msg-broadcast-note", text: "replied to a thread" }));
  }
  const shown = content(message, app, ephemeral);
  if (message.edited) shown.append(h("span", { class: "msg-edited", "data-testid": "edited", text: "(edited)" }));
  body.append(shown);
  for (const file of message.files || []) body.append(fileNode(file));
  for (const attachment of message.attachments || []) body.append(attachmentNode(attachment, message, app, ephemeral));
  if (!inThread && message.reply_count) body.append(threadSummary(message, app));
  if (ephemeral) {
    body.append(h("button", { type: "button", class: "msg-dismiss", "data-testid": "dismiss-ephemeral", text: "Dismiss message", onclick: () => app.dismiss(message.ts) }));
  }
  el.append(body);
  return el;
}

function content(message, app, ephemeral) {
  const ctx = app.blockContext({ channel: message.channel || app.current.channel, messageTs: message.ts, ephemeral });
  if (message.blocks?.length) return h("div", { class: "msg-content" }, renderBlocks(message.blocks, ctx));
  const markup = message.mrkdwn === false ? plainToHtml(message.text || "") : mrkdwnToHtml(message.text || "", ctx.mk);
  return html("div", { class: "msg-content msg-text" }, markup);
}

function fileNode(file) {
  const url = safeUrl(file.url_private || "");
  const isImage = String(file.mimetype || "").startsWith("image/");
  const box = h("div", { class: "msg-file", "data-testid": "file", "data-file-id": file.id });
  if (isImage && url) {
    box.append(h("div", { class: "msg-file-title", text: file.title || file.name }));
    box.append(h("a", { href: url, target: "_blank", rel: "noopener noreferrer" },
      h("img", { class: "msg-file-image", src: url, alt: file.alt_txt || file.title || file.name, "data-testid": "file-image" })));
  } else {
    box.append(h("a", { class: "msg-file-link", href: url || "#", target: "_blank", rel: "noopener noreferrer", text: `📄 ${file.title || file.name}` }));
  }
  return box;
}

function attachmentNode(attachment, message, app, ephemeral) {
  const color = /^#?[0-9a-f]{3,8}$/i.test(attachment.color || "") ? (attachment.color.startsWith("#") ? attachment.color : `#${attachment.color}`)
    : { good: "#2eb67d", warning: "#ecb22e", danger: "#e01e5a" }[attachment.color] || "#dddddd";
  const ctx = app.blockContext({ channel: message.channel || app.current.channel, messageTs: message.ts, ephemeral });
  const box = h("div", { class: "msg-attachment", style: `border-left-color:${color}` });
  if (attachment.pretext) box.append(html("div", { class: "att-pretext" }, mrkdwnToHtml(attachment.pretext, ctx.mk)));
  if (attachment.title) box.append(h("div", { class: "att-title", text: attachment.title }));
  if (attachment.text) box.append(html("div", { class: "att-text" }, mrkdwnToHtml(attachment.text, ctx.mk)));
  if (attachment.blocks?.length) box.append(renderBlocks(attachment.blocks, ctx));
  for (const field of attachment.fields || []) {
    box.append(h("div", { class: `att-field${field.short ? " att-short" : ""}` },
      h("div", { class: "att-field-title", text: field.title || "" }),
      html("div", { class: "att-field-value" }, mrkdwnToHtml(field.value || "", ctx.mk))));
  }
  if (attachment.footer) box.append(h("div", { class: "att-footer", text: attachment.footer }));
  return box;
}

function threadSummary(message, app) {
  const count = message.reply_count;
  const people = (message.reply_users || []).slice(0, 4).map((id) =>
    h("span", { class: "thread-face", style: `background:${app.colorFor(id)}`, title: app.userLabel(id) }));
  const last = message.latest_reply ? ` · Last reply ${timeOfDay(message.latest_reply)}` : "";
  return h("button", {
    type: "button",
    class: "thread-summary",
    "data-testid": "open-thread",
    "data-ts": message.ts,
    onclick: () => app.openThread(message.channel || app.current.channel, message.ts),
  }, people, h("span", { class: "thread-count", text: `${count} ${count === 1 ? "reply" : "replies"}` }), h("span", { class: "thread-last", text: last }));
}
