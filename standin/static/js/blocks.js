// Block Kit layout blocks to DOM, shared by messages, modals and the App Home tab.

import { h, html } from "./dom.js";
import { imageElement, renderElement } from "./elements.js";
import { escapeHtml, mrkdwnToHtml, safeUrl } from "./mrkdwn.js";
import { textHtml } from "./text.js";

export function renderBlocks(blocks, ctx) {
  const box = h("div", { class: "bk-blocks" });
  for (const block of blocks || []) box.append(renderBlock(block, ctx));
  return box;
}

function renderBlock(block, ctx) {
  const wrap = (el) => {
    el.classList.add("bk-block");
    el.dataset.blockType = block.type;
    if (block.block_id) el.dataset.blockId = block.block_id;
    return el;
  };
  switch (block.type) {
    case "header":
      return wrap(html("div", { class: "bk-header", "data-testid": "bk-header" }, textHtml(block.text, ctx)));
    case "section":
      return wrap(section(block, ctx));
    case "context":
      return wrap(context(block, ctx));
    case "divider":
      return wrap(h("hr", { class: "bk-divider" }));
    case "actions":
      return wrap(h("div", { class: "bk-actions" }, (block.elements || []).map((e) => renderElement(e, block, ctx))));
    case "image":
      return wrap(image(block, ctx));
    case "input":
      return wrap(input(block, ctx));
    case "rich_text":
      return wrap(richText(block, ctx));
    case "file":
      return wrap(h("div", { class: "bk-file", text: `📄 File ${block.file_id || ""}` }));
    case "video":
      return wrap(video(block, ctx));
    default:
      return wrap(h("div", { class: "bk-unsupported", text: `[unsupported block: ${block.type}]` }));
  }
}

function section(block, ctx) {
  const main = h("div", { class: "bk-section-main" });
  if (block.text) main.append(html("div", { class: "bk-section-text" }, textHtml(block.text, ctx)));
  if (block.fields?.length) {
    main.append(h("div", { class: "bk-fields" }, block.fields.map((f) => html("div", { class: "bk-field" }, textHtml(f, ctx)))));
  }
  const el = h("div", { class: "bk-section" }, main);
  if (block.accessory) {
    const accessory = block.accessory.type === "image"
      ? imageElement(block.accessory)
      : renderElement(block.accessory, block, ctx);
    el.append(h("div", { class: `bk-accessory bk-accessory-${block.accessory.type}` }, accessory));
  }
  return el;
}

function context(block, ctx) {
  const el = h("div", { class: "bk-context" });
  for (const item of block.elements || []) {
    if (item.type === "image") el.append(h("span", { class: "bk-context-img" }, imageElement(item)));
    else el.append(html("span", { class: "bk-context-text" }, textHtml(item, ctx)));
  }
  return el;
}

function image(block, ctx) {
  const el = h("figure", { class: "bk-image" });
  if (block.title) el.append(html("figcaption", { class: "bk-image-title" }, textHtml(block.title, ctx)));
  el.append(imageElement(block));
  return el;
}

function video(block, ctx) {
  const url = safeUrl(block.title_url || block.video_url || "");
  const title = textHtml(block.title, ctx);
  return url
    ? html("div", { class: "bk-video" }, `▶️ <a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${title}</a>`)
    : html("div", { class: "bk-video" }, `▶️ ${title}`);
}

function input(block, ctx) {
  const error = ctx.errors?.[block.block_id];
  const el = h("div", { class: `bk-input-block${error ? " bk-has-error" : ""}` });
  const label = html("label", { class: "bk-label" }, textHtml(block.label, ctx));
  if (block.optional) label.append(h("span", { class: "bk-optional", text: " (optional)" }));
  el.append(label);
  if (block.element) el.append(renderElement(block.element, block, ctx, { inInput: true }));
  if (error) el.append(h("div", { class: "bk-error", "data-testid": "input-error", "data-block-id": block.block_id, role: "alert" }, `⚠ ${error}`));
  if (block.hint) el.append(html("div", { class: "bk-hint" }, textHtml(block.hint, ctx)));
  return el;
}

// rich_text: what people type in Slack's composer. Rendered with the same escaping.
function richText(block, ctx) {
  const el = h("div", { class: "bk-rich" });
  for (const part of block.elements || []) el.append(richPart(part, ctx));
  return el;
}

function richPart(part, ctx) {
  const inline = (items) => (items || []).map((item) => richInline(item, ctx)).join("");
  switch (part.type) {
    case "rich_text_section":
      return html("div", { class: "bk-rich-section" }, inline(part.elements));
    case "rich_text_preformatted":
      return html("pre", { class: "mk-pre" }, inline(part.elements));
    case "rich_text_quote":
      return html("blockquote", { class: "mk-quote" }, inline(part.elements));
    case "rich_text_list": {
      const list = h(part.style === "ordered" ? "ol" : "ul", { class: "bk-rich-list" });
      for (const item of part.elements || []) list.append(html("li", {}, inline(item.elements)));
      return list;
    }
    default:
      return h("div", { class: "bk-unsupported", text: `[${part.type}]` });
  }
}

function richInline(item, ctx) {
  let out;
  switch (item.type) {
    case "text":
      out = escapeHtml(item.text).replace(/\n/g, "<br>");
      break;
    case "link": {
      const url = safeUrl(item.url || "");
      const label = escapeHtml(item.text || item.url || "");
      out = url ? `<a class="mk-link" href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${label}</a>` : label;
      break;
    }
    case "user":
      out = mrkdwnToHtml(`<@${item.user_id}>`, ctx.mk);
      break;
    case "usergroup":
      out = mrkdwnToHtml(`<!subteam^${item.usergroup_id}>`, ctx.mk);
      break;
    case "channel":
      out = mrkdwnToHtml(`<#${item.channel_id}>`, ctx.mk);
      break;
    case "emoji":
      out = item.unicode ? escapeHtml(String.fromCodePoint(...item.unicode.split("-").map((c) => parseInt(c, 16)))) : mrkdwnToHtml(`:${item.name}:`, ctx.mk);
      break;
    case "broadcast":
      out = `<span class="mk-mention mk-broadcast">@${escapeHtml(item.range)}</span>`;
      break;
    default:
      out = "";
  }
  const style = item.style || {};
  if (style.code) out = `<code class="mk-code">${out}</code>`;
  if (style.bold) out = `<b>${out}</b>`;
  if (style.italic) out = `<i>${out}</i>`;
  if (style.strike) out = `<s>${out}</s>`;
  return out;
}
