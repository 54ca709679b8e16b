"""The command line: parse arguments, build the context, run one command, map errors to exit codes.

This is the only module that reads argv or decides exit codes; commands live in
``reconciler.commands`` and return an int.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from reconciler import __version__
from reconciler.commands import COMMANDS
from reconciler.context import Context
from reconciler.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, ReconcilerError, UsageError
from reconciler.settings import ENV_TOKEN


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a bad flag; the contract says 1, with one clear line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _unrecognized(parser: argparse.ArgumentParser, extras: Sequence[str]) -> UsageError:
    """Arguments no option of the command takes: the command named, a close flag suggested
    for each mistyped one (``--taget``: ``--target``)."""
    flags = [f for action in parser._actions for f in action.option_strings if f.startswith("--")]

    def close(extra: str) -> str:
        name = extra.partition("=")[0]
        if not name.startswith("-"):
            return ""
        words = {f.lstrip("-"): f for f in flags}  # "--" would make any two flags alike
        found = difflib.get_close_matches(name.lstrip("-"), words, n=1)
        return words[found[0]] if found else ""

    if len(extras) == 1:
        hint = close(extras[0])
        what = f"unrecognized argument {extras[0]}" + (f": did you mean {hint}?" if hint else "")
    else:
        shown = (f"{e} (did you mean {close(e)}?)" if close(e) else e for e in extras)
        what = f"unrecognized arguments: {', '.join(shown)}"
    return UsageError(f"{parser.prog}: {what} (see {parser.prog} --help)")


def _global_flags(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Global flags, accepted before and after the command name.

    On sub-parsers the defaults are suppressed so a flag given before the command is not reset.
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument("--org", metavar="SLUG", default=default(None), help="Infracost org slug")
    group.add_argument(
        "--api",
        metavar="URL|sandbox",
        default=default(None),
        help="API base URL, or 'sandbox' for the embedded local server",
    )
    group.add_argument(
        "--no-color", action="store_true", default=default(False), help="never colour the output"
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show tracebacks of internal errors",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="reconciler",
        description="GitOps for Infracost Cloud governance: tagging policies, guardrails and "
        "custom properties as code.",
    )
    parser.add_argument("--version", action="version", version=f"reconciler {__version__}")
    _global_flags(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.HELP, description=command.HELP)
        _global_flags(p, suppress=True)
        command.add_arguments(p)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``argv`` parsed; arguments that no option takes are an error of the (sub)command given."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        raise _unrecognized(_chosen(parser, args), extras)
    return args


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost parser of the command line: ``reconciler sandbox serve``'s, say."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = getattr(args, action.dest, None)
            if isinstance(name, str) and name in action.choices:
                return _chosen(action.choices[name], args)
    return parser


def _context(
    args: argparse.Namespace, out: TextIO, err: TextIO, env: Mapping[str, str], cwd: Path
) -> Context:
    """The global flags, unpacked once: commands read them from the context, never from args."""
    no_color: bool = args.no_color
    debug: bool = args.debug
    org: str | None = args.org
    api: str | None = args.api
    return Context(
        stdout=out,
        stderr=err,
        env=env,
        cwd=cwd,
        debug=debug,
        color=_use_color(out, env, no_color),
        org=org,
        api=api,
    )


def _use_color(stream: TextIO, env: Mapping[str, str], no_color: bool) -> bool:
    """Colour on a terminal, unless --no-color, NO_COLOR set and not empty (no-color.org), or
    TERM=dumb (a terminal that cannot show it)."""
    if no_color or env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    environ = env if env is not None else os.environ
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        parser = build_parser()
        args = _parse(parser, args_list)
        name: str | None = args.command
        if name is None:
            parser.print_help(out)
            return 0
        ctx = _context(args, out, err, environ, cwd if cwd is not None else Path.cwd())
        # urllib3 warns on every retry; the client reports what matters. --debug shows all.
        logging.getLogger("urllib3").setLevel(logging.DEBUG if ctx.debug else logging.ERROR)
        with _reports(err, environ):
            return COMMANDS[name].run(args, ctx)
    except ReconcilerError as exc:
        print(_scrub(f"Error: {exc}", environ), file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=err)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the boundary for bugs: one line, the traceback only with --debug
        if debug:
            print(_scrub(traceback.format_exc(), environ), file=err, end="")
        message = (
            f"Internal error: {type(exc).__name__}: {exc}. This is a bug in reconciler; "
            "run again with --debug for the traceback."
        )
        print(_scrub(message, environ), file=err)
        return EXIT_INTERNAL


class _Reports(logging.Handler):
    """One line on stderr for each thing the clients report while they work (a failed request
    and when it is tried again), scrubbed like every other line."""

    def __init__(self, stream: TextIO, env: Mapping[str, str]) -> None:
        super().__init__(logging.INFO)
        self.stream = stream
        self.env = env

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(_scrub(record.getMessage(), self.env), file=self.stream, flush=True)
        except Exception:  # a closed stream: logging's usual report, never a crash
            self.handleError(record)


@contextlib.contextmanager
def _reports(stream: TextIO, env: Mapping[str, str]) -> Iterator[None]:
    logger = logging.getLogger("reconciler.http.transport")  # its retries
    handler, level = _Reports(stream, env), logger.level
    logger.addHandler(handler)
    if level == logging.NOTSET or level > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _scrub(text: str, env: Mapping[str, str]) -> str:
    """Last line of defence: no secret of the run (the tokens, every resolved fromEnv value,
    ServiceNow's credentials) reaches the terminal, whatever raised, in any letter case; and
    no control character from data (names in messages) either."""
    from reconciler import secrets
    from reconciler.render.escape import clean, line

    tokens = [env.get(name, "") for name in (ENV_TOKEN, "GITHUB_TOKEN")]
    scrubbed = secrets.scrub(text, also=[t for t in tokens if len(t) >= 8])
    return "\n".join(line(clean(part)) for part in scrubbed.split("\n"))
