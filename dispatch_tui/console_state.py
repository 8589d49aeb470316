"""What the console knows, kept apart from Textual so it is tested directly.

Relay events are folded into plain objects here: live calls with their
transcript lines, the advice board, rooms with their unread and urgent
traffic, and each room's chat. Every collection is bounded, so a busy shift
cannot grow the console's memory; older lines stay reachable through
``history``.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dispatch_tui import events as ev
from dispatch_tui.floor import Floor
from dispatch_tui.vocabulary import is_dispatcher_speaker

#: Words in a chat line that mark the room as having urgent traffic.
_URGENT_CHAT = re.compile(
    r"\b(mayday|urgent|emergency|officer down|shots fired|need backup|backup needed|"
    r"evacuate|priority 1|p1)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9']+")
_NEVER = datetime.min.replace(tzinfo=UTC)


def parse_ts(value: object) -> datetime | None:
    """The relay's ISO timestamps; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(slots=True)
class TranscriptLine:
    """One speaker turn; interim text is replaced in place by the final text."""

    speaker: str | None
    text: str
    final: bool
    segment_id: str | None
    when: datetime | None = None


@dataclass(slots=True)
class Call:
    """One live call: its transcript lines and when its first words came."""

    call_id: str
    started: datetime
    max_lines: int
    lines: deque[TranscriptLine] = field(init=False)
    last_seq: int = 0
    #: Bumped on every change, so views redraw only calls that changed.
    version: int = 0
    #: Bumped when the dispatcher's words change (asked questions drop off the advice).
    dispatcher_version: int = 0

    def __post_init__(self) -> None:
        self.lines = deque(maxlen=self.max_lines)

    def apply(self, fragment: ev.Transcript, when: datetime | None = None) -> bool:
        """Add one fragment; True if it changed what the dispatcher has said."""
        text, final, speaker = fragment.text, fragment.is_final, fragment.speaker
        segment_id = fragment.segment_id
        line = self._line_of(segment_id)
        if line is None:
            self.lines.append(TranscriptLine(speaker, text, final, segment_id, when))
        elif line.final and final:
            line.text = f"{line.text} {text}".strip()
        else:
            line.text, line.final = text, final
        self.version += 1
        if final and is_dispatcher_speaker(speaker):
            self.dispatcher_version += 1
            return True
        return False

    def _line_of(self, segment_id: str | None) -> TranscriptLine | None:
        """The line of that segment among the last few, where fragments land."""
        if segment_id is None:
            return None
        for index in range(len(self.lines) - 1, max(-1, len(self.lines) - 9), -1):
            if self.lines[index].segment_id == segment_id:
                return self.lines[index]
        return None

    def dispatcher_words(self) -> set[str]:
        """Words the dispatcher has said, to tell which questions were asked."""
        words: set[str] = set()
        for line in self.lines:
            if is_dispatcher_speaker(line.speaker):
                words.update(_WORD.findall(line.text.lower()))
        return words


@dataclass(slots=True)
class Advice:
    """The newest suggestion for one call."""

    call_id: str
    suggestion: dict[str, Any]
    received: datetime
    seq: int
    rang: bool = False

    @property
    def priority(self) -> int:
        value = self.suggestion.get("priority")
        return value if isinstance(value, int) and 1 <= value <= 5 else 3

    def open_questions(self, asked_words: set[str]) -> list[str]:
        """Questions the dispatcher has not asked yet, judged by shared words."""
        result = []
        for question in self.suggestion.get("questions") or []:
            words = {word for word in _WORD.findall(str(question).lower()) if len(word) > 3}
            if words and len(words & asked_words) / len(words) >= 0.5:
                continue
            result.append(str(question))
        return result


@dataclass(slots=True)
class ChatLine:
    """One chat message as the console shows it."""

    when: datetime
    sender: str
    text: str
    own: bool = False
    broadcast: bool = False
    seq: int = 0


@dataclass(slots=True)
class Room:
    """A room the console knows of: joined or only listed by the relay."""

    name: str
    max_lines: int
    members: int = 0
    joined: bool = False
    unread: int = 0
    urgent: int | None = None
    last_activity: datetime | None = None
    lines: deque[ChatLine] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = deque(maxlen=self.max_lines)

    def mark_read(self) -> None:
        self.unread = 0
        self.urgent = None


def message_text(message: object) -> str:
    """A chat message as one line: strings as they are, JSON as compact JSON."""
    if isinstance(message, str):
        return message
    if isinstance(message, dict):
        for key in ("text", "message", "body"):
            if isinstance(message.get(key), str):
                return str(message[key])
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def chat_urgency(message: object) -> int | None:
    """P1 for a chat line that reads as urgent, or the priority it carries."""
    if isinstance(message, dict):
        priority = message.get("priority")
        if isinstance(priority, int) and 1 <= priority <= 5:
            return priority
    return 1 if _URGENT_CHAT.search(message_text(message)) else None


class ConsoleState:
    """Everything the main screen shows, updated one relay event at a time.

    ``changed`` collects which parts need redrawing ("calls", "advice",
    "rooms", "chat", "status"), so the screen redraws at its own pace however
    fast events come.
    """

    def __init__(self, max_lines: int = 500, max_calls: int = 12, max_rooms: int = 200) -> None:
        self.max_lines = max_lines
        self.max_calls = max_calls
        self.max_rooms = max_rooms
        self.calls: dict[str, Call] = {}
        self.advice: dict[str, Advice] = {}
        self.rooms: dict[str, Room] = {}
        self.selected: str | None = None
        self.source = "none"
        self.agent = "off"
        self.detail: str | None = None
        #: The cluster's shared Redis as the relay reports it (None: a single relay).
        self.redis: str | None = None
        #: ``failed`` once the relay's journal could not commit (None: it works).
        self.journal: str | None = None
        self.changed: set[str] = set()
        #: Who else is in the selected room, as the relay last listed them.
        self.clients: tuple[ev.ClientEntry, ...] = ()
        #: Chat lines of the selected room not yet drawn.
        self.new_chat: list[ChatLine] = []
        #: Calls that just became priority 1; the app rings the bell for each.
        self.alarms: list[Advice] = []
        #: Units, emergency alerts, and who has which call.
        self.floor = Floor()

    def room(self, name: str) -> Room:
        room = self.rooms.get(name)
        if room is None:
            if len(self.rooms) >= self.max_rooms:
                self._forget_a_room()
            room = self.rooms[name] = Room(name, self.max_lines)
        return room

    def _forget_a_room(self) -> None:
        idle = [room for room in self.rooms.values() if not room.joined]
        if idle:
            oldest = min(
                idle, key=lambda room: room.last_activity or datetime.min.replace(tzinfo=UTC)
            )
            del self.rooms[oldest.name]

    def apply(self, frame: dict[str, Any], now: datetime) -> None:
        """Fold one frame from the relay into the state."""
        self.apply_event(ev.parse_event(frame), now)

    def apply_event(self, event: ev.Event | None, now: datetime) -> None:
        """Fold one typed event in; events the console does not show are ignored."""
        match event:
            case ev.Transcript():
                self._transcript(event, now)
            case ev.AiSuggestion():
                self._suggestion(event, now)
            case ev.ClientMessage():
                self._chat(event, now)
            case ev.Status():
                self.source, self.agent = event.source, event.agent
                self.detail, self.redis = event.detail or None, event.redis or None
                self.journal = event.journal or None
                self.changed.add("status")
            case ev.RoomsList():
                self.set_members(event.rooms)
            case ev.CallClaimed() | ev.AdviceAcknowledged() | ev.AdviceEscalated():
                self.floor.apply_mark(event)
                self.changed.update({"calls", "advice"})

    def _transcript(self, fragment: ev.Transcript, now: datetime) -> None:
        when = parse_ts(fragment.ts) or now
        call = self.calls.get(fragment.call_id)
        if call is None:
            if len(self.calls) >= self.max_calls:
                oldest = min(self.calls.values(), key=lambda call: call.last_seq)
                del self.calls[oldest.call_id]
            call = self.calls[fragment.call_id] = Call(fragment.call_id, when, self.max_lines)
        if call.apply(fragment, when):
            self.changed.add("advice")
        seq = fragment.seq
        call.last_seq = seq if seq is not None else call.last_seq + 1
        self.changed.add("calls")

    def _suggestion(self, event: ev.AiSuggestion, now: datetime) -> None:
        call_id = event.call_id
        previous = self.advice.get(call_id)
        advice = Advice(call_id, event.suggestion, parse_ts(event.ts) or now, event.seq or 0)
        advice.rang = previous is not None and previous.rang
        if advice.priority == 1 and not advice.rang:
            advice.rang = True
            self.alarms.append(advice)
        self.advice[call_id] = advice
        if len(self.advice) > self.max_calls * 2:
            stale = min(self.advice.values(), key=lambda item: item.seq)
            del self.advice[stale.call_id]
        self.changed.update({"advice", "calls"})

    def _chat(self, event: ev.ClientMessage, now: datetime) -> None:
        message = event.message
        when = parse_ts(event.ts) or now
        room_name = event.room
        seq = event.seq or 0
        if isinstance(message, dict) and self.floor.apply_message(
            message, ev.sender_name(event), room_name, when, seq
        ):
            self.changed.add("alerts" if self.floor.new_alerts else "units")
            return
        line = ChatLine(
            when,
            ev.sender_name(event),
            message_text(message),
            broadcast=bool(event.broadcast),
            seq=seq,
        )
        if room_name is not None:
            self.add_chat(room_name, line, chat_urgency(message))
        else:
            self.add_broadcast(line)

    def load_history(
        self, room_name: str, page: ev.History, own_id: str | None, now: datetime
    ) -> None:
        """A room's stored chat, merged by ``seq`` with the lines already shown.

        Unit updates and alerts in it go to the floor instead; lines this
        console sent (``own_id``) are marked as its own.
        """
        room = self.room(room_name)
        lines: dict[int, ChatLine] = {}
        for frame in page.messages:
            event = ev.parse_event(frame)
            if not isinstance(event, ev.ClientMessage):
                continue
            when = parse_ts(event.ts) or now
            seq = event.seq or 0
            message = event.message
            sender = ev.sender_name(event)
            if isinstance(message, dict) and self.floor.apply_message(
                message, sender, room_name, when, seq
            ):
                self.changed.update({"units", "alerts"})
                continue
            own = own_id is not None and event.client_id == own_id
            lines[seq] = ChatLine(when, sender, message_text(message), own, seq=seq)
        for line in room.lines:
            if line.seq:
                lines.setdefault(line.seq, line)
        merged = sorted(lines.values(), key=lambda line: line.seq)
        unsequenced = [line for line in room.lines if not line.seq]
        room.lines.clear()
        room.lines.extend([*merged, *unsequenced])

    def add_broadcast(self, line: ChatLine) -> None:
        """A message to everyone shows in every joined room, unread in none."""
        for room in self.rooms.values():
            if room.joined:
                room.lines.append(line)
        if self.selected is not None:
            self.new_chat.append(line)
            self.changed.add("chat")

    def add_chat(self, room_name: str, line: ChatLine, urgency: int | None = None) -> None:
        room = self.room(room_name)
        room.lines.append(line)
        room.last_activity = line.when
        if room_name == self.selected:
            self.new_chat.append(line)
            self.changed.add("chat")
        elif not line.own:
            self._mark(room, urgency, line.when)
        self.changed.add("rooms")

    def _mark(self, room: Room, urgency: int | None, when: datetime) -> None:
        room.last_activity = when
        if room.name == self.selected:
            return
        room.unread += 1
        if urgency is not None and urgency <= 2:
            room.urgent = urgency if room.urgent is None else min(room.urgent, urgency)
        self.changed.add("rooms")

    def set_members(self, rooms: dict[str, int]) -> None:
        """Member counts from ``rooms_list``; rooms gone empty drop to 0.

        The rooms pane is redrawn only if a count changed: the console asks
        every few seconds, and most answers are the same.
        """
        before = {name: room.members for name, room in self.rooms.items()}
        for room in self.rooms.values():
            room.members = 0
        for name, members in rooms.items():
            self.room(name).members = members
        if {name: room.members for name, room in self.rooms.items()} != before:
            self.changed.add("rooms")

    def set_clients(self, clients: list[ev.ClientEntry]) -> None:
        """Who is in the selected room, from ``clients_list``; redrawn if it changed."""
        if tuple(clients) != self.clients:
            self.clients = tuple(clients)
            self.changed.add("clients")

    def select(self, name: str) -> Room:
        room = self.room(name)
        self.selected = name
        room.mark_read()
        self.new_chat = []
        self.clients = ()  # the next poll lists this room's
        self.changed.update({"rooms", "clients", "chat", "room_switched"})
        return room

    def most_urgent_room(self) -> str | None:
        """The unread room with the most urgent traffic, else the one with most unread."""
        candidates = [room for room in self.rooms.values() if room.unread]
        if not candidates:
            return None
        return min(
            candidates,
            key=lambda room: (room.urgent or 9, -room.unread, room.name),
        ).name

    def cards(self) -> list[Advice]:
        """Advice, most urgent first, then newest first."""
        return sorted(self.advice.values(), key=lambda advice: (advice.priority, -advice.seq))

    def calls_by_urgency(self) -> list[Call]:
        """Calls with the most urgent advice first, then the oldest call first.

        The order only changes when a call's priority does, so cards do not
        jump around while people talk.
        """

        def rank(call: Call) -> tuple[int, datetime, str]:
            advice = self.advice.get(call.call_id)
            return (advice.priority if advice else 9, call.started, call.call_id)

        return sorted(self.calls.values(), key=rank)


@dataclass(frozen=True, slots=True)
class Match:
    """One search hit: a chat line (``room``) or a transcript turn (``call_id``)."""

    when: datetime | None
    who: str
    text: str
    room: str | None = None
    call_id: str | None = None


def search(state: ConsoleState, query: str, room: str | None = None) -> list[Match]:
    """Chat lines and transcript turns containing ``query`` (any case), newest first.

    With ``room``, only that room's chat is searched (transcripts belong to no room).
    """
    needle = query.strip().casefold()
    if not needle:
        return []
    matches = []
    for name, chat in state.rooms.items():
        if room is not None and name != room:
            continue
        for line in chat.lines:
            if needle in line.text.casefold():
                matches.append(Match(line.when, line.sender, line.text, room=name))
    if room is None:
        for call in state.calls.values():
            for turn in call.lines:
                if needle in turn.text.casefold():
                    who = turn.speaker or "?"
                    matches.append(Match(turn.when, who, turn.text, call_id=call.call_id))
    matches.sort(key=lambda match: match.when or _NEVER, reverse=True)
    return matches
