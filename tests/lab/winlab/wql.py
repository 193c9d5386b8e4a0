# -*- coding: utf-8 -*-
# Copyright: Contributors to the mailops.port25 project
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The WQL subset the lab understands: a tokenizer, a recursive-descent parser and an evaluator.

SELECT * | prop[, prop...] FROM class [WHERE expr]; expr: comparisons (= <> != < > <= >=), LIKE (% _ [set]),
IS [NOT] NULL, AND, OR, NOT, parentheses; literals: quoted strings with backslash escapes, numbers, TRUE/FALSE.
Names and string comparisons are case-insensitive, as in WMI. Every problem raises WQLError (never anything else),
which the dispatcher turns into the CannotProcessFilter fault.
"""
from __future__ import annotations

import datetime
import re

# Deep nesting is legal WQL but nobody writes 200 levels; refusing it keeps hostile input from exhausting the stack.
MAX_DEPTH = 200

KEYWORDS = {'SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'LIKE', 'IS', 'NULL', 'TRUE', 'FALSE'}
_BINARY = ('OR', 'AND')          # the binary operators, loosest first
_TOKEN = re.compile(r'''
    (?P<ws>\s+)
  | (?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><>|!=|<=|>=|=|<|>)
  | (?P<punct>[(),*])
''', re.VERBOSE)
_DMTF = re.compile(r'^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})([-+])(\d{3})$')


class WQLError(Exception):
    """The query is not valid WQL (or not valid for the class)."""


class Token:
    __slots__ = ('kind', 'value', 'pos')

    def __init__(self, kind, value, pos):
        self.kind = kind      # 'name', 'kw', 'str', 'num', 'op', 'punct', 'end'
        self.value = value
        self.pos = pos

    def __repr__(self):
        return 'Token(%s, %r)' % (self.kind, self.value)


def _read_string(text, pos):
    quote = text[pos]
    out = []
    i = pos + 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '\\':
            if i + 1 >= n:
                break
            nxt = text[i + 1]
            if nxt not in ('\\', "'", '"'):
                raise WQLError('invalid escape sequence \\%s at position %d' % (nxt, i))
            out.append(nxt)
            i += 2
            continue
        if ch == quote:
            return ''.join(out), i + 1
        out.append(ch)
        i += 1
    raise WQLError('unterminated string starting at position %d' % pos)


def tokenize(text):
    """Split a WQL query into tokens; raises WQLError on any character WQL does not allow."""
    tokens = []
    pos = 0
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch in ('"', "'"):
            value, pos2 = _read_string(text, pos)
            tokens.append(Token('str', value, pos))
            pos = pos2
            continue
        match = _TOKEN.match(text, pos)
        if not match:
            raise WQLError('unexpected character %r at position %d' % (ch, pos))
        kind = match.lastgroup
        value = match.group(kind)
        if kind == 'name':
            upper = value.upper()
            if upper in KEYWORDS:
                tokens.append(Token('kw', upper, pos))
            else:
                tokens.append(Token('name', value, pos))
        elif kind == 'num':
            # '-5' right after a name or literal is a subtraction attempt, which WQL does not have
            if value[0] in '+-' and tokens and tokens[-1].kind in ('name', 'str', 'num'):
                raise WQLError('unexpected %r at position %d' % (value[0], pos))
            try:
                number = float(value) if any(c in value for c in '.eE') else int(value)
            except ValueError:      # more digits than int() converts (sys.get_int_max_str_digits)
                raise WQLError('the number at position %d is too long' % pos) from None
            tokens.append(Token('num', number, pos))
        elif kind != 'ws':
            tokens.append(Token(kind, value, pos))
        pos = match.end()
    tokens.append(Token('end', None, n))
    return tokens


class Query:
    """A parsed query: properties (None for *), the class name and the WHERE tree (None when absent)."""

    def __init__(self, properties, class_name, where):
        self.properties = properties
        self.class_name = class_name
        self.where = where

    def referenced(self):
        """Every property name the WHERE clause uses."""
        names = []
        stack = [self.where] if self.where is not None else []
        while stack:
            node = stack.pop()
            if node[0] in ('and', 'or'):
                stack.extend(node[1])
            elif node[0] == 'not':
                stack.append(node[1])
            else:
                names.append(node[1])
        return names


class _Parser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self):
        return self.tokens[self.i]

    def take(self):
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect_kw(self, word):
        tok = self.take()
        if tok.kind != 'kw' or tok.value != word:
            raise WQLError('expected %s at position %d' % (word, tok.pos))

    def is_kw(self, word):
        tok = self.peek()
        return tok.kind == 'kw' and tok.value == word

    def parse(self):
        self.expect_kw('SELECT')
        props = self.parse_select_list()
        self.expect_kw('FROM')
        cls = self.take()
        if cls.kind != 'name':
            raise WQLError('expected a class name at position %d' % cls.pos)
        where = None
        if self.is_kw('WHERE'):
            self.take()
            where = self.parse_binary(0)
        tok = self.peek()
        if tok.kind != 'end':
            raise WQLError('unexpected %r at position %d' % (tok.value, tok.pos))
        return Query(props, cls.value, where)

    def parse_select_list(self):
        tok = self.peek()
        if tok.kind == 'punct' and tok.value == '*':
            self.take()
            return None
        props = []
        while True:
            tok = self.take()
            if tok.kind != 'name':
                raise WQLError('expected a property name at position %d' % tok.pos)
            props.append(tok.value)
            if self.peek().kind == 'punct' and self.peek().value == ',':
                self.take()
                continue
            return props

    def parse_binary(self, depth, level=0):
        """A run of terms joined by the operator of this level; _BINARY lists them loosest first (AND binds
        tighter than OR), and past the last level a term is a NOT, a parenthesis or a predicate."""
        if level == len(_BINARY):
            return self.parse_not(depth)
        word = _BINARY[level]
        terms = [self.parse_binary(depth, level + 1)]
        while self.is_kw(word):
            self.take()
            terms.append(self.parse_binary(depth, level + 1))
        return terms[0] if len(terms) == 1 else (word.lower(), terms)

    def parse_not(self, depth):
        if depth > MAX_DEPTH:
            raise WQLError('the query is nested too deeply')
        if self.is_kw('NOT'):
            self.take()
            return ('not', self.parse_not(depth + 1))
        tok = self.peek()
        if tok.kind == 'punct' and tok.value == '(':
            self.take()
            node = self.parse_binary(depth + 1)
            close = self.take()
            if close.kind != 'punct' or close.value != ')':
                raise WQLError('expected ) at position %d' % close.pos)
            return node
        return self.parse_predicate()

    def parse_operand(self):
        tok = self.take()
        if tok.kind == 'name':
            return ('prop', tok.value)
        if tok.kind in ('str', 'num'):
            return ('lit', tok.value)
        if tok.kind == 'kw' and tok.value in ('TRUE', 'FALSE'):
            return ('lit', tok.value == 'TRUE')
        if tok.kind == 'kw' and tok.value == 'NULL':
            return ('lit', None)
        raise WQLError('expected a property or a constant at position %d' % tok.pos)

    def parse_predicate(self):
        left = self.parse_operand()
        tok = self.peek()
        if tok.kind == 'kw' and tok.value == 'IS':
            self.take()
            negate = False
            if self.is_kw('NOT'):
                self.take()
                negate = True
            self.expect_kw('NULL')
            if left[0] != 'prop':
                raise WQLError('IS NULL needs a property at position %d' % tok.pos)
            return ('isnull', left[1], negate)
        negate_like = False
        if tok.kind == 'kw' and tok.value == 'NOT':
            self.take()
            negate_like = True
            if not self.is_kw('LIKE'):
                raise WQLError('expected LIKE after NOT at position %d' % self.peek().pos)
            tok = self.peek()
        if tok.kind == 'kw' and tok.value == 'LIKE':
            self.take()
            right = self.parse_operand()
            if left[0] != 'prop' or right[0] != 'lit' or not isinstance(right[1], str):
                raise WQLError('LIKE needs a property and a string pattern at position %d' % tok.pos)
            return ('like', left[1], _like_pattern(right[1]), negate_like)
        if tok.kind != 'op':
            raise WQLError('expected a comparison operator at position %d' % tok.pos)
        self.take()
        op = tok.value
        right = self.parse_operand()
        if left[0] == 'prop' and right[0] == 'lit':
            prop, value = left[1], right[1]
        elif left[0] == 'lit' and right[0] == 'prop':
            # constant on the left: mirror the operator so the evaluator always sees "prop op constant"
            prop, value = right[1], left[1]
            op = {'<': '>', '>': '<', '<=': '>=', '>=': '<='}.get(op, op)
        else:
            raise WQLError('a comparison needs one property and one constant at position %d' % tok.pos)
        if value is None:
            # "x = NULL" is accepted by WMI and means IS NULL
            if op not in ('=', '<>', '!='):
                raise WQLError('NULL can only be compared with = or <> at position %d' % tok.pos)
            return ('isnull', prop, op != '=')
        return ('cmp', prop, op, value)


def parse(text):
    """Parse a WQL query; raises WQLError for anything outside the supported subset."""
    if not isinstance(text, str) or not text.strip():
        raise WQLError('the query is empty')
    return _Parser(text).parse()


class _Like:
    """A compiled LIKE pattern, matched in time linear in the value.

    The pattern is cut at each % into segments of fixed width (every other element matches one character); each
    inner segment is matched at its leftmost place, which finds a match whenever one exists. A single regex with
    .* per % backtracks exponentially on a hostile pattern ('%a%a%a...%b' took 28 s on 30 characters) while
    the dispatcher holds the host lock.
    """

    __slots__ = ('segments', 'widths')

    def __init__(self, segments):
        self.widths = [len(seg) for seg in segments]
        self.segments = [re.compile(''.join(seg), re.IGNORECASE | re.DOTALL) for seg in segments]

    def match(self, text):
        segments, widths = self.segments, self.widths
        if len(segments) == 1:
            return segments[0].fullmatch(text) is not None
        end = len(text) - widths[-1]
        if widths[0] > end or segments[0].match(text) is None or segments[-1].fullmatch(text, end) is None:
            return False
        pos = widths[0]
        for segment in segments[1:-1]:
            found = segment.search(text, pos, end)
            if found is None:
                return False
            pos = found.end()
        return True


def _like_pattern(pattern):
    segments = [[]]                     # regex pieces of one character each, a new segment after every %
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == '%':
            segments.append([])
        elif ch == '_':
            segments[-1].append('.')
        elif ch == '[':
            end = pattern.find(']', i + 1)
            if end == -1:
                raise WQLError('unterminated [ in LIKE pattern')
            body = pattern[i + 1:end]
            negate = body.startswith('^')
            if negate:
                body = body[1:]
            if not body:
                raise WQLError('empty [] in LIKE pattern')
            parts = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == '-':
                    parts.append('%s-%s' % (re.escape(body[j]), re.escape(body[j + 2])))
                    j += 3
                else:
                    parts.append(re.escape(body[j]))
                    j += 1
            segments[-1].append('[%s%s]' % ('^' if negate else '', ''.join(parts)))
            i = end
        else:
            segments[-1].append(re.escape(ch))
        i += 1
    return _Like(segments)


def parse_dmtf(text):
    """'20261128120000.000000-000' -> aware datetime; raises WQLError when the literal is not DMTF."""
    match = _DMTF.match(text.strip())
    if not match:
        raise WQLError('%r is not a DMTF datetime (yyyymmddHHMMSS.mmmmmm+UUU)' % text)
    year, month, day, hour, minute, second, micro, sign, offset = match.groups()
    minutes = int(offset) * (-1 if sign == '-' else 1)
    try:
        return datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), int(micro),
                                 tzinfo=datetime.timezone(datetime.timedelta(minutes=minutes)))
    except ValueError as exc:
        raise WQLError('%r is not a valid date: %s' % (text, exc)) from None


class Schema:
    """What the evaluator needs to know about a class: property names (any case) and their CIM types."""

    def __init__(self, name, types):
        self.name = name
        self.types = dict(types)                        # canonical name -> 'string'|'boolean'|'uint32'|'datetime'...
        self.canonical = {k.lower(): k for k in self.types}

    def resolve(self, name):
        try:
            return self.canonical[name.lower()]
        except KeyError:
            raise WQLError('%r is not a property of %s' % (name, self.name)) from None


def _coerce(value, ctype):
    """Turn the query constant into the property's type (WMI converts '5' for a number property)."""
    if ctype == 'datetime':
        if not isinstance(value, str):
            raise WQLError('a datetime property must be compared with a DMTF datetime string')
        return parse_dmtf(value)
    if ctype == 'boolean':
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        if isinstance(value, str) and value.lower() in ('true', 'false'):
            return value.lower() == 'true'
        raise WQLError('%r is not a boolean' % (value,))
    if ctype.startswith(('uint', 'sint', 'real')):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return value
        try:
            return float(value) if ctype.startswith('real') else int(value, 10)
        except ValueError:
            raise WQLError('%r is not a number' % (value,)) from None
    # string properties: numbers compare as their text
    if isinstance(value, bool):
        return 'TRUE' if value else 'FALSE'
    return str(value).lower()


def conjuncts(query):
    """The terms of the WHERE clause's top-level AND (the whole clause when it is no AND; none without WHERE)."""
    where = query.where
    if where is None:
        return []
    return list(where[1]) if where[0] == 'and' else [where]


def lower_bound(query, schema, prop):
    """The latest constant of a top-level ``prop >= c`` / ``prop > c`` term, converted to the property's type;
    None when the query does not bound ``prop`` from below for every instance it can match."""
    name = schema.resolve(prop)
    bounds = [_coerce(term[3], schema.types[name]) for term in conjuncts(query)
              if term[0] == 'cmp' and term[2] in ('>=', '>') and schema.resolve(term[1]) == name]
    return max(bounds) if bounds else None


def equal_values(query, schema, prop):
    """The lower-case string constants a top-level ``prop = c`` term (or a parenthesised OR of them) allows;
    None when the query leaves ``prop`` open."""
    name = schema.resolve(prop)
    allowed = None
    for term in conjuncts(query):
        options = term[1] if term[0] == 'or' else [term]
        if all(o[0] == 'cmp' and o[2] == '=' and schema.resolve(o[1]) == name for o in options):
            values = {str(o[3]).lower() for o in options}
            allowed = values if allowed is None else allowed & values
    return allowed


def residual(query, schema, bound_prop, varying):
    """A predicate for the top-level terms other than ``bound_prop``'s lower bounds, or None when one of them uses a
    ``varying`` property: what a provider that already applied the bound must still test on instances that differ
    only in those properties (one test stands for all of them)."""
    names = {schema.resolve(name) for name in varying}
    bound = schema.resolve(bound_prop)
    rest = [term for term in conjuncts(query)
            if not (term[0] == 'cmp' and term[2] in ('>=', '>') and schema.resolve(term[1]) == bound)]
    if any(schema.resolve(name) in names for term in rest for name in Query(None, '', term).referenced()):
        return None
    parts = [_compile(term, schema) for term in rest]
    return lambda inst: all(part(inst) for part in parts)


def compile_where(query, schema):
    """Resolve property names against the schema and pre-convert constants; returns a predicate(instance)."""
    if query.where is None:
        return None
    return _compile(query.where, schema)


def _compile(node, schema):
    kind = node[0]
    if kind in ('and', 'or'):
        parts = [_compile(n, schema) for n in node[1]]
        if kind == 'and':
            return lambda inst: all(p(inst) for p in parts)
        return lambda inst: any(p(inst) for p in parts)
    if kind == 'not':
        inner = _compile(node[1], schema)
        return lambda inst: not inner(inst)
    prop = schema.resolve(node[1])
    ctype = schema.types[prop]
    if kind == 'isnull':
        negate = node[2]
        return lambda inst: (inst.get(prop) is None) != negate
    if kind == 'like':
        pattern, negate = node[2], node[3]

        def like(inst):
            value = inst.get(prop)
            if value is None:
                return False
            return pattern.match(_text(value)) != negate
        return like
    op, const = node[2], _coerce(node[3], ctype)
    return _comparison(prop, ctype, op, const)


def _text(value):
    if isinstance(value, bool):
        return 'TRUE' if value else 'FALSE'
    return str(value)


_OPS = {
    '=': lambda a, b: a == b,
    '<>': lambda a, b: a != b,
    '!=': lambda a, b: a != b,
    '<': lambda a, b: a < b,
    '>': lambda a, b: a > b,
    '<=': lambda a, b: a <= b,
    '>=': lambda a, b: a >= b,
}


def _comparison(prop, ctype, op, const):
    fn = _OPS[op]
    if ctype in ('string', 'ref'):      # a reference compares as its WMI object path
        def cmp_str(inst):
            value = inst.get(prop)
            if value is None or isinstance(value, list):
                return False
            return fn(str(value).lower(), const)
        return cmp_str
    if ctype == 'datetime':
        def cmp_dt(inst):
            value = inst.get(prop)
            return value is not None and fn(value, const)
        return cmp_dt

    def cmp_plain(inst):
        value = inst.get(prop)
        return value is not None and not isinstance(value, list) and fn(value, const)
    return cmp_plain
