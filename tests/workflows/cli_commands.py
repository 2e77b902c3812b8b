"""Find ``hybridops ...`` command lines in shell scripts and Markdown, and check each one against
the real CLI: the typer app's click command parses the arguments (``make_context``), which checks
that every sub-command and option exists, option values convert and required options are present.
Nothing is executed.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
WORKFLOW_FILES = ("dr.yml", "cost-check.yml", "baseline.yml", "ci.yml")

# `hybridops` as a command word: followed by whitespace and a sub-command or option (not
# `hybridops:drMode`, `hybridops-dr`, `hybridops.dr-recovered` or prose like "the hybridops CLI").
_COMMAND = re.compile(r"(?<![\w./:@-])hybridops(?=[ \t]+[a-z$\-\"'])")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
_ARRAY_ASSIGN = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\+?=\((.*)\)\s*(?:;|$)")
_ARRAY_USE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\[@\]\}$")
_STOP = {"|", "||", "&&", ";", "&", ")", "(", ";;", "then", "do", "done", "fi"}


def load_workflow(name: str) -> dict[str, Any]:
    """A workflow as GitHub reads it (YAML 1.1 would turn the `on` key into True)."""
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def run_steps(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps") or []:
            if "run" in step:
                yield job_id, step


def logical_lines(script: str) -> list[str]:
    """Join backslash continuations; drop heredoc bodies (another language) and comment lines."""
    out: list[str] = []
    lines = script.splitlines()
    i, pending = 0, ""
    while i < len(lines):
        line = lines[i]
        i += 1
        heredoc = _HEREDOC.search(line) if "<<<" not in line else None
        if heredoc:
            end = heredoc.group(2)
            while i < len(lines) and lines[i].strip() != end:
                i += 1
            i += 1
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full and not full.startswith("#"):
            out.append(full)
    if pending.strip():
        out.append(pending.strip())
    return out


def array_values(script: str) -> dict[str, list[str]]:
    """Every item ever put in a bash array (`name=(...)`, `name+=(...)`): a command line that
    expands ``"${name[@]}"`` is checked with all of them."""
    values: dict[str, list[str]] = {}
    for line in logical_lines(script):
        for m in _ARRAY_ASSIGN.finditer(line):
            values.setdefault(m.group(1), []).extend(shlex.split(m.group(2)))
    return values


@dataclass(frozen=True)
class Command:
    where: str
    text: str
    argv: tuple[str, ...]
    """Arguments after ``hybridops``, with array expansions resolved."""
    inline: bool = False
    """Inline code in prose names a command and maybe a flag (`hybridops dr cutover --simulate`):
    its sub-commands and options must exist, required options may be left out."""


def _split(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def commands_in_line(
    line: str, where: str, arrays: dict[str, list[str]] | None = None, *, inline: bool = False
) -> list[Command]:
    arrays = arrays or {}
    found = []
    for m in _COMMAND.finditer(line):
        tokens = _split(line[m.end() :])
        argv: list[str] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in _STOP:
                break
            if set(tok) <= set("<>&") or (
                tok.isdigit() and i + 1 < len(tokens) and tokens[i + 1][:1] in "<>"
            ):
                i += 2 if set(tok) <= set("<>&") else 1  # a redirection and its target
                continue
            use = _ARRAY_USE.match(tok)
            if use:
                argv += arrays.get(use.group(1), [])
            elif tok not in ("...", "…"):
                argv.append(tok)
            i += 1
        if argv and argv[0].endswith(":"):
            continue  # a label in program output ("hybridops --help: 206 ms"), not a command
        found.append(Command(where, line[m.start() :].strip(), tuple(argv), inline))
    return found


def commands_in_script(script: str, where: str) -> list[Command]:
    arrays = array_values(script)
    out = []
    for line in logical_lines(script):
        out += commands_in_line(line, where, arrays)
    return out


# --- Markdown ---------------------------------------------------------------------------------------

# Fences may be indented (inside a numbered list); the closing fence has the same indent.
_FENCE = re.compile(r"^([ \t]*)(```+|~~~+)[ \t]*([\w+-]*)[^\n]*\n(.*?)^\1\2[ \t]*$", re.S | re.M)
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_PROSE_FENCES = {"json", "mermaid", "python", "py", "promql", "text", "diff"}


_PLACEHOLDER = re.compile(r"<([A-Za-z_][\w-]*)>")


def commands_in_markdown(path: Path) -> list[Command]:
    # Doc placeholders such as `gh-<run>-drill` are values, not shell redirections.
    text = _PLACEHOLDER.sub(lambda m: "$" + m.group(1).upper(), path.read_text(encoding="utf-8"))
    rel = path.relative_to(REPO)
    found: list[Command] = []
    for block in _FENCE.finditer(text):
        lang = block.group(3).lower()
        if lang in _PROSE_FENCES:
            continue
        body = "\n".join(
            re.sub(r"^\s*\$ ", "", line) for line in textwrap.dedent(block.group(4)).splitlines()
        )
        line_no = text[: block.start()].count("\n") + 1
        found += commands_in_script(body, f"{rel}:{line_no}")
    outside = _FENCE.sub("", text)
    for m in _INLINE.finditer(outside):
        code = m.group(1).replace("\\|", "|").strip()
        if code.startswith("hybridops "):
            found += commands_in_line(code, f"{rel} (inline)", inline=True)
    return found


# --- the CLI ----------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def root_command() -> Any:
    import typer.main

    from dr.cli import app

    return typer.main.get_command(app)


def _clean(token: str) -> str:
    """Doc notation: `[--json]` optional brackets; `$VAR`, `<run_id>` stay (string values)."""
    return token.strip("[]") if token.startswith("[") or token.endswith("]") else token


def _exceptions() -> Any:
    try:  # typer >= 0.20 vendors click as typer._click
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older typer on top of click
        from click import exceptions
    return exceptions


def check(argv: tuple[str, ...] | list[str], *, complete: bool = True) -> list[str]:
    """Problems parsing ``hybridops ARGV`` (empty: it parses). A sub-command given as a variable
    (``hybridops dr "$ACTION"``) or as alternatives (``cutover|failback``) must accept the
    arguments in every one of its possible values. ``complete=False`` (a mention in prose) checks
    that the sub-commands and options exist, not that required options are given."""
    root = root_command()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        ctx = root.make_context("hybridops", [], resilient_parsing=True)
        return _check(root, ctx, ["hybridops"], [_clean(a) for a in argv if _clean(a)], complete)


def _check(cmd: Any, ctx: Any, path: list[str], args: list[str], complete: bool) -> list[str]:
    import typer

    if hasattr(cmd, "list_commands"):  # a group
        if not args or args[0] == "--help":
            return []  # a group named on its own, e.g. in prose: it exists
        head, rest = args[0], args[1:]
        if head.startswith("-"):
            return [f"{' '.join(path)}: expected a sub-command, got option {head}"]
        names = list(cmd.list_commands(ctx)) if head.startswith("$") else head.split("|")
        problems = []
        for name in names:
            sub = cmd.get_command(ctx, name)
            if sub is None:
                problems.append(
                    f"{' '.join(path)}: no sub-command {name!r} (has: {', '.join(cmd.list_commands(ctx))})"
                )
                continue
            sub_ctx = (
                sub.make_context(name, [], parent=ctx, resilient_parsing=True)
                if hasattr(sub, "list_commands")
                else ctx
            )
            problems += _check(sub, sub_ctx, [*path, name], rest, complete)
        return problems
    if not args:
        return []  # a command named in prose: it exists
    if not complete:  # a mention in prose: the options must exist
        names = {n for param in cmd.params for n in (*param.opts, *param.secondary_opts)} | {
            "--help"
        }
        unknown = [
            a.split("=", 1)[0]
            for a in args
            if a.startswith("-") and a.split("=", 1)[0] not in names
        ]
        return [f"{' '.join(path)} {' '.join(args)}: no such option {u}" for u in unknown]
    values = ["1" if "$" in a else a for a in args]  # a shell variable is some value
    try:
        cmd.make_context(path[-1], values, parent=ctx)
    except typer.Exit:
        return []  # --help
    except _exceptions().ClickException as exc:
        return [f"{' '.join(path)} {' '.join(args)}: {exc.format_message()}"]
    return []
