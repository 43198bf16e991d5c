"""Glob patterns with gitignore semantics, compiled once per pattern list.

Used for ``include`` / ``exclude`` in settings and for ``.syncignore`` files. Patterns
are relative to the source root (or to the ``.syncignore``'s folder).

A `Patterns` answers exactly as pathspec's ``GitIgnoreSpec`` of the same lines does
(``check_file(path).include``, ``match_file``), and pathspec still turns each pattern
into its regular expression. What differs is the cost: ``GitIgnoreSpec`` tries its
patterns one by one, in Python, for every path. Here all of them are one regular
expression with an alternative per pattern, the last pattern first, so one call finds
the last pattern that matches. pathspec's rule then decides: a pattern that matched the
path itself decides; one that matched only a folder above it (``docs/`` for
``docs/a.md``) decides unless an earlier pattern matched the path itself, which takes
one more call, on the patterns before it.

A walk asks by file name instead, once it is in a folder: `Patterns.in_folder` works out
once what holds for every file of the folder (`FolderPatterns`), so that the usual
``include`` (``**/*.md``, ``**/*.html``, ...) costs one ``str.endswith`` a file.
`Patterns.may_match_under` and `Patterns.covers_all_under` say whether a folder can hold
a path the patterns match, and whether they match every path in it, so that a walk
skips a folder no ``include`` pattern reaches or every path of which is excluded.

``tests/test_patterns.py`` holds every one of these answers, and the listing made of
them, to pathspec's: over generated patterns, paths and trees, and over the two real
documentation trees of the shared corpus.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from pathspec import GitIgnoreSpec
from pathspec.util import NORMALIZE_PATH_SEPS

# The group pathspec names the "/" after a folder a pattern matched (GitIgnoreSpec's
# "directory marker"); a match without it matched the path itself.
_FOLDER_MARK = "ps_d"
_FOLDER_GROUP = f"(?P<{_FOLDER_MARK}>"
# Characters that make a pattern segment more than its literal text.
_GLOB = re.compile(r"[*?\[\\]")


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used, in one line, or ``None`` when it is fine."""
    body = pattern.removeprefix("!")
    if not body.strip():
        return f"pattern {pattern!r} is empty; remove it"
    if body.startswith("/"):
        return (
            f"pattern {pattern!r} is absolute; patterns are relative to the source "
            f"folder, write {body.lstrip('/')!r}"
        )
    segments = body.split("/")
    if ".." in segments:
        return f"pattern {pattern!r} has a '..' segment; patterns cannot leave the source folder"
    if segments[0] == ".":
        return f"pattern {pattern!r} starts with './', which never matches; write {body[2:]!r}"
    if body.startswith("#"):
        return f"pattern {pattern!r} is a comment in gitignore syntax; write '\\#' for a '#'"
    try:
        GitIgnoreSpec.from_lines([pattern])
    except (ValueError, re.error) as error:
        return f"pattern {pattern!r} is not a valid gitignore pattern ({error})"
    return None


def checked_patterns(field: str, patterns: tuple[str, ...]) -> tuple[str, ...]:
    """``patterns`` for the setting ``field`` (include / exclude), or ``ValueError`` naming
    every bad one; an empty ``include`` would sync nothing and is an error too."""
    if field == "include" and not patterns:
        raise ValueError("include is empty, so nothing would be synced; list a pattern")
    problems = [problem for pattern in patterns if (problem := pattern_problem(pattern))]
    if problems:
        raise ValueError(f"{field} " + "; ".join(problems))
    return patterns


@dataclass(frozen=True, slots=True)
class _Rule:
    """One pattern that can match: pathspec's regex for it, and what a match means."""

    regex: re.Pattern[str]
    include: bool  # False for a `!pattern`
    # The literal folder path every match starts with ("docs/guide" for
    # "docs/guide/**/*.md"); "" when the pattern may match at any depth.
    anchor: str
    # What a path must end with for the pattern to match the path itself ("" when no
    # literal text is known); None when what it does never depends on the file name,
    # only on the folder ("build/", "docs/**", "**").
    tail: str | None
    # For a pattern of one segment G matched at any depth ("*.md", "build", "docs/"
    # without a wildcard that can cross a "/"), G alone: it matches the path itself
    # when G matches the whole file name, and a folder above it when G matches a whole
    # segment of the path before the name. None for any other pattern.
    segment: _Segment | None


@dataclass(frozen=True, slots=True)
class _Segment:
    """One glob segment as pathspec translated it, for matching a whole name."""

    regex: re.Pattern[str]
    literal: str | None  # the segment has no wildcard: the name itself
    suffix: str | None  # the segment is "*" and literal text: what the name ends with
    folder_only: bool  # "build/": never the path itself

    def matches(self, name: str) -> bool:
        if self.literal is not None:
            return name == self.literal
        if self.suffix is not None:
            return name.endswith(self.suffix)
        return self.regex.fullmatch(name) is not None


class Patterns:
    """gitignore patterns, compiled once: ``GitIgnoreSpec``'s answers, faster.

    Immutable after construction (the regexes and folder plans it builds on demand are
    cached), so one may be shared by threads.
    """

    def __init__(self, lines: Iterable[str]) -> None:
        spec = GitIgnoreSpec.from_lines(list(lines))
        self._count = len(spec)
        self._rules = tuple(
            _rule(pattern.regex, pattern.include, str(pattern.pattern))
            for pattern in spec.patterns
            if pattern.include is not None and pattern.regex is not None
        )
        # The finder over the rules before index n, by n (built when first needed).
        self._finders: dict[int, _Finder | None] = {}
        # For `in_folder`: the rules, the last first, and a plan by how they stand.
        self._backwards = self._rules[::-1]
        self._plans: dict[tuple[int, ...], _Plan] = {}
        # When every rule is one segment matched at any depth (the default include,
        # "*.md", "build/"), a folder none of whose parts such a segment matches has one
        # plan: each rule matching nothing above.
        segments = [rule.segment for rule in self._rules if not rule.anchor]
        self._quiet: _Plan | None = None
        self._quiet_ends = tuple(s.suffix for s in segments if s and s.suffix is not None)
        self._quiet_names = frozenset(s.literal for s in segments if s and s.literal is not None)
        self._quiet_others = tuple(
            s for s in segments if s and s.suffix is None and s.literal is None
        )
        if len(segments) == len(self._rules) and None not in segments:
            self._quiet = _Plan.of(self._backwards, (_NO_MATCH,) * len(self._rules))

    def __len__(self) -> int:
        """How many patterns were given (comments and blank ones too), as ``GitIgnoreSpec``."""
        return self._count

    @cached_property
    def negates(self) -> bool:
        """True when a ``!pattern`` may take back what another pattern matched."""
        return any(not rule.include for rule in self._rules)

    def match_file(self, path: str) -> bool:
        """Whether the patterns match ``path`` (``GitIgnoreSpec.match_file``)."""
        return bool(self.check(path))

    def check(self, path: str) -> bool | None:
        """True or False by the deciding pattern, None when none matches
        (``GitIgnoreSpec.check_file(path).include``)."""
        path = _normalise(path)
        found = self._last_match(path, len(self._rules))
        if found is None:
            return None
        index, matched_folder = found
        decided = self._rules[index].include
        while matched_folder:
            # pathspec scans from the last pattern: the first that matched the path itself
            # decides; if none did, the last that matched a folder above it does.
            found = self._last_match(path, index)
            if found is None:
                return decided
            index, matched_folder = found
        return self._rules[index].include

    def in_folder(self, folder: str) -> FolderPatterns:
        """The same answers for the files directly in ``folder`` (a relative folder path
        without a trailing slash, '' for the root), asked by file name."""
        base = folder + "/" if folder else ""
        if "\n" in folder:
            return FolderPatterns(self, base, None)
        parts = folder.split("/") if folder else ()
        if self._quiet is not None and not any(map(self._matched_by_a_segment, parts)):
            return FolderPatterns(self, base, self._quiet)
        standings = tuple(_standing(rule, parts, base) for rule in self._backwards)
        plan = self._plans.get(standings)
        if plan is None:
            plan = _Plan.of(self._backwards, standings)
            if len(self._plans) < _PLANS_KEPT:
                self._plans[standings] = plan
        return FolderPatterns(self, base, plan)

    def _matched_by_a_segment(self, part: str) -> bool:
        return (
            part.endswith(self._quiet_ends)
            or part in self._quiet_names
            or any(segment.matches(part) for segment in self._quiet_others)
        )

    def may_match_under(self, folder: str) -> bool:
        """False only when no path below ``folder`` (a relative folder path, without a
        trailing slash) can be matched by a pattern that is not a ``!pattern``."""
        return any(rule.include and _reaches(rule.anchor, folder) for rule in self._rules)

    def covers_all_under(self, folder: str) -> bool:
        """True only when every path below ``folder`` is matched (``check`` is True),
        whatever its name: no ``!pattern`` can reach below the folder, and a pattern
        matches ``folder + "/"`` without needing the path to end there (then it matches
        every longer path too)."""
        if any(not rule.include and _reaches(rule.anchor, folder) for rule in self._rules):
            return False
        for rule in self._rules:
            match = rule.regex.search(folder + "/") if rule.include else None
            # "$" is how a pathspec regex ends a match at the end of a path; one that did
            # not use it holds for every path that starts the same way.
            if match is not None and (
                match.groupdict().get(_FOLDER_MARK) is not None or "$" not in rule.regex.pattern
            ):
                return True
        return False

    def _last_match(self, path: str, before: int) -> tuple[int, bool] | None:
        """The last rule before index ``before`` whose regex matches ``path`` (searched,
        as pathspec does), and whether it matched a folder above ``path`` rather than
        ``path`` itself; None when none matches."""
        finder = self._finder(before)
        if finder is None:
            for index in range(before - 1, -1, -1):
                match = self._rules[index].regex.search(path)
                if match is not None:
                    return index, match.groupdict().get(_FOLDER_MARK) is not None
            return None
        found = finder.regex.match(path)
        if found is None:
            return None
        index, mark = finder.owners[found.lastindex or 0]
        return index, mark is not None and found.group(mark) is not None

    def _finder(self, before: int) -> _Finder | None:
        if before not in self._finders:
            self._finders[before] = _Finder.join(self._rules[:before])
        return self._finders[before]


@dataclass(frozen=True, slots=True)
class _Finder:
    """One regex over some rules, the last rule first, each in a group of its own.

    Matched from position 0 it picks the last rule whose own regex, searched, matches;
    ``owners`` maps that group's number (the match's ``lastindex``) to the rule's index
    and to the number of the group holding its folder mark (None if it has none). The
    mark group is pathspec's, unnamed (alternatives may not share a name).
    """

    regex: re.Pattern[str]
    owners: dict[int, tuple[int, int | None]]

    @classmethod
    def join(cls, rules: Sequence[_Rule]) -> _Finder | None:
        """The finder for ``rules``; None if one of them cannot be rewritten safely, and
        each is then tried alone."""
        alternatives: list[str] = []
        owners: dict[int, tuple[int, int | None]] = {}
        group = 1
        for index in range(len(rules) - 1, -1, -1):
            regex = rules[index].regex
            marked = _FOLDER_MARK in regex.groupindex
            text = regex.pattern
            # The text is edited only where it holds exactly the group the regex reports.
            if text.count(_FOLDER_GROUP) != int(marked) or regex.groups != int(marked):
                return None
            text = text.replace(_FOLDER_GROUP, "(")
            # pathspec anchors every pattern with "^" but the catch-alls ("*", "**",
            # "*/"), which may match anywhere: from position 0 that is a lazy skip first.
            if not text.startswith("^"):
                text = f"(?s:.*?){text}"
            alternatives.append(f"({text})")
            owners[group] = (index, group + 1 if marked else None)
            group += 2 if marked else 1
        if not alternatives:
            return None
        return cls(re.compile("|".join(alternatives)), owners)


# What one pattern does with one path: no match, a match of a folder above the path
# (priority 1 in pathspec), a match of the path itself (priority 2).
_NO_MATCH, _ABOVE, _ITSELF = 0, 1, 2
# How a rule stands in one folder: one of those three for every file whose name it
# does not match (every file, for a rule that does not look at the name); searched on
# every path; or out of reach.
_SEARCHED, _OUT_OF_REACH = 3, -1
# Folder plans kept per `Patterns` (one per distinct standing of its rules: a handful).
_PLANS_KEPT = 512


class FolderPatterns:
    """`Patterns.check` for the files directly in one folder, asked by file name.

    Made for each folder a walk enters, so that what holds for the whole folder is
    worked out once: patterns anchored elsewhere (``docs/**`` in ``src``) are left out;
    a pattern's match of a folder above the files (``build/`` in ``build/x``) is found
    once, since such a match never depends on the name (pathspec's regexes end with the
    folder mark, nothing after it); when the patterns left all say the same (no ``!``
    among them, the usual ``include``), one of them matching is enough. What is left
    is decided from the name: ``*.md`` by ``name.endswith(".md")``, any other pattern
    of one segment by that segment's regex on the name, and the rest by pathspec's own
    regex on the whole path, skipped when the path lacks the literal end a match of the
    path itself needs. A name or folder with a newline in it (which pathspec's ``$`` and
    ``.`` treat specially) is checked whole, by `Patterns.check`.
    """

    __slots__ = ("_base", "_patterns", "_plan")

    def __init__(self, patterns: Patterns, base: str, plan: _Plan | None) -> None:
        self._patterns = patterns
        self._base = base  # the folder's path and "/", '' for the root
        self._plan = plan  # None: every path is checked whole

    @property
    def silent(self) -> bool:
        """True when no pattern matches a file here (`check` is None for every name)."""
        plan = self._plan
        return plan is not None and plan.decided and plan.verdict is None

    @property
    def endings(self) -> tuple[str, ...] | None:
        """When `check` is True exactly for the names that end with one of these (("",)
        when it is True for every name, () when for none), these; else None. For names
        without a newline (pathspec's "$" also matches before a last one)."""
        plan = self._plan
        if plan is None:
            return None
        if plan.decided:
            return ("",) if plan.verdict else ()
        if plan.verdict is not True or plan.names or plan.tests:
            return None
        return plan.suffixes

    def check(self, name: str) -> bool | None:
        """``Patterns.check`` of the folder's path joined with ``name``."""
        plan = self._plan
        if plan is None or "\n" in name:
            return self._patterns.check(self._base + name)
        if plan.decided:
            return plan.verdict
        if plan.verdict is not None:
            if name.endswith(plan.suffixes) or name in plan.names:
                return plan.verdict
            for rule, standing in plan.tests:
                if _kind_here(rule, standing, self._base, name):
                    return plan.verdict
            return None
        found: bool | None = None
        for rule, standing in plan.tests:
            kind = _kind_here(rule, standing, self._base, name)
            if kind == _ITSELF:
                return rule.include
            if kind == _ABOVE and found is None:
                found = rule.include
        return found


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to answer for the files of every folder where the rules stand the same."""

    # True when `verdict` is the answer for every name.
    decided: bool
    # The answer when every rule in reach says the same (True for an include, False for
    # an exclude made only of "!patterns"); None when they differ.
    verdict: bool | None
    # Not decided, with a verdict: a name gets it when it ends with one of `suffixes`,
    # is one of `names`, or a rule of `tests` matches it. Without a verdict, `tests`
    # holds every rule in reach, the last first. Each rule with its standing.
    suffixes: tuple[str, ...]
    names: frozenset[str]
    tests: tuple[tuple[_Rule, int], ...]

    @classmethod
    def of(cls, rules: Sequence[_Rule], standings: Sequence[int]) -> _Plan:
        """The plan for ``rules`` (the last first) standing as ``standings`` say."""
        tests = tuple(
            (rule, standing)
            for rule, standing in zip(rules, standings, strict=True)
            if standing != _OUT_OF_REACH
        )
        verdicts = {rule.include for rule, _ in tests}
        verdict = verdicts.pop() if len(verdicts) == 1 else None
        if not tests or (verdict is not None and (_ABOVE in standings or _ITSELF in standings)):
            return cls(True, verdict, (), frozenset(), ())
        if verdict is None:
            return cls(False, None, (), frozenset(), tests)
        # Every rule left matches nothing above here: only a name can match.
        suffixes, names, left = [], set(), []
        for rule, standing in tests:
            segment = rule.segment
            if segment is not None and segment.folder_only:
                continue
            if segment is not None and segment.suffix is not None:
                suffixes.append(segment.suffix)
            elif segment is not None and segment.literal is not None:
                names.add(segment.literal)
            elif segment is not None or standing == _SEARCHED or rule.tail is not None:
                left.append((rule, standing))
        return cls(False, verdict, tuple(suffixes), frozenset(names), tuple(left))


def _standing(rule: _Rule, parts: Sequence[str], base: str) -> int:
    """How ``rule`` stands in the folder ``base`` (its path and "/", '' for the root),
    split into ``parts``."""
    if not _in_reach(rule.anchor, base):
        return _OUT_OF_REACH
    segment = rule.segment
    if segment is not None:
        return _ABOVE if any(segment.matches(part) for part in parts) else _NO_MATCH
    if rule.tail == "":
        return _SEARCHED
    # What the rule does with a name that does not end as a match of the path itself
    # must is what it does with every such name: a match above or none. With no tail
    # it is what it does with every name.
    probe = base + ("\x01" if (rule.tail or "").endswith("\x00") else "\x00")
    kind = _kind(rule.regex, probe)
    return _SEARCHED if kind == _ITSELF and rule.tail is not None else kind


def _kind_here(rule: _Rule, standing: int, base: str, name: str) -> int:
    """What ``rule``, standing so in the folder ``base``, does with the file ``name``."""
    segment = rule.segment
    if segment is not None:
        if not segment.folder_only and segment.matches(name):
            return _ITSELF
        return standing
    if standing != _SEARCHED:
        tail = rule.tail
        if tail is None or not name.endswith(tail):
            return standing
    return _kind(rule.regex, base + name)


def _in_reach(anchor: str, base: str) -> bool:
    """Whether a rule anchored at ``anchor`` can match a path ``base + name``: the folder
    is at or below the anchor, or the anchor is a file name in it."""
    if not anchor or base.startswith(anchor + "/"):
        return True
    return anchor.startswith(base) and "/" not in anchor[len(base) :]


def _kind(regex: re.Pattern[str], path: str) -> int:
    """What pathspec's ``regex`` does with ``path``: it searches, and a match with the
    folder mark is a match of a folder above the path."""
    match = regex.search(path)
    if match is None:
        return _NO_MATCH
    return _ABOVE if match.groupdict().get(_FOLDER_MARK) is not None else _ITSELF


# How pathspec ends a pattern's regex: a match of the path itself or of a folder above
# it; or, for a pattern ending with "/", of a folder only. And how it begins one that
# matches at any depth.
_END_EITHER = f"(?:{_FOLDER_GROUP}/)|$)"
_END_FOLDER = f"{_FOLDER_GROUP}/)"
_ANY_DEPTH = "^(?:.+/)?"
# pathspec's regexes for "*" and "?" in a segment; what re.escape puts a backslash
# before (a backslash and one of these is that character); what else is not literal.
_STAR, _ONE = "[^/]*", "[^/]"
_ESCAPED = frozenset("()[]{}?*+-|^$\\.&~# \t\n\r\v\f")
_NOT_LITERAL = frozenset(".^$*+?{}[]\\|()/")


def _rule(regex: re.Pattern[str], include: bool, pattern: str) -> _Rule:
    return _Rule(regex, include, _anchor(pattern), _tail(pattern, regex.pattern), _segment(regex))


def _segment(regex: re.Pattern[str]) -> _Segment | None:
    """The one segment of a pattern pathspec matches at any depth ("^(?:.+/)?" then the
    segment's regex then the end), when that regex holds only literal characters and
    "*" and "?" wildcards (which never match a "/"); None otherwise."""
    text = regex.pattern
    if not text.startswith(_ANY_DEPTH):
        return None
    body = text[len(_ANY_DEPTH) :]
    if body.endswith(_END_EITHER):
        body, folder_only = body[: -len(_END_EITHER)], False
    elif body.endswith(_END_FOLDER):
        body, folder_only = body[: -len(_END_FOLDER)], True
    else:
        return None
    tokens = _glob_tokens(body)
    if not tokens:
        return None
    literal = "".join(tokens) if all(len(token) == 1 for token in tokens) else None
    rest = tokens[1:]
    suffix = (
        "".join(rest)
        if tokens[0] == _STAR and rest and all(len(token) == 1 for token in rest)
        else None
    )
    return _Segment(re.compile(body), literal, suffix, folder_only)


def _glob_tokens(body: str) -> list[str] | None:
    """pathspec's regex for one glob segment in pieces: `_STAR`, `_ONE`, or one literal
    character; None when it holds anything else (a bracket expression)."""
    tokens: list[str] = []
    index = 0
    while index < len(body):
        if body.startswith(_STAR, index):
            tokens.append(_STAR)
            index += len(_STAR)
        elif body.startswith(_ONE, index):
            tokens.append(_ONE)
            index += len(_ONE)
        elif body[index] == "\\" and index + 1 < len(body) and body[index + 1] in _ESCAPED:
            tokens.append(body[index + 1])
            index += 2
        elif body[index] in _NOT_LITERAL:
            return None
        else:
            tokens.append(body[index])
            index += 1
    return tokens


def _tail(pattern: str, regex: str) -> str | None:
    """The literal text a path must end with for ``regex`` (pathspec's, for ``pattern``)
    to match the path itself: the last segment's characters after its last wildcard or
    bracket expression, escapes undone; '' when unknown. None when every match ends
    with a "/" (a pattern ending with "/" or "/**"), which in "folder/name" is in the
    folder, or is pathspec's "." for "**" (any name, none having a newline here)."""
    if regex.endswith("/") or regex.endswith(_END_FOLDER) or regex == ".":
        return None
    if not regex.endswith(_END_EITHER):
        return ""
    text = pattern if pattern.endswith("\\ ") else pattern.rstrip()
    last = text.removeprefix("!").rsplit("/", 1)[-1]
    tail = ""
    index = 0
    while index < len(last):
        char = last[index]
        index += 1
        if char == "\\" and index < len(last):
            tail += last[index]
            index += 1
        elif char in "*?[":
            # pathspec's bracket expression ends at a "]" that is not its first character
            # (after a "!" or "^"); none, and the pattern was discarded before here.
            tail = ""
            if char == "[":
                end = index + (index < len(last) and last[index] in "!^")
                end += end < len(last) and last[end] == "]"
                end = last.find("]", end)
                if end < 0:
                    return ""
                index = end + 1
        else:
            tail += char
    # Held to the regex itself: it must end with these characters, escaped.
    return tail if regex[: -len(_END_EITHER)].endswith(re.escape(tail)) else ""


def _anchor(pattern: str) -> str:
    """The literal folder path every path ``pattern`` matches starts with: its leading
    segments without wildcards, when the pattern is anchored to its root ('' if not).

    pathspec's rules, read conservatively: a pattern with no '/' but a trailing one
    matches at any depth; a leading '/' is dropped; trailing spaces are not part of it.
    """
    text = pattern if pattern.endswith("\\ ") else pattern.rstrip()
    segments = text.removeprefix("!").split("/")
    if segments[0] == "":
        segments = segments[1:]
    elif len(segments) == 1 or (len(segments) == 2 and segments[1] == ""):
        return ""
    literal: list[str] = []
    for segment in segments:
        if not segment or _GLOB.search(segment):
            break
        literal.append(segment)
    return "/".join(literal)


def _reaches(anchor: str, folder: str) -> bool:
    """Whether a path below ``folder`` can start with the folder path ``anchor``."""
    return (
        not anchor
        or anchor == folder
        or anchor.startswith(folder + "/")
        or folder.startswith(anchor + "/")
    )


def _normalise(path: str) -> str:
    """``pathspec.util.normalize_file`` for a string path."""
    for separator in NORMALIZE_PATH_SEPS:
        path = path.replace(separator, "/")
    if path.startswith("/"):
        return path[1:]
    if path.startswith("./"):
        return path[2:]
    return path


def compile_patterns(patterns: Iterable[str]) -> Patterns:
    """A matcher for patterns already checked by ``pattern_problem``."""
    return Patterns(patterns)


def read_ignore_file(text: str) -> Patterns:
    """A ``.syncignore``'s patterns; ``ValueError`` naming the line of a bad pattern."""
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            GitIgnoreSpec.from_lines([line])
        except (ValueError, re.error) as error:
            raise ValueError(f"line {number}: {line!r} is not a valid pattern ({error})") from None
    return Patterns(lines)
