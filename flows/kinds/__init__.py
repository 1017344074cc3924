"""Step kinds, one small class each, registered by name in `KINDS` (see `flows.kinds.base`)."""

from flows.kinds import choosing, passing, where, writing
from flows.kinds.base import KINDS, StepKind, kind

__all__ = ["KINDS", "StepKind", "choosing", "kind", "passing", "where", "writing"]
