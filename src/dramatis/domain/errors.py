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


class UnknownEventType(DomainError):
    """A stored event names a type (or schema version) this build does not know."""
