// Modals: the top view of the user's stack, with title, close, submit and field errors.
//
// The page re-renders a modal only when the stand-in changed it (new view, new hash,
// new errors or notice); what the user typed is carried over, as Slack's client keeps
// input state across views.update for block_ids and action_ids that still exist.

import { renderBlocks } from "./blocks.js";
import { clear, h } from "./dom.js";
import { readValue } from "./elements.js";
import { plainText } from "./text.js";

let shownKey = null;

// {block_id: {action_id: value}} for every input element in `root`.
export function collectValues(root) {
  const values = {};
  if (!root) return values;
  for (const el of root.querySelectorAll(".bk-input-block [data-kind]")) {
    const value = readValue(el);
    if (value === null || (Array.isArray(value) && value.length === 0 && el.dataset.kind !== "checkboxes")) continue;
    (values[el.dataset.blockId] ||= {})[el.dataset.actionId] = value;
  }
  return values;
}

function viewKey(view, depth) {
  return JSON.stringify([view.id, view.hash, view.errors, view.notice, depth]);
}

export function renderModal(root, stack, app) {
  const view = stack.length ? stack[stack.length - 1] : null;
  if (!view) {
    if (shownKey !== null) {
      clear(root);
      root.hidden = true;
      shownKey = null;
    }
    return;
  }
  const key = viewKey(view, stack.length);
  if (key === shownKey) return;
  const previous = root.querySelector(".modal");
  const kept = previous && previous.dataset.viewId === view.id ? collectValues(previous) : {};
  shownKey = key;
  clear(root);
  root.hidden = false;
  root.append(modal(view, stack, app, kept));
}

function modal(view, stack, app, kept) {
  const ctx = app.blockContext({
    viewId: view.id,
    errors: view.errors || {},
    restore: (blockId, actionId) => kept[blockId]?.[actionId] ?? null,
    valuesRoot: () => document.querySelector(".modal"),
  });
  const title = plainText(view.title?.text ?? "");
  const closeText = plainText(view.close?.text ?? (view.submit ? "Cancel" : "Close"));
  const back = stack.length > 1;
  const box = h("div", { class: "modal", role: "dialog", "aria-modal": "true", "data-testid": "modal", "data-view-id": view.id, "data-callback-id": view.callback_id || "" });
  const header = h("div", { class: "modal-header" },
    back ? h("button", { type: "button", class: "modal-back", "aria-label": "Back", text: "←", onclick: () => app.closeView(view, false) }) : null,
    h("h2", { class: "modal-title", "data-testid": "modal-title", text: title }),
    h("button", { type: "button", class: "modal-x", "aria-label": "Close", "data-testid": "modal-x", text: "✕", onclick: () => app.closeView(view, true) }),
  );
  const body = h("div", { class: "modal-body" });
  if (view.notice) body.append(h("div", { class: "modal-notice", "data-testid": "modal-notice", role: "alert", text: `⚠ ${view.notice}` }));
  body.append(renderBlocks(view.blocks, ctx));
  const footer = h("div", { class: "modal-footer" },
    h("button", { type: "button", class: "bk-btn", "data-testid": "modal-close", text: closeText, onclick: () => app.closeView(view, false) }),
  );
  if (view.submit) {
    const submit = h("button", { type: "button", class: "bk-btn bk-btn-primary", "data-testid": "modal-submit", text: plainText(view.submit.text) });
    submit.addEventListener("click", () => app.submitView(view, collectValues(box), submit));
    footer.append(submit);
  }
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") app.closeView(view, false);
  });
  box.append(header, body, footer);
  return h("div", { class: "modal-overlay" }, box);
}
