"""Reading and checking scenario files (``scenarios.md``) before anything runs.

A scenario is a contract between the people who know the child's story and the platform, so a
file that cannot mean what its author intended is refused as a whole (exit status 2), with every
problem named by file, line and path. Each event is checked against the same envelope
validation as the API, at its own simulated time, so a bad payload is reported here, at its
line, rather than half-way through a replay. Rule ids are checked against the registry: ids are
contracts, and a misspelt id would otherwise make a ``no_alert`` pass for the wrong reason.

Times: ``at`` is an absolute ISO time with zone, or an offset from ``start`` (``+3d``,
``+2h``, ``+15m``, ``+3h 50m``, ``+3d 02:10``); ``end`` takes the same forms (offsets also
from ``start``) and defaults to the last event plus 7 days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reachable.core import clock
from reachable.core.errors import ValidationFailed
from reachable.intake.schemas import validate_envelope
from reachable.intake.vocabulary import EVENT_TYPES
from reachable.organisations.models import AgencyKind, TeamKind
from reachable.people.validators import normalise_nhs_number, normalise_postcode
from reachable.rules.engine import route_team_kind
from reachable.rules.registry import all_rules, get_rule

DEFAULT_RUN_ON = timedelta(days=7)
DEFAULT_INFORMATION_SHARED = "Custody record and known history shared with the MASH (replay)."
ACTIONS = ("ack",)
CLOCK_STATUSES = ("met", "breached", "open", "paused", "stopped")
IDENTIFIER_KEYS = ("nhs_number", "upn", "pnc_id", "local_child_id")

_TOP_KEYS = {"name", "source", "start", "end", "area", "people", "events", "expect"}
_AREA_KEYS = {"home_police_force", "agencies", "teams"}
_PERSON_KEYS = {"ref", "given_name", "family_name", "date_of_birth", "sex", "postcode", "notes",
                *IDENTIFIER_KEYS}
_EVENT_KEYS = {"at", "type", "source", "subject", "related", "data", "note"}
_ACK_KEYS = {"at", "type", "alert", "by", "information_shared", "outcome", "note"}
_EXPECT_KEYS = {
    "alert": {"alert", "for", "route", "within"},
    "clock": {"clock", "for", "status", "nth", "escalated"},
    "no_alert": {"no_alert", "for"},
    "person_count": {"person_count"},
}
# Values that agencies send as text even when YAML reads them as numbers.
_TEXT_KEYS = {"record", "postcode", "reference", "application_id", "episode_id", "request_id",
              "meeting_id", *IDENTIFIER_KEYS}

_DURATION = re.compile(
    r"^(?:(?P<d>\d+)\s*d)?\s*(?:(?P<hh>\d{1,2}):(?P<mm>\d{2})|(?:(?P<h>\d+)\s*h)?\s*"
    r"(?:(?P<m>\d+)\s*m)?)$"
)
_OFFSET_HELP = "use +Nd, +Nh, +Nm, combinations such as '+3h 50m', '+Nd HH:MM', or an ISO time"


@dataclass(frozen=True)
class Problem:
    line: int
    path: str
    message: str


class ScenarioInvalid(Exception):
    """The file cannot be replayed; every problem found, each with its line and path."""

    def __init__(self, file: str, problems: list[Problem]):
        self.file = file
        self.problems = sorted(problems, key=lambda p: (p.line, p.path))
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(
            f"{self.file}:{p.line}: " + (f"{p.path}: " if p.path else "") + p.message
            for p in self.problems
        )


@dataclass(frozen=True)
class AgencySpec:
    code: str
    kind: str
    police_force: str = ""


@dataclass(frozen=True)
class PersonSpec:
    ref: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    identifiers: dict[str, str]
    line: int


@dataclass(frozen=True)
class Step:
    """One entry of ``events``: an agency event (``payload``) or a practitioner action."""

    index: int
    line: int
    at: datetime
    type: str
    payload: dict[str, Any] | None = None
    rule: str = ""
    ref: str = ""
    by: str = ""
    information_shared: str = ""
    outcome: str = ""

    @property
    def is_action(self) -> bool:
        return self.payload is None


@dataclass(frozen=True)
class Expectation:
    index: int
    line: int
    kind: str  # alert | clock | no_alert | person_count
    written: dict[str, Any]  # as in the file, for the report
    rule: str = ""
    ref: str = ""
    route: str = ""
    within: timedelta | None = None
    status: str = ""
    nth: int | None = None
    escalated: bool | None = None
    count: int = 0


@dataclass(frozen=True)
class Scenario:
    file: str
    name: str
    source: str
    start: datetime
    end: datetime
    home_police_force: str | None
    agencies: dict[str, AgencySpec]
    teams: dict[str, str]  # team code -> team kind
    people: dict[str, PersonSpec]
    steps: list[Step]
    expectations: list[Expectation] = field(default_factory=list)


def parse_duration(text: str) -> timedelta | None:
    """``5m``, ``1h 30m``, ``3d``, ``3d 02:10`` (no sign) to a timedelta; None if malformed."""
    match = _DURATION.match(text.strip())
    if match is None or not any(match.group(k) for k in ("d", "hh", "h", "m")):
        return None
    days = int(match.group("d") or 0)
    if match.group("hh") is not None:
        hours, minutes = int(match.group("hh")), int(match.group("mm"))
        if hours > 23 or minutes > 59:
            return None
    else:
        hours, minutes = int(match.group("h") or 0), int(match.group("m") or 0)
    return timedelta(days=days, hours=hours, minutes=minutes)


def _aware(value: Any) -> datetime | None:
    """An ISO timestamp with a zone (YAML datetime or text), else None."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    return None


def _jsonable(value: Any, key: str = "") -> Any:
    """YAML values as an agency system would send them in JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and key in _TEXT_KEYS:
        return str(value)
    return value


class _Reader:
    """Builds plain values from the YAML node tree, remembering each path's line."""

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[str, int] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.line(path), path, message))

    def line(self, path: str) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", path)
        return self.lines.get("", 1)

    def build(self, node: Node, path: str = "") -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(self._constructor.construct_object(key_node, deep=True))
                child = f"{path}.{key}" if path else key
                if key in result:
                    self.problems.append(Problem(key_node.start_mark.line + 1, child,
                                                 f"'{key}' is given twice"))
                    continue
                self.lines[child] = key_node.start_mark.line + 1  # the key's line, not below
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, SequenceNode):
            return [self.build(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._constructor.construct_object(node, deep=True)


def load_scenario(path: str | Path) -> Scenario:
    """Parse and check one scenario file; raises ``ScenarioInvalid`` naming every problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioInvalid(file, [Problem(1, "", f"cannot read the file: {exc}")]) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        message = str(exc.problem or "")
        if exc.context:
            started = (f" (from line {exc.context_mark.line + 1})"
                       if exc.context_mark is not None else "")
            message = f"{exc.context}{started}: {message}"
        raise ScenarioInvalid(file, [Problem(line, "", f"YAML syntax error: {message}")]
                              ) from exc
    except yaml.YAMLError as exc:
        raise ScenarioInvalid(file, [Problem(1, "", f"YAML error: {exc}")]) from exc
    if root is None:
        raise ScenarioInvalid(file, [Problem(1, "", "the file is empty")])
    reader = _Reader(file)
    try:
        document = reader.build(root)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ScenarioInvalid(file, [Problem(line, "", f"YAML error: {exc}")]) from exc
    scenario = _Checker(reader).scenario(document)
    if reader.problems or scenario is None:
        raise ScenarioInvalid(file, reader.problems)
    return scenario


def agency_kind_for(event_type: str) -> str:
    """The kind of agency that records this type of event, for agencies a file does not declare."""
    prefix = event_type.split(".", 1)[0]
    if prefix in ("custody", "arrest", "bail", "county_lines"):
        return AgencyKind.POLICE
    if prefix == "ed" or prefix.startswith("health"):
        return AgencyKind.HEALTH
    if prefix == "school":
        return AgencyKind.SCHOOL
    if prefix == "housing":
        return AgencyKind.HOUSING
    if prefix == "prescription":
        return AgencyKind.PHARMACY
    return AgencyKind.CSC


class _Checker:
    """Turns the plain document into a ``Scenario``, recording problems on the reader."""

    def __init__(self, reader: _Reader):
        self.r = reader
        self.agencies: dict[str, AgencySpec] = {}
        self.teams: dict[str, str] = {}
        self.people: dict[str, PersonSpec] = {}
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    # -- small helpers ---------------------------------------------------------------------

    def _mapping(self, value: Any, path: str, allowed: set[str] | None = None
                 ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.r.problem(path, "expected a mapping (key: value lines)")
            return None
        if allowed is not None:
            for key in sorted(set(value) - allowed):
                where = f"{path}.{key}" if path else key
                self.r.problem(where, f"unknown key '{key}' (expected one of: "
                                      f"{', '.join(sorted(allowed))})")
        return value

    def _list(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.r.problem(path, "expected a list (lines starting with '-')")
            return []
        return value

    def _text(self, value: Any, path: str, *, required: bool = True) -> str:
        if value is None:
            if required:
                self.r.problem(path, "missing")
            return ""
        if isinstance(value, bool | dict | list):
            self.r.problem(path, "expected text")
            return ""
        return str(value).strip()

    def _time(self, value: Any, path: str, start: datetime | None) -> datetime | None:
        if value is None:
            self.r.problem(path, "missing")
            return None
        if isinstance(value, str) and value.strip().startswith("+"):
            offset = parse_duration(value.strip()[1:])
            if offset is None:
                self.r.problem(path, f"bad offset '{value}': {_OFFSET_HELP}")
                return None
            return start + offset if start is not None else None
        moment = _aware(value)
        if moment is None:
            shown = value.isoformat() if isinstance(value, datetime | date) else value
            self.r.problem(path, f"bad time '{shown}': {_OFFSET_HELP} with its zone, "
                                 "e.g. 2025-03-03T08:00:00+00:00")
        return moment

    def _ref(self, value: Any, path: str) -> str:
        ref = self._text(value, path)
        if ref and ref not in self.people:
            known = ", ".join(sorted(self.people)) or "none"
            self.r.problem(path, f"no one with ref '{ref}' in people (known: {known})")
        return ref

    def _rule(self, value: Any, path: str, *, needs_clock: bool = False) -> str:
        rule_id = self._text(value, path)
        if not rule_id:
            return ""
        rule = get_rule(rule_id)
        if rule is None:
            known = ", ".join(sorted(r.id for r in all_rules()))
            self.r.problem(path, f"unknown rule id '{rule_id}' (rules: {known})")
        elif needs_clock and rule.clock is None:
            self.r.problem(path, f"rule '{rule_id}' has no clock")
        return rule_id

    def _team(self, code: str, path: str) -> None:
        if not code or code in self.teams:
            return
        if code in TeamKind.values:
            self.teams[code] = code
        else:
            self.r.problem(path, f"team '{code}' is not a team kind ({', '.join(TeamKind.values)})"
                                 "; declare its kind under area.teams")

    # -- sections ----------------------------------------------------------------------------

    def scenario(self, doc: Any) -> Scenario | None:
        top = self._mapping(doc, "", _TOP_KEYS)
        if top is None:
            return None
        name = self._text(top.get("name"), "name")
        start = None
        if "start" not in top:
            self.r.problem("", "'start' is missing")
        else:
            start = self._time(top["start"], "start", None)
        home_force = self._area(top.get("area"))
        for i, person in enumerate(self._list(top.get("people", []), "people")):
            self._person(person, f"people[{i}]")
        if "events" not in top:
            self.r.problem("", "'events' is missing")
        events = self._list(top.get("events", []), "events")
        if "events" in top and not events:
            self.r.problem("events", "give at least one event")
        steps: list[Step] = []
        for i, entry in enumerate(events):
            step = self._step(entry, f"events[{i}]", i, start)
            if step is None:
                continue
            if steps and step.at < steps[-1].at:
                self.r.problem(f"events[{i}].at", "events must be in time order; this one is "
                                                  f"before the one at line {steps[-1].line}")
            if start is not None and step.at < start:
                self.r.problem(f"events[{i}].at", "this is before the scenario's start")
            steps.append(step)
        expectations = [
            e for i, raw in enumerate(self._list(top.get("expect", []), "expect"))
            if (e := self._expectation(raw, f"expect[{i}]", i)) is not None
        ]
        for rule in all_rules():  # the home authority has the teams the rules route to
            for route in rule.routes:
                kind = route_team_kind(route)
                self.teams.setdefault(kind, kind)
        if start is None:
            return None
        last = steps[-1].at if steps else start
        end = last + DEFAULT_RUN_ON
        if top.get("end") is not None:
            end = self._time(top["end"], "end", start) or end
            if end < last:
                self.r.problem("end", "the end is before the last event")
        return Scenario(
            file=self.r.file, name=name, source=self._text(top.get("source"), "source",
                                                           required=False),
            start=start, end=end, home_police_force=home_force, agencies=self.agencies,
            teams=self.teams, people=self.people, steps=steps, expectations=expectations,
        )

    def _area(self, value: Any) -> str | None:
        if value is None:
            return None
        area = self._mapping(value, "area", _AREA_KEYS)
        if area is None:
            return None
        force = self._text(area.get("home_police_force"), "area.home_police_force",
                           required=False) or None
        agencies = self._mapping(area.get("agencies", {}), "area.agencies") or {}
        for code, spec in agencies.items():
            path = f"area.agencies.{code}"
            kind, police_force = spec, ""
            if isinstance(spec, dict):
                self._mapping(spec, path, {"kind", "police_force"})
                kind, police_force = spec.get("kind"), self._text(
                    spec.get("police_force"), f"{path}.police_force", required=False)
            if kind not in AgencyKind.values:
                self.r.problem(path, f"unknown agency kind '{kind}' "
                                     f"({', '.join(AgencyKind.values)})")
                continue
            self.agencies[str(code)] = AgencySpec(str(code), str(kind), police_force)
        teams = self._mapping(area.get("teams", {}), "area.teams") or {}
        for code, kind in teams.items():
            if kind not in TeamKind.values:
                self.r.problem(f"area.teams.{code}", f"unknown team kind '{kind}' "
                                                     f"({', '.join(TeamKind.values)})")
                continue
            self.teams[str(code)] = str(kind)
        return force

    def _person(self, value: Any, path: str) -> None:
        person = self._mapping(value, path, _PERSON_KEYS)
        if person is None:
            return
        ref = self._text(person.get("ref"), f"{path}.ref")
        if not ref:
            return
        if ref in self.people:
            self.r.problem(f"{path}.ref", f"ref '{ref}' is used twice")
            return
        dob = person.get("date_of_birth")
        if isinstance(dob, str):
            try:
                dob = date.fromisoformat(dob)
            except ValueError:
                dob = False
        if dob is not None and (not isinstance(dob, date) or isinstance(dob, datetime)):
            self.r.problem(f"{path}.date_of_birth", "expected a date, e.g. 2011-07-19")
            dob = None
        identifiers = {}
        for key in IDENTIFIER_KEYS:
            if person.get(key) is not None:
                identifiers[key] = self._text(person[key], f"{path}.{key}")
        if "nhs_number" in identifiers:
            try:
                identifiers["nhs_number"] = normalise_nhs_number(identifiers["nhs_number"])
            except ValueError as exc:
                self.r.problem(f"{path}.nhs_number", str(exc))
        if person.get("postcode") is not None:
            try:
                normalise_postcode(self._text(person["postcode"], f"{path}.postcode"))
            except ValueError as exc:
                self.r.problem(f"{path}.postcode", str(exc))
        self.people[ref] = PersonSpec(
            ref=ref, given_name=self._text(person.get("given_name"), f"{path}.given_name",
                                           required=False),
            family_name=self._text(person.get("family_name"), f"{path}.family_name",
                                   required=False),
            date_of_birth=dob, identifiers=identifiers, line=self.r.line(path),
        )

    def _step(self, value: Any, path: str, index: int, start: datetime | None) -> Step | None:
        entry = self._mapping(value, path)
        if entry is None:
            return None
        at = self._time(entry.get("at"), f"{path}.at", start)
        kind = self._text(entry.get("type"), f"{path}.type")
        if not kind:
            return None
        if kind not in EVENT_TYPES and kind not in ACTIONS:
            self.r.problem(f"{path}.type", f"unknown event type '{kind}' (see events.md; "
                                           f"practitioner actions: {', '.join(ACTIONS)})")
            return None
        if kind == "ack":
            return self._ack(entry, path, index, at)
        self._mapping(entry, path, _EVENT_KEYS)
        payload = _jsonable({k: entry[k] for k in ("type", "source", "subject", "related", "data")
                             if k in entry})
        if at is None:
            return None
        payload["occurred_at"] = at.isoformat()
        source = payload.get("source")
        if not isinstance(source, dict) or not source.get("agency") or not source.get("record"):
            self.r.problem(f"{path}.source", "give source: {agency: CODE, record: ID}")
            return None
        with clock.frozen_at(at):
            try:
                validate_envelope(payload)
            except ValidationFailed as exc:
                for key, messages in sorted(exc.errors.items()):
                    where = f"{path}.{key}" if key and key != "non_field_errors" else path
                    self.r.problem(where, " ".join(str(m) for m in messages))
                return None
        code, record = str(source["agency"]), str(source["record"])
        previous = self.records.get((code, record))
        if previous is not None and previous != payload:
            self.r.problem(f"{path}.source.record", f"record '{record}' of '{code}' was already "
                                                    "used for a different event")
        self.records[(code, record)] = payload
        self._agency(code, kind, payload.get("data") or {})
        return Step(index=index, line=self.r.line(path), at=at, type=kind, payload=payload)

    def _agency(self, code: str, event_type: str, data: dict[str, Any]) -> None:
        spec = self.agencies.get(code)
        if spec is None:
            kind = agency_kind_for(event_type)
            force = str(data.get("force") or "") if kind == AgencyKind.POLICE else ""
            self.agencies[code] = AgencySpec(code, kind, force)
        elif spec.kind == AgencyKind.POLICE and not spec.police_force and data.get("force"):
            self.agencies[code] = AgencySpec(code, spec.kind, str(data["force"]))

    def _ack(self, entry: dict[str, Any], path: str, index: int, at: datetime | None
             ) -> Step | None:
        self._mapping(entry, path, _ACK_KEYS)
        alert = self._mapping(entry.get("alert"), f"{path}.alert", {"rule", "for"})
        if alert is None:
            return None
        rule = self._rule(alert.get("rule"), f"{path}.alert.rule")
        ref = self._ref(alert.get("for"), f"{path}.alert.for")
        by = self._text(entry.get("by"), f"{path}.by")
        self._team(by, f"{path}.by")
        if at is None:
            return None
        return Step(
            index=index, line=self.r.line(path), at=at, type="ack", rule=rule, ref=ref, by=by,
            information_shared=self._text(entry.get("information_shared"),
                                          f"{path}.information_shared", required=False)
            or DEFAULT_INFORMATION_SHARED,
            outcome=self._text(entry.get("outcome"), f"{path}.outcome", required=False),
        )

    def _expectation(self, value: Any, path: str, index: int) -> Expectation | None:
        raw = self._mapping(value, path)
        if raw is None:
            return None
        kinds = [k for k in _EXPECT_KEYS if k in raw]
        if len(kinds) != 1:
            self.r.problem(path, "an expectation names exactly one of: "
                                 + ", ".join(_EXPECT_KEYS))
            return None
        kind = kinds[0]
        self._mapping(raw, path, _EXPECT_KEYS[kind])
        base = {"index": index, "line": self.r.line(path), "kind": kind,
                "written": _jsonable(raw)}
        if kind == "person_count":
            count = raw["person_count"]
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                self.r.problem(f"{path}.person_count", "expected a whole number")
                return None
            return Expectation(**base, count=count)
        rule = self._rule(raw[kind], f"{path}.{kind}", needs_clock=kind == "clock")
        ref = self._ref(raw.get("for"), f"{path}.for")
        if kind == "no_alert":
            return Expectation(**base, rule=rule, ref=ref)
        if kind == "alert":
            route = self._text(raw.get("route"), f"{path}.route", required=False)
            self._team(route, f"{path}.route")
            within = None
            if raw.get("within") is not None:
                within = parse_duration(str(raw["within"]))
                if within is None:
                    self.r.problem(f"{path}.within", f"bad duration '{raw['within']}': use e.g. "
                                                     "5m, 1h, '1h 30m' or 2d")
            return Expectation(**base, rule=rule, ref=ref, route=route, within=within)
        status = self._text(raw.get("status"), f"{path}.status")
        if status and status not in CLOCK_STATUSES:
            self.r.problem(f"{path}.status", f"expected one of {', '.join(CLOCK_STATUSES)}")
        nth = raw.get("nth")
        if nth is not None and (not isinstance(nth, int) or isinstance(nth, bool) or nth < 1):
            self.r.problem(f"{path}.nth", "expected a whole number from 1")
            nth = None
        escalated = raw.get("escalated")
        if escalated is not None and not isinstance(escalated, bool):
            self.r.problem(f"{path}.escalated", "expected true or false")
            escalated = None
        return Expectation(**base, rule=rule, ref=ref, status=status, nth=nth,
                           escalated=escalated)
