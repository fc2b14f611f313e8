"""Structure every style shares unless it overrides a symbol: sentence frames and outcome joins.

Slots the realiser binds (a rule that needs an unbound slot is simply never chosen):

- people: ``A`` actor (or several), ``T`` target persona, ``AA`` several names with ``WAS``
  (was/were), ``A2``/``V2`` a second persona and their quiet act, ``AS``/``AF`` who fared well
  and who did not, ``ALL`` (both/all), ``AF`` with ``WAS`` in ``aid.slip``;
- places: ``P`` a place ("the Drowned Cistern"), ``Pin`` where-phrase ("in the Drowned
  Cistern", "at Cairn Well"), ``D``/``Din`` a destination, ``PNP``/``PLIST`` a place's own
  description as a singular noun phrase or as a list;
- things: ``C`` a clue (in full the first time, by its short form after), ``CL`` several clues
  (``CL2`` only when there are two or more), ``G`` an objective as a noun phrase ("delivering the
  salt"), ``OFFER`` what a bargain gave, ``E`` a brief event's title;
- voice: ``OPEN`` an opener with its trailing space (may be empty), ``Q``/``Qc`` quoted speech
  (``Qc`` ends in a comma), ``ADV`` a speech adverb, ``TRAITS``, ``SUMMARY``, ``GOAL``;
- structure: ``K`` the action kind, ``O`` the outcome key (success, partial, failure, empty,
  missed, nothing, milestone), ``KC`` deed or still (attempts versus quiet acts), ``TL`` the tail
  symbol to use and ``SAY`` the speech-verb symbol.
"""

from __future__ import annotations

RULES: dict[str, tuple[str, ...]] = {
    "frame": (
        "{OPEN}{A} <{K}.vp> <{TL}>.",
        "{OPEN}{A} <{K}.vp> <{TL}>.",
        "<{K}.ing>, {A} <{K}.{O}>.",
        "{OPEN}{A} <{K}.vp>. <{K}.{O}.res>.",
    ),
    "frame.open": (
        "{OPEN}{A} <{K}.vp> <{TL}>.",
        "{OPEN}{A} <{K}.vp>. <{K}.{O}.res>.",
    ),
    "frame.group": ("{OPEN}{A} <{K}.vp> <{TL}>.",),
    "frame.while": (
        "While {A2} {V2}, {A} <{K}.vp> <{TL}>.",
        "{OPEN}{A} <{K}.vp> <{TL}>, while {A2} {V2}.",
        "{OPEN}{A} <{K}.vp> <{TL}>; {A2} {V2}.",
    ),
    "tail": ("<conj.{O}> <{K}.{O}>",),
    "conj.success": ("and",),
    "conj.partial": ("and",),
    "conj.failure": ("but",),
    "conj.empty": ("but",),
    "move.tail.success": ("", "", "<conj.success> <move.success>"),
    "wait.tail.success": ("", "<conj.success> <wait.success>"),
    "wait.tail.partial": ("", "<conj.partial> <wait.partial>"),
    "wait.tail.failure": ("", "<conj.failure> <wait.failure>"),
    "quote": (
        '"{Qc}" <{SAY}> {A}.',
        '"{Qc}" {A} <{SAY}>.',
        '"{Qc}" said {A} {ADV}.',
        '"{Qc}" {A} said {ADV}.',
    ),
}
