// The page's regions: sidebar, channel (message list), thread pane and App Home.
// Each region redraws only when what it shows changed, so open menus, scroll positions
// and half-typed inputs survive the refreshes that every state change triggers.

import { renderBlocks } from "./blocks.js";
import { append, clear, dayLabel, h } from "./dom.js";
import { renderMessage } from "./messages.js";

const drawn = new Map();

function changed(region, key) {
  if (drawn.get(region) === key) return false;
  drawn.set(region, key);
  return true;
}

export function forget(region) {
  drawn.delete(region);
}

// -- sidebar ---------------------------------------------------------------------------

export function renderSidebar(root, app) {
  const { data, current } = app;
  const channels = data.channels.filter((c) => !c.is_im && c.members.includes(data.me));
  const key = JSON.stringify([data.me, current, channels.map((c) => [c.id, c.name, app.unread(c.id)]), data.users.length]);
  if (!changed("sidebar", key)) return;
  clear(root);
  const switcher = h("select", { id: "user-switcher", "data-testid": "user-switcher", class: "user-switcher", "aria-label": "Switch user" });
  for (const user of data.users.filter((u) => !u.is_bot)) {
    const label = `${user.name}${user.is_admin ? " (admin)" : ""} · ${user.real_name}`;
    switcher.append(h("option", { value: user.id, selected: user.id === data.me, text: label }));
  }
  switcher.addEventListener("change", () => app.switchUser(switcher.value));
  root.append(
    h("div", { class: "sb-team" }, h("div", { class: "sb-team-name", text: data.team.name }), h("div", { class: "sb-team-domain", text: `${data.team.domain}.slack.com (local stand-in)` })),
    h("label", { class: "sb-switch" }, h("span", { class: "sb-switch-label", text: "Signed in as" }), switcher),
    h("div", { class: "sb-section", text: "Channels" }),
  );
  for (const channel of channels) {
    const active = current.kind === "channel" && current.channel === channel.id;
    const unread = app.unread(channel.id);
    root.append(h("button", {
      type: "button",
      class: `sb-item${active ? " active" : ""}${unread ? " unread" : ""}`,
      "data-testid": `nav-${channel.id}`,
      "data-channel": channel.id,
      onclick: () => app.go({ kind: "channel", channel: channel.id }),
    }, h("span", { class: "sb-hash", text: "#" }), h("span", { class: "sb-name", text: channel.name }),
    unread ? h("span", { class: "sb-badge", text: String(unread) }) : null));
  }
  root.append(h("div", { class: "sb-section", text: "Apps" }));
  const appActive = current.kind === "home" || current.kind === "app-messages";
  const dm = app.dmChannel();
  const dmUnread = dm ? app.unread(dm.id) : 0;
  root.append(h("button", {
    type: "button",
    class: `sb-item${appActive ? " active" : ""}${dmUnread ? " unread" : ""}`,
    "data-testid": "nav-home",
    onclick: () => app.go({ kind: "home" }),
  }, h("span", { class: "sb-app-icon", text: "411" }), h("span", { class: "sb-name", text: data.bot.name }),
  dmUnread ? h("span", { class: "sb-badge", text: String(dmUnread) }) : null));
}

// -- the channel: header, messages and ephemerals ---------------------------------------

export function renderChannelHeader(root, app) {
  const { current } = app;
  const key = JSON.stringify([current.kind, current.channel, app.data.me]);
  if (!changed("header", key)) return;
  clear(root);
  if (current.kind === "channel") {
    const channel = app.channel(current.channel);
    append(root, [
      h("div", { class: "ch-title", "data-testid": "channel-title" }, h("span", { class: "ch-hash", text: "# " }), channel?.name ?? current.channel),
      channel?.topic?.value ? h("div", { class: "ch-topic", text: channel.topic.value }) : null,
      h("div", { class: "ch-members", text: `👥 ${channel?.members?.length ?? 0}` }),
    ]);
    return;
  }
  root.append(h("div", { class: "ch-title ch-app", "data-testid": "channel-title" },
    h("span", { class: "sb-app-icon", text: "411" }), h("span", { text: app.data.bot.name }), h("span", { class: "msg-badge", text: "APP" })));
  const tabs = h("div", { class: "app-tabs", role: "tablist" });
  for (const [kind, label] of [["home", "Home"], ["app-messages", "Messages"]]) {
    tabs.append(h("button", { type: "button", role: "tab", class: `app-tab${current.kind === kind ? " active" : ""}`, "data-testid": `tab-${kind}`, text: label, onclick: () => app.go({ kind }) }));
  }
  root.append(tabs);
}

function timeline(messages, ephemerals) {
  const items = [
    ...messages.map((m) => ({ ts: m.ts, message: m, ephemeral: false })),
    ...ephemerals.map((m) => ({ ts: m.ts, message: m, ephemeral: true })),
  ];
  return items.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
}

export function renderMessageList(root, app, channelId) {
  const messages = app.data.messages[channelId] || [];
  const ephemerals = app.visibleEphemerals(channelId, null);
  const key = JSON.stringify([channelId, app.data.me, messages, ephemerals, app.data.users.length]);
  if (!changed("messages", key)) return false;
  const atBottom = root.scrollHeight - root.scrollTop - root.clientHeight < 80 || root.dataset.channel !== channelId;
  clear(root);
  root.dataset.channel = channelId;
  const items = timeline(messages, ephemerals);
  if (!items.length) {
    root.append(h("div", { class: "empty", "data-testid": "empty-channel" }, "This is the very beginning of the channel. Try typing ", h("code", { text: "/411 help" }), "."));
  }
  let day = null;
  let previous = null;
  for (const item of items) {
    const label = dayLabel(item.ts);
    if (label !== day) {
      root.append(h("div", { class: "day-divider" }, h("span", { text: label })));
      day = label;
      previous = null;
    }
    // Consecutive messages by the same author within a few minutes are drawn compactly.
    const compact = previous && !item.ephemeral && !previous.ephemeral && previous.message.user === item.message.user
      && Number(item.ts) - Number(previous.ts) < 300 && !item.message.blocks?.some((b) => b.type === "header");
    root.append(renderMessage(item.message, app, { ephemeral: item.ephemeral, compact }));
    previous = item;
  }
  if (atBottom) root.scrollTop = root.scrollHeight;
  return true;
}

// -- the thread pane ----------------------------------------------------------------------

export function renderThread(root, app) {
  const thread = app.current.thread;
  const parent = thread ? (app.data.messages[thread.channel] || []).find((m) => m.ts === thread.ts) : null;
  const ephemerals = thread ? app.visibleEphemerals(thread.channel, thread.ts) : [];
  const key = JSON.stringify([thread, parent, ephemerals, app.data.me]);
  if (!changed("thread", key)) return;
  clear(root);
  root.hidden = !parent;
  document.body.classList.toggle("with-thread", Boolean(parent));
  if (!parent) return;
  const channel = app.channel(thread.channel);
  root.append(h("div", { class: "thread-header" },
    h("div", {}, h("div", { class: "thread-title", text: "Thread" }), h("div", { class: "thread-channel", text: `#${channel?.name ?? thread.channel}` })),
    h("button", { type: "button", class: "thread-close", "data-testid": "thread-close", "aria-label": "Close thread", text: "✕", onclick: () => app.closeThread() })));
  const list = h("div", { class: "thread-list", "data-testid": "thread-messages" });
  list.append(renderMessage(parent, app, { inThread: true }));
  const replies = parent.replies || [];
  list.append(h("div", { class: "thread-divider" }, h("span", { text: `${replies.length} ${replies.length === 1 ? "reply" : "replies"}` })));
  for (const item of timeline(replies, ephemerals)) {
    list.append(renderMessage(item.message, app, { ephemeral: item.ephemeral, inThread: true }));
  }
  root.append(list);
  list.scrollTop = list.scrollHeight;
}

// -- App Home -----------------------------------------------------------------------------

export function renderHome(root, app) {
  const home = app.data.home;
  const key = JSON.stringify([app.data.me, home?.id, home?.hash, app.data.users.length]);
  if (!changed("home", key)) return;
  clear(root);
  if (!home) {
    root.append(h("div", { class: "empty", "data-testid": "home-empty", text: "Opening the 411 Home tab…" }));
    return;
  }
  const ctx = app.blockContext({ viewId: home.id, valuesRoot: () => root });
  root.append(h("div", { class: "home-view", "data-testid": "home-view", "data-view-id": home.id }, renderBlocks(home.blocks, ctx)));
}
