"""``/411 search create sigma``: paste a Sigma rule, get a search (or an update of its search).

The modal takes the rule's YAML and the few choices ``411 import sigma`` takes on
the command line (index, pipeline, cluster, schedule, channel); the rule is
converted by the same importer. What cannot be converted comes back as an error
on the field at fault (pySigma's reason on the rule), so nothing is half-saved.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.alerts.permissions import Actor, check_manage_search, check_source_allowed
from bot.definitions.search import SearchDefinition
from bot.definitions.store import find_search_by_name, find_search_by_origin
from bot.definitions.yaml_files import ImportReport, upsert
from bot.errors import BotError, InvalidInput
from bot.messages.blocks import Block, plain_text
from bot.messages.ids import CallbackId
from bot.rule_import.options import ImportOptions
from bot.rule_import.output import free_name
from bot.slack.alert_modals import value_of
from bot.slack.feedback import guarded
from bot.slack.search_listeners import tell
from bot.slack.search_modal import ModalErrors
from bot.slack.services import Services
from bot.text.escape import escape_mrkdwn

RULE_MAX = 3000  # Slack's limit for a text input
DEFAULT_PIPELINE = "default"  # the cluster's SIGMA_PIPELINE, else by the rule's log source
# A problem in a search field the user chose here is shown on that field; others on the rule.
BLOCK_OF_FIELD = {"schedule": "schedule", "channel": "channel"}
BLOCK_OF_FIELD |= {"source_config.index": "index", "source_config.cluster": "cluster"}


def _input(
    block: str, label: str, element: Block, *, hint: str = "", optional: bool = True
) -> Block:
    out: Block = {
        "type": "input",
        "block_id": block,
        "optional": optional,
        "label": plain_text(label, 2000),
        "element": {"action_id": block, **element},
    }
    if hint:
        out["hint"] = plain_text(hint, 2000)
    return out


def _option(text: str, value: str) -> Block:
    return {"text": plain_text(text, 75), "value": value}


def sigma_modal(channel: str | None) -> Block:
    from bot.rule_import.sigma import AUTO, pipeline_names

    default = _option("Default: the cluster's setting, else by log source", DEFAULT_PIPELINE)
    pipelines = [default] + [_option(name, name) for name in pipeline_names() if name != AUTO]
    text = {"type": "plain_text_input"}
    blocks = [
        _input(
            "rule",
            "Sigma rule (YAML)",
            {**text, "multiline": True, "max_length": RULE_MAX},
            hint="One rule, as in SigmaHQ's repository. Importing the same rule again "
            "(same id) updates its search.",
            optional=False,
        ),
        _input(
            "index",
            "Index pattern",
            text,
            hint="Default: winlogbeat-* for Windows rules, logs-* for others.",
        ),
        _input(
            "pipeline",
            "Field names (pySigma pipeline)",
            {"type": "static_select", "options": pipelines, "initial_option": default},
            hint="ecs_windows: Winlogbeat 7+; ecs_windows_old: Winlogbeat 6; none: the rule's own names.",
            optional=False,
        ),
        _input("cluster", "Cluster", text, hint="A named Elasticsearch cluster; empty: default."),
        _input("schedule", "Schedule", {**text, "initial_value": "every 5m"}, optional=False),
        _input(
            "channel",
            "Alert channel",
            {"type": "conversations_select", "default_to_current_conversation": True},
        ),
    ]
    return {
        "type": "modal",
        "callback_id": CallbackId.SIGMA_IMPORT,
        "title": plain_text("Import a Sigma rule", 24),
        "submit": plain_text("Import", 24),
        "close": plain_text("Cancel", 24),
        "private_metadata": json.dumps({"channel": channel}),
        "blocks": blocks,
    }


def definition_from_view(
    view: dict[str, Any], services: Services, actor: Actor
) -> SearchDefinition:
    """The search the pasted rule becomes with the chosen options; ModalErrors otherwise."""
    from bot.rule_import.sigma import chosen_pipeline, convert_text

    meta = json.loads(view.get("private_metadata") or "{}")
    cluster = value_of(view, "cluster") or None
    choice = value_of(view, "pipeline")
    try:
        pipeline = chosen_pipeline(
            services.runtime.settings,
            cluster,
            None if choice in (None, DEFAULT_PIPELINE) else choice,
        )
    except InvalidInput as exc:
        raise ModalErrors({"pipeline": exc.message}) from None
    options = ImportOptions(
        index=(value_of(view, "index") or "").strip() or None,
        cluster=cluster,
        channel=value_of(view, "channel") or meta.get("channel"),
        owner=actor.user_id,
        schedule=value_of(view, "schedule") or "every 5m",
    )
    report = convert_text(value_of(view, "rule") or "", "the pasted rule", options, pipeline)
    if report.failed:
        failure = report.failed[0]
        block = BLOCK_OF_FIELD.get(failure.field or "", "rule")
        raise ModalErrors({block: failure.reason[:2000]})
    if len(report.converted) != 1:
        raise ModalErrors({"rule": f"paste one rule (this text holds {len(report.converted)})"})
    return report.converted[0].definition


def register(app: App) -> None:
    @app.view(CallbackId.SIGMA_IMPORT)
    @guarded
    def on_submit(
        ack: Ack, view: dict[str, Any], context: dict[str, Any], client: WebClient
    ) -> None:
        actor: Actor = context["actor"]
        services: Services = context["services"]
        channel = json.loads(view.get("private_metadata") or "{}").get("channel")
        try:
            defn = definition_from_view(view, services, actor)
            text = _save(defn, actor, services, context)
        except ModalErrors as exc:
            ack(response_action="errors", errors=exc.errors)
            return
        except BotError as exc:
            ack(response_action="errors", errors={"rule": exc.message[:2000]})
            return
        ack()
        tell(client, actor.user_id, channel, text)


def _save(defn: SearchDefinition, actor: Actor, services: Services, context: dict[str, Any]) -> str:
    """Create the rule's search, or update the one an earlier import made (if theirs to change)."""
    settings = services.runtime.settings
    check_source_allowed(settings, services.directory, actor, defn.source)
    with context["db"] as session:
        defn = free_name(session, defn)
        existing = find_search_by_origin(session, defn.origin) if defn.origin else None
        existing = existing or find_search_by_name(session, defn.name)
        if existing is not None:
            check_manage_search(settings, services.directory, actor, existing, "update")
        report = ImportReport()
        upsert(session, defn, actor.user_id, "imported from a pasted Sigma rule", report)
        search = find_search_by_name(session, defn.name)
        search_id = search.id if search else None
    name = escape_mrkdwn(defn.name)
    if report.created:
        return (
            f"Created search *{name}* (#{search_id}) from the Sigma rule. "
            f"Try it: `/411 search test {search_id}`"
        )
    verb = "Updated" if report.updated else "Nothing changed in"
    return f"{verb} search *{name}* (#{search_id}), made from this Sigma rule before."
