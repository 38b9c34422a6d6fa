"""views.open, views.push, views.update, views.publish.

A view Slack would refuse gets `invalid_arguments` with `response_metadata.messages`
pointing into `/view/...`, as Slack answers.
"""

from __future__ import annotations

from standin.limits import check_view
from standin.model import JSON, assign_ids
from standin.viewstore import ViewError
from standin.webapi import ApiError, Args, StandInContext


def view_arg(args: Args, expected_type: str | None = None) -> JSON:
    view = args.json("view", "invalid_arguments")
    if view is None:
        raise ApiError("invalid_arguments", ["[ERROR] missing required field: view"])
    errors = check_view(view)
    if expected_type and isinstance(view, dict) and view.get("type") != expected_type:
        errors.append(f"[ERROR] must be {expected_type} [json-pointer:/view/type]")
    if errors:
        raise ApiError("invalid_arguments", errors)
    assign_ids(view["blocks"])
    return dict(view)


def _trigger_user(ctx: StandInContext, args: Args) -> str:
    user, error = ctx.handles.use_trigger(args.text("trigger_id"))
    if error is not None or user is None:
        raise ApiError(error or "invalid_trigger_id")
    return user


def views_open(ctx: StandInContext, args: Args) -> JSON:
    definition = view_arg(args, "modal")
    user = _trigger_user(ctx, args)
    return {"view": ctx.views.open(user, definition).to_api()}


def views_push(ctx: StandInContext, args: Args) -> JSON:
    definition = view_arg(args, "modal")
    user = _trigger_user(ctx, args)
    try:
        return {"view": ctx.views.push(user, definition).to_api()}
    except ViewError as exc:
        raise ApiError(exc.code) from None


def views_update(ctx: StandInContext, args: Args) -> JSON:
    definition = view_arg(args)
    try:
        view = ctx.views.find(args.text("view_id"), args.text("external_id"))
        return {"view": ctx.views.update(view, definition, args.text("hash")).to_api()}
    except ViewError as exc:
        raise ApiError(exc.code) from None


def views_publish(ctx: StandInContext, args: Args) -> JSON:
    definition = view_arg(args, "home")
    user = args.text("user_id")
    if not user or user not in ctx.workspace.users:
        raise ApiError("user_not_found")
    try:
        return {"view": ctx.views.publish(user, definition, args.text("hash")).to_api()}
    except ViewError as exc:
        raise ApiError(exc.code) from None


HANDLERS = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
