"""GitHub Actions expressions (``${{ ... }}``) and workflow command files, for the lab's runner.

The lab runs steps of ``.github/workflows/dr.yml`` the way a hosted runner does, so it needs the
expression language of ``env:``, ``if:``, ``outputs:`` and ``concurrency:``: literals, context
properties (``.`` and ``['...']``), ``!``, comparisons, ``&&``/``||`` returning an operand, the
status functions and ``contains``/``startsWith``/``endsWith``/``format``/``join``/``toJSON``/
``fromJSON``, with GitHub's loose equality (strings ignore case; mixed types compare as numbers).
https://docs.github.com/en/actions/reference/workflows-and-actions/expressions

An expression the lab cannot evaluate raises ExpressionError naming it: a workflow change the
lab cannot follow fails loudly instead of running a different command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dr.errors import HybridOpsError


class ExpressionError(HybridOpsError):
    pass


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[()!<>.,\[\]*])|(?P<id>[A-Za-z_][A-Za-z0-9_-]*))"
)
_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.S)
_STATUS_CALL = re.compile(r"\b(success|failure|always|cancelled)\s*\(", re.I)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text) and text[pos:].strip():
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(f"cannot parse {text[pos:]!r} in {text!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value == value  # NaN is falsy


def as_text(value: Any) -> str:
    """A value as it lands in an env var or a script."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return str(value)


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _number(value: Any) -> float:
    if value is None or value is False or value == "":
        return 0.0
    if value is True:
        return 1.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _equal(a: Any, b: Any) -> bool:
    """Same types compare directly (strings case-insensitively); mixed types as numbers."""
    if type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float)):
        return bool(_fold(a) == _fold(b))
    return _number(a) == _number(b)


def _get(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        if isinstance(key, str):  # context property names are case-insensitive
            for k, v in value.items():
                if isinstance(k, str) and k.casefold() == key.casefold():
                    return v
        return None
    if isinstance(value, list) and isinstance(key, int | float) and 0 <= int(key) < len(value):
        return value[int(key)]
    return None


def _format(template: Any, *args: Any) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) in ("{{", "}}"):
            return m.group(0)[0]
        return as_text(args[int(m.group(1))])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", sub, as_text(template))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": lambda hay, needle: (
        any(_equal(x, needle) for x in hay)
        if isinstance(hay, list)
        else as_text(needle).casefold() in as_text(hay).casefold()
    ),
    "startswith": lambda s, p: as_text(s).casefold().startswith(as_text(p).casefold()),
    "endswith": lambda s, p: as_text(s).casefold().endswith(as_text(p).casefold()),
    "format": _format,
    "join": lambda items, sep=",": (
        as_text(sep).join(as_text(i) for i in items) if isinstance(items, list) else as_text(items)
    ),
    "tojson": lambda v: json.dumps(v, indent=2),
    "fromjson": lambda v: json.loads(as_text(v)),
}


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], status: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.contexts = contexts
        self.status = status

    def parse(self) -> Any:
        value = self._or()
        if self.i != len(self.toks):
            raise ExpressionError(f"unexpected {self.toks[self.i][1]!r} in {self.text!r}")
        return value

    def _peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise ExpressionError(f"unexpected end of {self.text!r}")
        tok = self.toks[self.i]
        if expected is not None and tok[1] != expected:
            raise ExpressionError(f"expected {expected!r}, got {tok[1]!r} in {self.text!r}")
        self.i += 1
        return tok

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            value = value if truthy(value) else right
        return value

    def _and(self) -> Any:
        value = self._cmp()
        while self._peek() == "&&":
            self._take()
            right = self._cmp()
            value = right if truthy(value) else value
        return value

    def _cmp(self) -> Any:
        value = self._unary()
        while self._peek() in ("==", "!=", "<", "<=", ">", ">="):
            op = self._take()[1]
            right = self._unary()
            if op == "==":
                value = _equal(value, right)
            elif op == "!=":
                value = not _equal(value, right)
            else:
                a, b = _number(value), _number(right)
                value = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        return value

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._postfix(self._primary())

    def _postfix(self, value: Any) -> Any:
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                value = _get(value, self._take()[1])
            else:
                key = self._or()
                self._take("]")
                value = _get(value, key)
        return value

    def _primary(self) -> Any:
        kind, text = self._take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text) if "." in text else int(text)
        if text == "(":
            value = self._or()
            self._take(")")
            return value
        if kind != "id":
            raise ExpressionError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self._peek() == "(":
            return self._call(text)
        if text not in self.contexts:
            raise ExpressionError(f"context {text!r} in {self.text!r} is not available in the lab")
        return self.contexts[text]

    def _call(self, name: str) -> Any:
        self._take("(")
        args: list[Any] = []
        while self._peek() != ")":
            args.append(self._or())
            if self._peek() == ",":
                self._take(",")
        self._take(")")
        key = name.casefold()
        status_fns = {
            "success": self.status == "success",
            "failure": self.status == "failure",
            "always": True,
            "cancelled": self.status == "cancelled",
        }
        if key in status_fns:
            return status_fns[key]
        fn = _FUNCTIONS.get(key)
        if fn is None:
            raise ExpressionError(f"function {name}() in {self.text!r} is not supported by the lab")
        return fn(*args)


def evaluate(expr: str, contexts: Mapping[str, Any], status: str = "success") -> Any:
    """One expression (without ``${{ }}``); ``status`` feeds success()/failure()/cancelled()."""
    return _Parser(expr.strip(), contexts, status).parse()


def condition(expr: Any, contexts: Mapping[str, Any], status: str = "success") -> bool:
    """An ``if:``. Without a status function GitHub evaluates ``success() && (expr)``."""
    if expr is None:
        return status == "success"
    if isinstance(expr, bool):
        return expr and status == "success"
    text = str(expr).strip()
    whole = _TEMPLATE.fullmatch(text)
    if whole:
        text = whole.group(1).strip()
    value = truthy(evaluate(text, contexts, status))
    return value if _STATUS_CALL.search(text) else value and status == "success"


def render(value: Any, contexts: Mapping[str, Any]) -> Any:
    """A ``${{ }}`` template: a lone expression keeps its type, otherwise string interpolation."""
    if not isinstance(value, str):
        return value
    whole = _TEMPLATE.fullmatch(value.strip())
    if whole:
        return evaluate(whole.group(1), contexts)
    return _TEMPLATE.sub(lambda m: as_text(evaluate(m.group(1), contexts)), value)


def render_text(value: Any, contexts: Mapping[str, Any]) -> str:
    return as_text(render(value, contexts))


def parse_command_file(path: Path) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIMITER`` blocks ($GITHUB_OUTPUT, $GITHUB_ENV).
    https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands"""
    out: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return out
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block: list[str] = []
            i += 1
            while i < len(lines) and lines[i] != delimiter:
                block.append(lines[i])
                i += 1
            out[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out
