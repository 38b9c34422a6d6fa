"""What a person does in Slack, delivered to the bot as Slack delivers it.

Each method builds the payload from what the stand-in actually stores (the message with
its blocks, the open view), signs it, posts it to the bot, and then does what Slack's
client does with the ack: show a command's ack text, apply a view_submission's
`response_action`, or show "failed with the error ..." when the bot did not answer.
"""

from __future__ import annotations

from typing import Any

from standin import payloads, selection
from standin.delivery import BotDelivery, BotReply, Tamper
from standin.escaping import escape_command_text
from standin.handles import ResponseUrl
from standin.limits import check_view
from standin.methods.content import message_content
from standin.model import (
    JSON,
    Channel,
    Ephemeral,
    Message,
    User,
    View,
    assign_ids,
    find_element,
)
from standin.viewstore import ViewError
from standin.webapi import ApiError, Args, StandInContext


class InteractionError(ValueError):
    """The person could not have done this in Slack (no such message, button or view)."""


class Interactions:
    def __init__(
        self,
        ctx: StandInContext,
        delivery: BotDelivery,
        command: str = "/411",
        escape: bool = True,
    ) -> None:
        self.ctx = ctx
        self.delivery = delivery
        self.command = command
        self.escape = escape  # the command's `should_escape` in the app manifest

    # -- lookups ------------------------------------------------------------------------

    def _user(self, user_id: str) -> User:
        user = self.ctx.workspace.users.get(user_id)
        if user is None:
            raise InteractionError(f"no user {user_id}")
        return user

    def _channel(self, channel_id: str) -> Channel:
        channel = self.ctx.workspace.resolve_channel(channel_id)
        if channel is None:
            raise InteractionError(f"no channel {channel_id}")
        return channel

    def _response_url(self, handle: ResponseUrl) -> str:
        return f"{self.ctx.root_url()}response/{self.ctx.handles.new_response_url(handle)}"

    def _slack_says(self, user: User, channel: Channel, text: str) -> None:
        ephemeral = Ephemeral(channel=channel.id, user=user.id, ts="", text=text, from_slack=True)
        self.ctx.workspace.post_ephemeral(ephemeral)

    # -- slash commands -------------------------------------------------------------------

    def send_command(
        self,
        user_id: str,
        channel_id: str,
        text: str,
        command: str | None = None,
        tamper: Tamper | None = None,
    ) -> BotReply:
        user, channel = self._user(user_id), self._channel(channel_id)
        command = command or self.command
        now = self.ctx.workspace.clock()
        response_url = self._response_url(ResponseUrl("", user.id, channel.id, now))
        trigger_id = self.ctx.handles.new_trigger(user.id)
        # `/411` has should_escape: true, so the app gets `<#C1|alerts>` for `#alerts`.
        sent = escape_command_text(self.ctx.workspace, text) if self.escape else text
        body = payloads.slash_command(user, channel, command, sent, response_url, trigger_id)
        reply = self.delivery.send(body, payloads.FORM, tamper)
        self._show_command_ack(user, channel, f"{command} {text}".strip(), reply)
        return reply

    def _show_command_ack(self, user: User, channel: Channel, typed: str, reply: BotReply) -> None:
        command = typed.split(" ", 1)[0]
        if not reply.ok:
            self._slack_says(
                user,
                channel,
                f'{command} failed with the error "{reply.error or "dispatch_failed"}"',
            )
            return
        if not reply.body.strip():
            return
        data = reply.json()
        if not isinstance(data, dict):
            data = {"text": reply.body}
        try:
            content = message_content(Args(data), self.ctx.max_blocks_chars)
        except ApiError as exc:
            self._slack_says(user, channel, f'{command} failed with the error "{exc.code}"')
            return
        if data.get("response_type") == "in_channel":
            # Slack shows the command as the user's message, then the app's answer.
            self.ctx.workspace.post(Message(channel.id, "", typed, user=user.id))
            message = Message(channel.id, "", content.text, content.blocks, content.attachments)
            self.ctx.workspace.post(message)
        else:
            ephemeral = Ephemeral(channel.id, user.id, "", content.text, content.blocks)
            self.ctx.workspace.post_ephemeral(ephemeral)

    # -- buttons and menus -------------------------------------------------------------

    def click(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        value: Any = None,
        selected_option: Any = None,
        selected_user: str | None = None,
        block_id: str | None = None,
        tamper: Tamper | None = None,
    ) -> BotReply:
        """Press a button or pick from a menu in a message or in one of the user's ephemerals."""
        user, channel = self._user(user_id), self._channel(channel_id)
        ws = self.ctx.workspace
        message = ws.find_message(channel.id, message_ts)
        ephemeral = None if message is not None else ws.find_ephemeral(user.id, message_ts)
        if message is not None:
            rendered, thread_ts = ws.render(message, self.ctx.root_url()), message.thread_ts
        elif ephemeral is not None:
            rendered, thread_ts = ephemeral.to_api(), ephemeral.thread_ts
        else:
            raise InteractionError(f"no message {message_ts} in {channel.id} for {user.id}")
        blocks = rendered.get("blocks") or []
        block, element = self._element(blocks, action_id, block_id)
        picked = _first(selected_option, selected_user, value)
        action = selection.action(block, element, picked, ws.next_ts())
        state = selection.state_values(blocks, {block["block_id"]: {action_id: picked}})
        handle = ResponseUrl("", user.id, channel.id, 0.0, thread_ts=thread_ts)
        handle.message_ts = message.ts if message else None
        handle.ephemeral_ts = ephemeral.ts if ephemeral else None
        payload = payloads.message_actions(
            user,
            channel,
            rendered,
            ephemeral is not None,
            action,
            state,
            self.ctx.handles.new_trigger(user.id),
            self._response_url(handle),
        )
        return self.delivery.send(payloads.interaction_form(payload), payloads.FORM, tamper)

    def suggest(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str, value: str = ""
    ) -> list[JSON]:
        """Type ``value`` into an external_select of a message: the options the bot offers."""
        user, channel = self._user(user_id), self._channel(channel_id)
        message = self.ctx.workspace.find_message(channel.id, message_ts)
        if message is None:
            raise InteractionError(f"no message {message_ts} in {channel.id}")
        rendered = self.ctx.workspace.render(message, self.ctx.root_url())
        block, element = self._element(rendered.get("blocks") or [], action_id, None)
        if element.get("type") != "external_select":
            raise InteractionError(f"{action_id} is not an external_select")
        payload = payloads.block_suggestion(
            user, channel, rendered, block["block_id"], action_id, value
        )
        reply = self.delivery.send(payloads.interaction_form(payload), payloads.FORM, None)
        if reply.status != 200:
            raise InteractionError(f"the bot answered {reply.status} to block_suggestion")
        options: list[JSON] = reply.json().get("options") or []
        return options

    def _element(
        self, blocks: list[JSON], action_id: str, block_id: str | None
    ) -> tuple[JSON, JSON]:
        found = find_element(blocks, action_id, block_id)
        if found is None:
            raise InteractionError(f"no element with action_id {action_id}")
        return found

    def click_in_view(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        value: Any = None,
        selected_option: Any = None,
        selected_user: str | None = None,
        block_id: str | None = None,
        values: JSON | None = None,
        tamper: Tamper | None = None,
    ) -> BotReply:
        """Press a button (or pick from a menu) in an open modal or the App Home tab."""
        user, view = self._user(user_id), self._live_view(user_id, view_id)
        blocks = view.definition.get("blocks", [])
        block, element = self._element(blocks, action_id, block_id)
        picked = _first(selected_option, selected_user, value)
        given = dict(values or {})
        if element.get("type") != "button":
            given.setdefault(block["block_id"], {})[action_id] = picked
        self.ctx.views.set_state(view, selection.state_values(blocks, given))
        action = selection.action(block, element, picked, self.ctx.workspace.next_ts())
        trigger_id = self.ctx.handles.new_trigger(user.id)
        payload = payloads.view_actions(user, view, action, trigger_id)
        return self.delivery.send(payloads.interaction_form(payload), payloads.FORM, tamper)

    def _live_view(self, user_id: str, view_id: str) -> View:
        view = self.ctx.views.get(view_id)
        live = [v.id for v in self.ctx.views.stack(user_id)]
        home = self.ctx.views.home(user_id)
        if view is None or (view.id not in live and (home is None or home.id != view.id)):
            raise InteractionError(f"view {view_id} is not open for {user_id}")
        return view

    # -- modals ------------------------------------------------------------------------

    def submit_view(
        self, user_id: str, view_id: str, values: JSON, tamper: Tamper | None = None
    ) -> BotReply:
        """Press a modal's submit button with these input values; apply the bot's answer."""
        user, view = self._user(user_id), self._live_view(user_id, view_id)
        stack = self.ctx.views.stack(user_id)
        if not stack or stack[-1].id != view.id:
            raise InteractionError(f"view {view_id} is not the top of {user_id}'s modal stack")
        blocks = view.definition.get("blocks", [])
        self.ctx.views.set_state(view, selection.state_values(blocks, values))
        missing = selection.missing_required(blocks, view.state_values)
        if missing:  # Slack's client refuses to send the submission at all
            self.ctx.views.set_errors(view, missing)
            return BotReply(status=None, error="required_fields_missing")
        view.notice = None
        payload = payloads.view_submission(user, view, self.ctx.handles.new_trigger(user.id))
        reply = self.delivery.send(payloads.interaction_form(payload), payloads.FORM, tamper)
        self._apply_submission_ack(user, view, reply)
        return reply

    def _apply_submission_ack(self, user: User, view: View, reply: BotReply) -> None:
        views = self.ctx.views
        if not reply.ok:
            view.notice = "We had some trouble connecting. Try again?"
            views.set_errors(view, {})
            return
        data = reply.json() if reply.body.strip() else {}
        action = data.get("response_action") if isinstance(data, dict) else None
        try:
            if action is None:
                views.close(user.id, view.id)
            elif action == "errors" and isinstance(data, dict):
                views.set_errors(view, _input_errors(view, data.get("errors")))
            elif action in ("update", "push") and isinstance(data, dict):
                definition = data.get("view")
                problems = check_view(definition)
                if problems or not isinstance(definition, dict):
                    raise ViewError("invalid_arguments")
                assign_ids(definition.get("blocks", []))
                if action == "update":
                    views.update(view, definition, None)
                else:
                    views.push(user.id, definition)
            elif action == "clear":
                views.clear(user.id)
            else:
                raise ViewError("invalid_response_action")
        except ViewError as exc:
            view.notice = f"The app answered with an invalid response ({exc.code})."
            views.set_errors(view, {})

    def close_view(
        self, user_id: str, view_id: str, all_views: bool = False, tamper: Tamper | None = None
    ) -> BotReply | None:
        """Press Cancel (or Back); the bot hears of it only when the view asked (notify_on_close)."""
        user, view = self._user(user_id), self._live_view(user_id, view_id)
        closed = (
            self.ctx.views.clear(user.id) if all_views else self.ctx.views.close(user.id, view.id)
        )
        remaining = self.ctx.views.stack(user.id)
        if not view.definition.get("notify_on_close") or not closed:
            return None
        payload = payloads.view_closed(user, view, is_cleared=not remaining)
        return self.delivery.send(payloads.interaction_form(payload), payloads.FORM, tamper)

    # -- events ------------------------------------------------------------------------

    def open_home(self, user_id: str, tamper: Tamper | None = None) -> BotReply:
        """The user opens the app's Home tab: an `app_home_opened` event."""
        user = self._user(user_id)
        dm = self.ctx.workspace.resolve_channel(user.id)
        assert dm is not None  # a user id always resolves to their DM with the bot
        now = self.ctx.workspace.clock()
        event = payloads.app_home_opened(
            user, dm.id, self.ctx.views.home(user.id), self.ctx.workspace.next_ts()
        )
        body = payloads.event_callback(event, int(now))
        return self.delivery.send(body, payloads.JSON_TYPE, tamper)


def _first(*candidates: Any) -> Any:
    return next((c for c in candidates if c is not None), None)


def _input_errors(view: View, errors: Any) -> dict[str, str]:
    """Slack accepts errors only for input blocks of the view; anything else fails."""
    inputs = {
        b.get("block_id") for b in view.definition.get("blocks", []) if b.get("type") == "input"
    }
    if not isinstance(errors, dict) or not errors or not set(errors) <= inputs:
        raise ViewError("invalid_errors")
    return {str(k): str(v) for k, v in errors.items()}
