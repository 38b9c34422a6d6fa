// Block Kit interactive elements: buttons, menus, pickers and inputs.
//
// Every element carries data-action-id / data-block-id / data-kind so the modal can read
// its value back (readValue) and tests can find it. `ctx.act(element, block, picked)`
// sends an interaction; inside an input block nothing is sent until submit, unless the
// input has dispatch_action, as in Slack.

import { h } from "./dom.js";
import { plainToHtml, safeUrl } from "./mrkdwn.js";
import { textHtml } from "./text.js";

const SELECTS = new Set([
  "static_select", "multi_static_select", "external_select", "multi_external_select",
  "users_select", "multi_users_select", "conversations_select", "multi_conversations_select",
  "channels_select", "multi_channels_select",
]);

export function renderElement(element, block, ctx, { inInput = false } = {}) {
  const kind = element.type;
  const common = {
    "data-action-id": element.action_id,
    "data-block-id": block.block_id,
    "data-kind": kind,
  };
  const sends = !inInput || block.dispatch_action;
  switch (kind) {
    case "button":
      return button(element, block, ctx, common);
    case "overflow":
      return overflow(element, block, ctx, common);
    case "image":
      return imageElement(element);
    case "plain_text_input":
    case "number_input":
    case "email_text_input":
    case "url_text_input":
      return textInput(element, block, ctx, common, sends);
    case "datepicker":
    case "timepicker":
      return picker(element, block, ctx, common, sends);
    case "radio_buttons":
    case "checkboxes":
      return choices(element, block, ctx, common, sends);
    default:
      if (SELECTS.has(kind)) return select(element, block, ctx, common, sends);
      return h("span", { class: "bk-unsupported", text: `[${kind}]` });
  }
}

function withConfirm(element, ctx, go) {
  if (element.confirm) ctx.confirm(element.confirm, go);
  else go();
}

function button(element, block, ctx, common) {
  const style = element.style === "primary" ? " bk-btn-primary" : element.style === "danger" ? " bk-btn-danger" : "";
  const el = h("button", { ...common, type: "button", class: `bk-btn${style}` });
  el.innerHTML = textHtml(element.text, ctx);
  if (element.url) el.classList.add("bk-btn-link");
  el.addEventListener("click", () =>
    withConfirm(element, ctx, () => {
      const url = element.url ? safeUrl(element.url) : null;
      if (url) window.open(url, "_blank", "noopener");
      ctx.act(element, block, element.value ?? null, el);
    }),
  );
  return el;
}

function overflow(element, block, ctx, common) {
  const wrap = h("span", { class: "bk-overflow" });
  const trigger = h("button", { ...common, type: "button", class: "bk-btn bk-overflow-btn", "aria-label": "More actions", text: "⋮" });
  const menu = h("div", { class: "bk-menu", hidden: true, role: "menu" });
  for (const option of element.options || []) {
    const item = h("button", { type: "button", class: "bk-menu-item", role: "menuitem", "data-value": option.value });
    item.innerHTML = textHtml(option.text, ctx);
    item.addEventListener("click", () => {
      menu.hidden = true;
      const url = option.url ? safeUrl(option.url) : null;
      if (url) window.open(url, "_blank", "noopener");
      withConfirm(element, ctx, () => ctx.act(element, block, option.value, trigger));
    });
    menu.append(item);
  }
  trigger.addEventListener("click", (event) => {
    event.stopPropagation();
    const open = menu.hidden;
    document.querySelectorAll(".bk-menu").forEach((m) => (m.hidden = true));
    menu.hidden = !open;
  });
  wrap.append(trigger, menu);
  return wrap;
}

export function imageElement(element) {
  const url = element.image_url ? safeUrl(element.image_url) : element.slack_file?.url ? safeUrl(element.slack_file.url) : null;
  if (!url) return h("span", { class: "bk-image-missing", title: element.alt_text || "", text: "🖼" });
  return h("img", { class: "bk-image-el", src: url, alt: element.alt_text || "", loading: "lazy" });
}

function textInput(element, block, ctx, common, sends) {
  const restored = ctx.restore?.(block.block_id, element.action_id);
  const value = restored ?? element.initial_value ?? "";
  const attrs = {
    ...common,
    class: "bk-input",
    placeholder: element.placeholder?.text,
    maxlength: element.max_length,
    minlength: element.min_length,
  };
  let el;
  if (element.multiline) {
    el = h("textarea", { ...attrs, rows: 4 });
  } else {
    const type = { number_input: "number", email_text_input: "email", url_text_input: "url" }[element.type] || "text";
    el = h("input", { ...attrs, type, min: element.min_value, max: element.max_value });
  }
  el.value = value;
  if (element.focus_on_load) queueMicrotask(() => el.focus());
  if (sends) {
    // dispatch_action: Slack sends on Enter by default.
    el.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !element.multiline) {
        event.preventDefault();
        ctx.act(element, block, el.value, el);
      }
    });
  }
  return el;
}

function picker(element, block, ctx, common, sends) {
  const restored = ctx.restore?.(block.block_id, element.action_id);
  const initial = element.type === "datepicker" ? element.initial_date : element.initial_time;
  const el = h("input", { ...common, class: "bk-input bk-picker", type: element.type === "datepicker" ? "date" : "time" });
  el.value = restored ?? initial ?? "";
  if (sends) el.addEventListener("change", () => withConfirm(element, ctx, () => ctx.act(element, block, el.value, el)));
  return el;
}

function optionNode(option, selected, ctx) {
  const label = option.text?.text ?? option.value;
  return h("option", { value: option.value, selected: selected.has(option.value), text: ctx.plain(label) });
}

function optionsFor(element, ctx) {
  const kind = element.type;
  if (kind.includes("users")) {
    return { options: ctx.people().map((u) => ({ value: u.id, text: { text: ctx.userLabel(u.id) } })), groups: [] };
  }
  if (kind.includes("conversations") || kind.includes("channels")) {
    return { options: ctx.channels().map((c) => ({ value: c.id, text: { text: `#${c.name}` } })), groups: [] };
  }
  return { options: element.options || [], groups: element.option_groups || [] };
}

function initialSelection(element, ctx) {
  let one = element.initial_option?.value ?? element.initial_user ?? element.initial_conversation ?? element.initial_channel;
  if (one === undefined && element.default_to_current_conversation && ctx.currentChannel) one = ctx.currentChannel;
  const many = (element.initial_options || []).map((o) => o.value)
    .concat(element.initial_users || [], element.initial_conversations || [], element.initial_channels || []);
  return new Set(one !== undefined ? [one, ...many] : many);
}

function select(element, block, ctx, common, sends) {
  const multi = element.type.startsWith("multi_");
  const restored = ctx.restore?.(block.block_id, element.action_id);
  const selected = restored != null ? new Set([].concat(restored)) : initialSelection(element, ctx);
  const el = h("select", { ...common, class: `bk-select${multi ? " bk-multi" : ""}`, multiple: multi });
  if (!multi) {
    const placeholder = element.placeholder?.text || "Select an item";
    el.append(h("option", { value: "", disabled: true, selected: selected.size === 0, text: ctx.plain(placeholder) }));
  }
  const { options, groups } = optionsFor(element, ctx);
  for (const option of options) el.append(optionNode(option, selected, ctx));
  for (const group of groups) {
    const node = h("optgroup", { label: ctx.plain(group.label?.text ?? "") });
    for (const option of group.options || []) node.append(optionNode(option, selected, ctx));
    el.append(node);
  }
  if (element.type === "external_select" && ctx.suggest) {
    // Slack loads these from the app as the menu opens; so does the stand-in, once.
    el.addEventListener("focus", async () => {
      if (el.dataset.loaded) return;
      el.dataset.loaded = "1";
      const answer = await ctx.suggest(element);
      for (const option of answer?.options || []) el.append(optionNode(option, selected, ctx));
    });
  }
  if (sends) {
    el.addEventListener("change", () => {
      const picked = multi ? [...el.selectedOptions].map((o) => o.value) : el.value;
      withConfirm(element, ctx, () => ctx.act(element, block, picked, el));
    });
  }
  return el;
}

function choices(element, block, ctx, common, sends) {
  const radio = element.type === "radio_buttons";
  const restored = ctx.restore?.(block.block_id, element.action_id);
  const selected = restored != null ? new Set([].concat(restored)) : initialSelection(element, ctx);
  const group = h("div", { ...common, class: `bk-choices bk-${element.type}`, role: radio ? "radiogroup" : "group" });
  const name = `${block.block_id}:${element.action_id}`;
  for (const option of element.options || []) {
    const input = h("input", { type: radio ? "radio" : "checkbox", name, value: option.value, checked: selected.has(option.value) });
    const label = h("span", { class: "bk-choice-text" });
    label.innerHTML = textHtml(option.text, ctx);
    const row = h("label", { class: "bk-choice" }, input, h("span", {}, label,
      option.description ? h("span", { class: "bk-choice-desc", text: option.description.text }) : null));
    if (sends) {
      input.addEventListener("change", () => {
        const picked = radio ? option.value : [...group.querySelectorAll("input:checked")].map((i) => i.value);
        ctx.act(element, block, picked, input);
      });
    }
    group.append(row);
  }
  return group;
}

// The value of an element as the stand-in's UI API takes it (selection.py expands it).
export function readValue(el) {
  const kind = el.dataset.kind;
  if (kind === "radio_buttons") return el.querySelector("input:checked")?.value ?? null;
  if (kind === "checkboxes") return [...el.querySelectorAll("input:checked")].map((i) => i.value);
  if (el.tagName === "SELECT") {
    if (el.multiple) return [...el.selectedOptions].map((o) => o.value);
    return el.value || null;
  }
  if (el.tagName === "INPUT" || el.tagName === "TEXTAREA") return el.value === "" ? null : el.value;
  return null;
}

export { plainToHtml };
