// Block Kit text objects ({type: plain_text | mrkdwn, text, emoji, verbatim}) to HTML.

import { emojify } from "./emoji.js";
import { mrkdwnToHtml, plainToHtml } from "./mrkdwn.js";

export function textHtml(obj, ctx) {
  if (obj === undefined || obj === null) return "";
  if (typeof obj === "string") return mrkdwnToHtml(obj, ctx.mk);
  if (obj.type === "mrkdwn") return mrkdwnToHtml(obj.text, ctx.mk);
  return plainToHtml(obj.text ?? "", obj.emoji !== false);
}

// Plain text for places that take no markup (option labels, titles set via textContent).
export function plainText(text) {
  return emojify(String(text ?? ""));
}
