"""Typed domain errors. Every message says what was wrong and what to do about it."""


class DomainError(Exception):
    """Base class for invariant violations and bad commands."""


class InvariantViolation(DomainError):
    """A command would break an aggregate invariant."""


class InvalidCommand(DomainError):
    """A command's arguments are malformed or out of range."""


class CampaignClosed(InvariantViolation):
    """The campaign is complete or archived and takes no more turns."""


class TooFewPersonas(InvariantViolation):
    """A campaign needs at least two persona participants."""


class CharacterSheetError(DomainError):
    """A character sheet could not be read; the message names file, field and problem."""


class CampaignFileError(DomainError):
    """A campaign file or sample name is unusable; the message names file, key and problem."""


class UnknownEventType(DomainError):
    """A stored event names a type (or schema version) this build does not know."""


class InvalidTimestamp(InvalidCommand):
    """A command was given a time that is not a UTC ISO 8601 string."""


class StreamMismatch(InvariantViolation):
    """An event was applied to the wrong aggregate or out of order: the stream is inconsistent."""


class IncompatibleSnapshot(DomainError):
    """A stored snapshot does not fit this build's aggregate state; replay the stream instead."""
