"""The QBO query language subset (reference §2.2, §9.14): parse, then filter/sort/page rendered entities.

``SELECT * | count(*) FROM Entity [WHERE p op v AND ...] [ORDER BY|ORDERBY p [ASC|DESC], ...]``
``[STARTPOSITION n] [MAXRESULTS n]``
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from deferredrev.sandbox.intuit.wire import QboFault

Value = str | Decimal | bool
MAX_RESULTS_CAP = 1000
DEFAULT_MAX_RESULTS = 100
_META = ("MetaData.CreateTime", "MetaData.LastUpdatedTime")
ENTITY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "Account": (
        "Id",
        "SyncToken",
        "Name",
        "FullyQualifiedName",
        "AccountType",
        "AccountSubType",
        "Classification",
        "Active",
        "SubAccount",
        "ParentRef",
        "CurrentBalance",
        "CurrentBalanceWithSubAccounts",
        "AcctNum",
        "Description",
        "CurrencyRef",
        *_META,
    ),
    "JournalEntry": (
        "Id",
        "SyncToken",
        "DocNumber",
        "TxnDate",
        "TotalAmt",
        "PrivateNote",
        "Adjustment",
        "CurrencyRef",
        *_META,
    ),
    "Attachable": (
        "Id",
        "SyncToken",
        "FileName",
        "Note",
        "Category",
        "ContentType",
        "Size",
        "AttachableRef.EntityRef.Type",
        "AttachableRef.EntityRef.value",
        "AttachableRef.IncludeOnSend",
        *_META,
    ),
    "CompanyInfo": ("Id", "SyncToken", "CompanyName", "LegalName", "Country", *_META),
    "Preferences": ("Id", "SyncToken", *_META),
}
NAME_LIST_ENTITIES = frozenset({"Account"})
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|=|<|>)"
    r"|(?P<punct>[(),*])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<bad>\S))"
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    value: Value
    column: int


@dataclass(frozen=True)
class Condition:
    prop: str
    op: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool
    conditions: tuple[Condition, ...]
    order: tuple[tuple[str, bool], ...]
    start: int
    max_results: int | None


def parse_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def validation_error(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}")


def _unescape(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    stripped = text.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.lastgroup is None:
            raise parse_error(f'Encountered "{stripped[position:]}" at line 1, column {position + 1}.')
        kind = match.lastgroup
        raw = match.group(kind)
        column = match.start(kind) + 1
        if kind == "bad":
            raise parse_error(f'Encountered " "{raw}" "{stripped[position:].strip()} "" at line 1, column {column}.')
        value: Value = raw
        if kind == "string":
            value = _unescape(raw)
        elif kind == "number":
            value = Decimal(raw)
        tokens.append(Token(kind, raw, value, column))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise parse_error('Encountered "<EOF>" at end of query.')
        self.index += 1
        return token

    def unexpected(self, token: Token) -> QboFault:
        label = {"string": "<STRING>", "number": "<INTEGER>", "word": "<ID>"}.get(token.kind, token.text)
        return parse_error(f'Encountered " {label} "{token.text} "" at line 1, column {token.column}.')

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.lower() in words

    def expect_word(self, *words: str) -> Token:
        token = self.next()
        if token.kind != "word" or token.text.lower() not in words:
            raise self.unexpected(token)
        return token

    def expect_punct(self, text: str) -> None:
        token = self.next()
        if token.text != text:
            raise self.unexpected(token)

    def parse(self) -> Query:
        self.expect_word("select")
        count = self.parse_projection()
        self.expect_word("from")
        entity = self.next()
        if entity.kind != "word":
            raise self.unexpected(entity)
        conditions = self.parse_where()
        order = self.parse_order()
        start, max_results = self.parse_paging()
        trailing = self.peek()
        if trailing is not None:
            raise self.unexpected(trailing)
        return Query(entity.text, count, conditions, order, start, max_results)

    def parse_projection(self) -> bool:
        token = self.next()
        if token.text == "*":
            return False
        if token.kind == "word" and token.text.lower() == "count":
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            return True
        raise self.unexpected(token)

    def parse_where(self) -> tuple[Condition, ...]:
        if not self.at_word("where"):
            return ()
        self.next()
        conditions = [self.parse_condition()]
        while self.at_word("and"):
            self.next()
            conditions.append(self.parse_condition())
        return tuple(conditions)

    def parse_condition(self) -> Condition:
        prop = self.next()
        if prop.kind != "word":
            raise self.unexpected(prop)
        operator = self.next()
        if operator.kind == "op" and operator.text != "!=":
            return Condition(prop.text, operator.text, (self.parse_value(),))
        if operator.kind == "word" and operator.text.lower() == "like":
            pattern = self.next()
            if pattern.kind != "string":
                raise self.unexpected(pattern)
            return Condition(prop.text, "like", (pattern.value,))
        if operator.kind == "word" and operator.text.lower() == "in":
            return Condition(prop.text, "in", self.parse_list())
        raise self.unexpected(operator)

    def parse_list(self) -> tuple[Value, ...]:
        self.expect_punct("(")
        values = [self.parse_value()]
        while (token := self.next()).text == ",":
            values.append(self.parse_value())
        if token.text != ")":
            raise self.unexpected(token)
        return tuple(values)

    def parse_value(self) -> Value:
        token = self.next()
        if token.kind in ("string", "number"):
            return token.value
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        raise self.unexpected(token)

    def parse_order(self) -> tuple[tuple[str, bool], ...]:
        if self.at_word("orderby"):
            self.next()
        elif self.at_word("order"):
            self.next()
            self.expect_word("by")
        else:
            return ()
        keys = [self.parse_order_key()]
        while (token := self.peek()) is not None and token.text == ",":
            self.next()
            keys.append(self.parse_order_key())
        return tuple(keys)

    def parse_order_key(self) -> tuple[str, bool]:
        prop = self.next()
        if prop.kind != "word":
            raise self.unexpected(prop)
        descending = False
        if self.at_word("asc", "desc"):
            descending = self.next().text.lower() == "desc"
        return prop.text, descending

    def parse_paging(self) -> tuple[int, int | None]:
        start, max_results = 1, None
        while self.at_word("startposition", "maxresults"):
            keyword = self.next().text.lower()
            token = self.next()
            if token.kind != "number" or not isinstance(token.value, Decimal) or token.value != token.value.to_integral():
                raise self.unexpected(token)
            if keyword == "startposition":
                start = int(token.value)
            else:
                max_results = int(token.value)
        return start, max_results


def parse_query(text: str) -> Query:
    if not text.strip():
        raise parse_error('Encountered "<EOF>" at line 1, column 1.')
    return _Parser(tokenize(text)).parse()


def _canonical(name: str, choices: tuple[str, ...] | list[str]) -> str | None:
    return next((choice for choice in choices if choice.lower() == name.lower()), None)


def _lookup_all(row: dict[str, Any], prop: str) -> list[Any]:
    """Every value ``prop`` reaches in ``row``: a dotted path fans out over lists (``AttachableRef`` is a list of
    links, so ``AttachableRef.EntityRef.value`` has one value per link); a reference object stands for its value."""
    values: list[Any] = [row]
    for part in prop.split("."):
        reached: list[Any] = []
        for value in values:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and (key := _canonical(part, list(item))) is not None:
                    reached.append(item[key])
        values = reached
    found: list[Any] = []
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            found.append(item["value"] if isinstance(item, dict) and "value" in item else item)
    return found


def _lookup(row: dict[str, Any], prop: str) -> Any:
    found = _lookup_all(row, prop)
    return found[0] if found else None


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _compare(actual: Any, op: str, literal: Value, numeric: bool) -> bool:
    if actual is None:
        return False
    if isinstance(actual, bool):
        wanted = literal if isinstance(literal, bool) else str(literal).lower() == "true"
        return op == "=" and actual == wanted
    left: Any
    right: Any
    if numeric or isinstance(actual, (int, float, Decimal)):
        left, right = _as_number(actual), _as_number(literal)
        if left is None or right is None:
            return False
    else:
        left, right = str(actual).casefold(), str(literal).casefold()
    if op == "=":
        return bool(left == right)
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


def _like(actual: Any, pattern: str) -> bool:
    if actual is None:
        return False
    regex = ".*".join(re.escape(part) for part in pattern.casefold().split("%"))
    return re.fullmatch(regex, str(actual).casefold(), flags=re.DOTALL) is not None


def _matches(row: dict[str, Any], condition: Condition) -> bool:
    return any(_matches_value(actual, condition) for actual in _lookup_all(row, condition.prop))


def _matches_value(actual: Any, condition: Condition) -> bool:
    numeric = condition.prop.lower() == "id"
    if condition.op == "like":
        return _like(actual, str(condition.values[0]))
    if condition.op == "in":
        return any(_compare(actual, "=", value, numeric) for value in condition.values)
    return _compare(actual, condition.op, condition.values[0], numeric)


def _sort_key(row: dict[str, Any], prop: str) -> tuple[int, Any]:
    value = _lookup(row, prop)
    if value is None:
        return (2, "")
    if prop.lower() == "id" or isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = _as_number(value)
        if number is not None:
            return (0, number)
    return (1, str(value).casefold())


def _key_for(prop: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda row: _sort_key(row, prop)


def _resolve(query: Query) -> tuple[str, Query]:
    entity = _canonical(query.entity, list(ENTITY_PROPERTIES))
    if entity is None:
        raise parse_error(f"Invalid entity: {query.entity}")
    properties = ENTITY_PROPERTIES[entity]
    conditions = []
    for condition in query.conditions:
        prop = _canonical(condition.prop, properties)
        if prop is None:
            raise validation_error(f"Property {condition.prop} not found for Entity {entity}")
        if prop == "Id" and condition.op not in ("=", "in"):
            raise parse_error(f"Operator {condition.op} is not supported for property Id")
        conditions.append(Condition(prop, condition.op, condition.values))
    order = []
    for prop_name, descending in query.order:
        prop = _canonical(prop_name, properties)
        if prop is None:
            raise validation_error(f"Property {prop_name} not found for Entity {entity}")
        order.append((prop, descending))
    return entity, Query(entity, query.count, tuple(conditions), tuple(order), query.start, query.max_results)


def _page_limits(query: Query, over_cap: Literal["error", "clamp"]) -> tuple[int, int]:
    if query.start < 1:
        raise parse_error(f"STARTPOSITION must be 1 or more, was {query.start}")
    limit = DEFAULT_MAX_RESULTS if query.max_results is None else query.max_results
    if limit < 1:
        raise parse_error(f"MAXRESULTS must be 1 or more, was {limit}")
    if limit > MAX_RESULTS_CAP:
        if over_cap == "error":
            raise validation_error(f"MAXRESULTS must not exceed {MAX_RESULTS_CAP}, was {limit}")
        limit = MAX_RESULTS_CAP
    return query.start, limit


def run_query(
    text: str, rows_for: Callable[[str], list[dict[str, Any]]], *, over_cap: Literal["error", "clamp"] = "error"
) -> dict[str, Any]:
    """Evaluate ``text`` over the rendered rows ``rows_for(entity)``; returns the ``QueryResponse`` object."""
    entity, query = _resolve(parse_query(text))
    start, limit = _page_limits(query, over_cap)
    rows = rows_for(entity)
    if entity in NAME_LIST_ENTITIES and not any(c.prop == "Active" for c in query.conditions):
        rows = [row for row in rows if row.get("Active", True)]
    rows = [row for row in rows if all(_matches(row, c) for c in query.conditions)]
    if query.count:
        return {"totalCount": len(rows)}
    rows.sort(key=_key_for("Id"))
    for prop, descending in reversed(query.order):
        rows.sort(key=_key_for(prop), reverse=descending)
    page = rows[start - 1 : start - 1 + limit]
    if not page:
        return {}
    return {entity: page, "startPosition": start, "maxResults": len(page)}
