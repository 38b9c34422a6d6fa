// The page: state from the stand-in, a long-poll that refreshes it, and what a click does.
//
// Everything a person does goes through the stand-in's UI API, which signs it and posts
// it to the bot exactly as Slack would; the page itself never talks to the bot.

import * as api from "./api.js";
import { h } from "./dom.js";
import { forget, renderChannelHeader, renderHome, renderMessageList, renderSidebar, renderThread } from "./layout.js";
import { collectValues, renderModal } from "./modal.js";
import { plainText } from "./text.js";

const COLORS = ["#4a154b", "#1264a3", "#2eb67d", "#ecb22e", "#e8912d", "#3aa3e3", "#9e3997", "#008952"];
const $ = (id) => document.getElementById(id);

class App {
  constructor() {
    const params = new URLSearchParams(location.search);
    this.me = params.get("user") || localStorage.getItem("standin-user") || "U_ALICE";
    this.current = this.fromHash() || { kind: "channel", channel: "C_ALERTS", thread: null };
    this.data = null;
    this.lastEventId = 0;
    this.refreshing = null;
    this.again = false;
    this.dismissed = new Set();
    this.seen = {}; // user -> channel -> message count seen
    this.history = [];
    this.historyIndex = 0;
  }

  // -- lookups used by the renderers ------------------------------------------------------

  user(id) {
    return this.data?.users.find((u) => u.id === id);
  }

  userLabel(id) {
    const user = this.user(id);
    return user ? user.profile?.display_name || user.name : id;
  }

  people() {
    return (this.data?.users || []).filter((u) => !u.is_bot);
  }

  channel(id) {
    return this.data?.channels.find((c) => c.id === id);
  }

  dmChannel() {
    return this.data?.channels.find((c) => c.is_im && c.members.includes(this.data.me));
  }

  colorFor(id) {
    let sum = 0;
    for (const ch of String(id || "")) sum = (sum * 31 + ch.charCodeAt(0)) >>> 0;
    return COLORS[sum % COLORS.length];
  }

  visibleEphemerals(channelId, threadTs) {
    return (this.data?.ephemerals || []).filter((e) =>
      e.channel === channelId && !this.dismissed.has(e.ts) && (threadTs ? e.thread_ts === threadTs : !e.thread_ts));
  }

  unread(channelId) {
    if (this.current.kind === "channel" && this.current.channel === channelId) return 0;
    if (this.current.kind === "app-messages" && this.dmChannel()?.id === channelId) return 0;
    const seen = this.seen[this.me]?.[channelId];
    const count = (this.data?.messages[channelId] || []).length;
    return seen === undefined ? 0 : Math.max(0, count - seen);
  }

  markSeen() {
    const mine = (this.seen[this.me] ||= {});
    for (const channel of this.data.channels) {
      const count = (this.data.messages[channel.id] || []).length;
      const viewing = (this.current.kind === "channel" && this.current.channel === channel.id)
        || (this.current.kind === "app-messages" && channel.is_im);
      if (viewing || mine[channel.id] === undefined) mine[channel.id] = count;
    }
  }

  // What block renderers need: name lookups for mrkdwn, and where an interaction goes.
  blockContext({ channel = null, messageTs = null, ephemeral = false, viewId = null, errors = {}, restore = null, valuesRoot = null }) {
    const mk = {
      me: this.data.me,
      userName: (id) => (this.user(id) ? this.userLabel(id) : null),
      groupHandle: (id) => this.data.usergroups.find((g) => g.id === id)?.handle ?? null,
      channelName: (id) => this.channel(id)?.name ?? null,
    };
    return {
      mk,
      errors,
      restore,
      plain: plainText,
      // Where the user is: conversations_select's default_to_current_conversation uses it.
      currentChannel: this.current.kind === "channel" ? this.current.channel : null,
      people: () => this.people(),
      channels: () => this.data.channels.filter((c) => !c.is_im),
      userLabel: (id) => this.userLabel(id),
      confirm: (dialog, go) => this.confirm(dialog, go),
      act: (element, block, picked, el) =>
        this.act({ element, block, picked, el, channel, messageTs, ephemeral, viewId, valuesRoot }),
      // An external_select in a message asks the bot for its options (block_suggestion).
      suggest: viewId || !messageTs ? null : (element) =>
        api.post("suggest", { user: this.me, channel, message_ts: messageTs, action_id: element.action_id }),
    };
  }

  // -- navigation ------------------------------------------------------------------------

  fromHash() {
    const hash = decodeURIComponent(location.hash.slice(1));
    if (!hash) return null;
    if (hash === "home") return { kind: "home", thread: null };
    if (hash === "app-messages") return { kind: "app-messages", thread: null };
    const [channel, ts] = hash.split("/");
    return { kind: "channel", channel, thread: ts ? { channel, ts } : null };
  }

  go(target) {
    const thread = target.kind === "channel" && this.current.thread?.channel === target.channel ? this.current.thread : null;
    this.current = { ...target, thread };
    if (target.kind === "home") this.send("home_opened", { user: this.me });
    this.syncHash();
    this.render();
  }

  syncHash() {
    const c = this.current;
    const hash = c.kind === "channel" ? c.channel + (c.thread ? `/${c.thread.ts}` : "") : c.kind;
    history.replaceState(null, "", `${location.pathname}${location.search}#${hash}`);
  }

  openThread(channel, ts) {
    this.current = { ...this.current, thread: { channel, ts } };
    this.syncHash();
    this.render();
  }

  closeThread() {
    this.current = { ...this.current, thread: null };
    this.syncHash();
    this.render();
  }

  dismiss(ts) {
    this.dismissed.add(ts);
    this.render();
  }

  async switchUser(user) {
    this.me = user;
    localStorage.setItem("standin-user", user);
    const url = new URL(location.href);
    url.searchParams.set("user", user);
    history.replaceState(null, "", url);
    this.dismissed.clear();
    ["sidebar", "messages", "thread", "home", "header"].forEach(forget);
    await this.refresh();
    if (this.current.kind === "home") this.send("home_opened", { user: this.me });
  }

  // -- talking to the stand-in -------------------------------------------------------------

  async refresh() {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        const data = await api.getState(this.me);
        for (const [channelId, list] of Object.entries(data.messages)) {
          for (const m of list) {
            m.channel = channelId;
            for (const r of m.replies || []) r.channel = channelId;
          }
        }
        this.data = data;
        this.lastEventId = Math.max(this.lastEventId, data.last_event_id);
        this.render();
      } while (this.again);
    })();
    try {
      await this.refreshing;
    } finally {
      this.refreshing = null;
    }
  }

  async poll() {
    for (;;) {
      try {
        const { last_event_id: last } = await api.waitEvents(this.lastEventId, 25);
        this.setOnline(true);
        if (last !== this.lastEventId) {
          // A restarted stand-in counts from zero again: take its number as it is.
          if (last < this.lastEventId) this.lastEventId = last;
          await this.refresh();
        }
      } catch {
        this.setOnline(false);
        await new Promise((resolve) => setTimeout(resolve, 1500));
      }
    }
  }

  setOnline(online) {
    $("offline").hidden = online;
  }

  async send(route, body, busyEl = null) {
    busyEl?.classList.add("busy");
    if (busyEl && "disabled" in busyEl) busyEl.disabled = true;
    try {
      const answer = await api.post(route, body);
      if (!answer.ok) this.toast(`The stand-in refused this: ${answer.error}`, "error");
      else if (answer.reply && answer.reply.error && answer.reply.error !== "required_fields_missing") {
        this.toast(`411 didn't respond (${answer.reply.error})`, "error");
      }
      return answer;
    } catch (error) {
      this.toast(`Could not reach the stand-in: ${error.message}`, "error");
      return null;
    } finally {
      busyEl?.classList.remove("busy");
      if (busyEl && "disabled" in busyEl) busyEl.disabled = false;
      this.refresh().catch(() => {});
    }
  }

  act({ element, block, picked, el, channel, messageTs, viewId, valuesRoot }) {
    const body = { user: this.me, action_id: element.action_id, block_id: block.block_id };
    const kind = element.type;
    if (kind.endsWith("users_select") && !kind.startsWith("multi")) body.selected_user = picked;
    else if (["static_select", "external_select", "overflow", "radio_buttons"].includes(kind)) body.selected_option = picked;
    else body.value = picked;
    if (viewId) {
      body.view_id = viewId;
      body.values = collectValues(valuesRoot ? valuesRoot() : null);
    } else {
      body.channel = channel;
      body.message_ts = messageTs;
    }
    return this.send("action", body, el);
  }

  submitView(view, values, button) {
    return this.send("view_submission", { user: this.me, view_id: view.id, values }, button);
  }

  closeView(view, all) {
    return this.send("view_closed", { user: this.me, view_id: view.id, all });
  }

  async command(text) {
    const channel = this.current.kind === "channel" ? this.current.channel : this.dmChannel()?.id;
    if (!channel) {
      this.toast("Open a channel to type a command.", "error");
      return;
    }
    if (!text.startsWith("/")) {
      this.toast("The stand-in delivers slash commands to 411 only: try /411 help", "info");
      return;
    }
    await this.send("command", { user: this.me, channel, text });
  }

  // -- dialogs and toasts ---------------------------------------------------------------------

  confirm(dialog, go) {
    const root = $("confirm-root");
    const close = () => {
      root.hidden = true;
      root.textContent = "";
    };
    const box = h("div", { class: "modal confirm", role: "alertdialog", "data-testid": "confirm" },
      h("div", { class: "modal-header" }, h("h2", { class: "modal-title", text: plainText(dialog.title?.text ?? "Are you sure?") })),
      h("div", { class: "modal-body", text: plainText(dialog.text?.text ?? "") }),
      h("div", { class: "modal-footer" },
        h("button", { type: "button", class: "bk-btn", "data-testid": "confirm-deny", text: plainText(dialog.deny?.text ?? "Cancel"), onclick: close }),
        h("button", {
          type: "button",
          class: `bk-btn ${dialog.style === "danger" ? "bk-btn-danger" : "bk-btn-primary"}`,
          "data-testid": "confirm-ok",
          text: plainText(dialog.confirm?.text ?? "Yes"),
          onclick: () => { close(); go(); },
        })));
    root.textContent = "";
    root.append(h("div", { class: "modal-overlay" }, box));
    root.hidden = false;
  }

  toast(text, kind = "info") {
    const node = h("div", { class: `toast toast-${kind}`, "data-testid": "toast", role: "status", text });
    $("toasts").append(node);
    setTimeout(() => node.remove(), 6000);
  }

  // -- drawing --------------------------------------------------------------------------------

  render() {
    if (!this.data) return;
    this.markSeen();
    renderSidebar($("sidebar"), this);
    renderChannelHeader($("channel-header"), this);
    const c = this.current;
    const showHome = c.kind === "home";
    $("home").hidden = !showHome;
    $("messages").hidden = showHome;
    $("composer").hidden = showHome;
    if (showHome) renderHome($("home"), this);
    else {
      const channelId = c.kind === "channel" ? c.channel : this.dmChannel()?.id;
      renderMessageList($("messages"), this, channelId || "");
      const channel = c.kind === "channel" ? this.channel(c.channel) : null;
      $("composer-input").placeholder = channel ? `Message #${channel.name}  (try /411 help)` : "Message 411  (try /411 help)";
    }
    renderThread($("thread"), this);
    renderModal($("modal-root"), this.data.modals || [], this);
    document.body.dataset.user = this.data.me;
    document.body.dataset.lastEventId = String(this.data.last_event_id);
    document.body.dataset.ready = "1";
  }

  bindComposer() {
    const input = $("composer-input");
    const submit = async () => {
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      $("command-hint").hidden = true;
      this.history.push(text);
      this.historyIndex = this.history.length;
      await this.command(text);
    };
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        submit();
      } else if (event.key === "ArrowUp" && !input.value && this.history.length) {
        this.historyIndex = Math.max(0, this.historyIndex - 1);
        input.value = this.history[this.historyIndex];
        event.preventDefault();
      }
    });
    input.addEventListener("input", () => {
      $("command-hint").hidden = !input.value.startsWith("/");
    });
    document.addEventListener("click", () => document.querySelectorAll(".bk-menu").forEach((m) => (m.hidden = true)));
    window.addEventListener("hashchange", () => {
      const target = this.fromHash();
      if (target) {
        this.current = target;
        this.render();
      }
    });
  }

  async start() {
    this.bindComposer();
    try {
      await this.refresh();
    } catch {
      this.setOnline(false);
    }
    if (this.current.kind === "home") this.send("home_opened", { user: this.me });
    this.poll();
  }
}

const app = new App();
window.standin = app; // for tests and curious people
app.start();
