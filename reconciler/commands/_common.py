"""What several commands share: preparing a directory, diff options, printing plans."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from reconciler.commands._flags import PlanFlags, PlanFormat
from reconciler.context import Context
from reconciler.desired import Prepared, prepare
from reconciler.errors import EXIT_CHANGES, EXIT_OK, EXIT_USER, InputError, UsageError
from reconciler.model import LiveObject, Plan
from reconciler.plan import Options, Target, make_plan
from reconciler.render import problems as render_problems
from reconciler.settings import CONFIG_NAME, Settings

if TYPE_CHECKING:
    from reconciler.render.markdown import Links


def prepare_or_fail(
    directory: str, ctx: Context, on_settings: Callable[[Settings], None] | None = None
) -> Prepared:
    """Read and check DIR (as given); print its problems to stderr; stop on errors.
    ``on_settings``: see ``desired.prepare``."""
    prepared = prepare(
        ctx.cwd / directory,
        flag_org=ctx.org,
        flag_api=ctx.api,
        env=ctx.env,
        on_settings=on_settings,
    )
    require_desired_state(prepared, directory)
    for problem in prepared.problems:
        print(render_problems.line(problem, ctx.display_path), file=ctx.stderr)
    if prepared.errors or prepared.settings is None:
        raise InputError(f"{directory}: {_what_stops(prepared)}")
    return prepared


def require_desired_state(prepared: Prepared, directory: str) -> None:
    """A folder with neither reconciler.yaml nor a resource file is the wrong folder, not an
    empty desired state (whose plan would list the whole org as unmanaged)."""
    if prepared.config.path is None and prepared.state.files == 0:
        raise InputError(
            f"{directory}: no reconciler.yaml and no resource files (*.yaml, *.yml): "
            "is this the desired-state directory?"
        )


def _what_stops(prepared: Prepared) -> str:
    """The summary of the errors printed above: the settings (often the environment's doing)
    apart from the files'."""
    from reconciler.desired import SETTINGS, SETTINGS_CONFLICT

    rules = [p.rule for p in prepared.errors]
    said = []
    if SETTINGS_CONFLICT in rules:
        said.append(
            f"the settings conflict: the environment and {CONFIG_NAME} disagree (see above)"
        )
    elif SETTINGS in rules:
        said.append("the settings cannot be used (see above)")
    n = sum(1 for rule in rules if rule not in (SETTINGS, SETTINGS_CONFLICT))
    if n:
        said.append(
            f"{n} error{'s' if n != 1 else ''} in the desired state "
            "(run reconciler validate for details)"
        )
    elif said:
        said.append("the files themselves have no errors")
    return "; ".join(said)


def _targets(values: tuple[str, ...], flag: str) -> tuple[Target, ...]:
    out = []
    for value in values:
        try:
            out.append(Target.parse(value))
        except ValueError as exc:
            raise UsageError(f"{flag}: {exc}") from None
    return tuple(out)


def diff_options(
    flags: PlanFlags, settings: Settings, ctx: Context, *, secrets_available: bool = True
) -> Options:
    prune: bool | tuple[str, ...] = True if flags.prune else settings.prune
    return Options(
        secrets_available=secrets_available,
        prune=prune,
        prune_limit=settings.prune_limit,
        allow_mass_delete=flags.allow_mass_delete or settings.allow_mass_delete,
        mass_delete_setting=settings.allow_mass_delete,
        targets=_targets(flags.targets, "--target"),
        excludes=_targets(flags.excludes, "--exclude"),
        env=ctx.env,
    )


def plan_against(
    prepared: Prepared,
    live: Mapping[str, list[LiveObject]],
    flags: PlanFlags,
    ctx: Context,
    *,
    org: str,
    api: str,
    secrets_available: bool = True,
    keep_live: bool = True,
) -> Plan:
    """The plan of a prepared directory against live objects, with this command's options.
    ``keep_live``: see ``Options.keep_live``."""
    assert prepared.settings is not None
    options = diff_options(flags, prepared.settings, ctx, secrets_available=secrets_available)
    return make_plan(
        prepared,
        live,
        replace(options, keep_live=keep_live),
        org=org,
        api=api,
        baseline=flags.baseline,
        display_dir=ctx.display_path(prepared.directory),
    )


def print_plan(plan: Plan, fmt: PlanFormat, ctx: Context) -> None:
    if fmt == "json":
        from reconciler.render import json as render_json

        print(render_json.render(plan), file=ctx.stdout)
    elif fmt == "markdown":
        from reconciler.render import markdown

        print(markdown.render(plan, links=comment_links(ctx)), file=ctx.stdout)
    else:
        from reconciler.render import text

        print(text.render(plan, color=ctx.color), file=ctx.stdout)


def comment_links(ctx: Context) -> Links:
    """What the comment links to in a GitHub Actions run: the head commit, the run and its
    artifacts (``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY``, ``GITHUB_RUN_ID``)."""
    from datetime import UTC, datetime

    from reconciler.render.markdown import Links

    commit = ""
    if "GITHUB_SHA" in ctx.env or "GITHUB_EVENT_PATH" in ctx.env:
        from reconciler.github.actions import event, head_sha

        commit = head_sha(event(ctx.env), ctx.env)
    return Links.from_env(ctx.env, commit, datetime.now(UTC))


def plan_exit_code(plan: Plan, *, detailed: bool, fail_on_unmanaged: bool) -> int:
    if plan.errors:
        return EXIT_USER
    if detailed:
        unmanaged = bool(plan.unmanaged) and fail_on_unmanaged
        return EXIT_CHANGES if plan.has_changes or unmanaged else EXIT_OK
    return EXIT_OK
