"""Every Redis key tipline writes, in one place, all under one prefix.

Keys name only opaque pseudonyms, random ids or keyed hashes; values are ciphertext.
(RQ's own keys are named by RQ after `QUEUE_NAME`.)
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.constants import KEY_PREFIX


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = KEY_PREFIX

    def session(self, who: str) -> str:
        """The encrypted live session of conversation `who` (a pseudonym)."""
        return f"{self.prefix}:s:{who}"

    def marks(self, who: str) -> str:
        """The set of handled message marks of conversation `who` (de-duplication)."""
        return f"{self.prefix}:d:{who}"

    def lock(self, who: str) -> str:
        """The lock that lets one message of conversation `who` through at a time."""
        return f"{self.prefix}:l:{who}"

    def erasable(self, who: str) -> str:
        """The encrypted message ids of a finished conversation, for "erase this chat"."""
        return f"{self.prefix}:e:{who}"

    def erasable_later(self, who: str) -> str:
        """Encrypted ids of replies to `who` sent late by a worker, for "erase this chat" (a list)."""
        return f"{self.prefix}:el:{who}"

    def outbox(self, who: str) -> str:
        """Sealed batches of replies to `who` that wait for a worker, oldest first (a list)."""
        return f"{self.prefix}:o:{who}"

    def outbox_claim(self, who: str) -> str:
        """The claim of the one worker sending `who`'s waiting replies."""
        return f"{self.prefix}:oc:{who}"

    def filed(self, who: str) -> str:
        """The encrypted link to the report `who` just filed, kept ADDITION_WINDOW seconds only."""
        return f"{self.prefix}:f:{who}"

    def receipt(self, digest: str) -> str:
        """The report a receipt code (known only by its keyed hash) names."""
        return f"{self.prefix}:rc:{digest}"

    def media_status(self, media_id: str) -> str:
        """What a worker learned about one media item (named by its random id only)."""
        return f"{self.prefix}:m:{media_id}"

    def media_statuses(self, report_id: str) -> str:
        """What workers learned about every media item of report `report_id` (a random id), in one record."""
        return f"{self.prefix}:m:r:{report_id}"

    def media_claim(self, media_id: str) -> str:
        """The claim of the one worker fetching and decoding a media item now (and the channel that
        says it let go)."""
        return f"{self.prefix}:mc:{media_id}"

    @property
    def quiet_index(self) -> str:
        """The sorted set of live conversations by when they next need a quiet check."""
        return f"{self.prefix}:q"

    @property
    def sweeper(self) -> str:
        """The claim of the one running quiet sweeper chain (its next job's token)."""
        return f"{self.prefix}:q:sweeper"

    def receipt_guesses(self, who: str, window: int) -> str:
        """How many receipt codes conversation `who` tried in time window number `window`."""
        return f"{self.prefix}:g:{who}:{window}"

    def all_receipt_guesses(self, window: int) -> str:
        """How many receipt codes everyone tried in time window number `window`."""
        return f"{self.prefix}:g:{window}"

    def deleted(self, who: str) -> str:
        """When conversation `who` was last deleted by its reporter: replies queued before are never sent."""
        return f"{self.prefix}:x:{who}"

    @property
    def job_outcomes(self) -> str:
        """Worker metrics: a hash of job outcome counts by job name (`file_report|succeeded`)."""
        return f"{self.prefix}:metrics:jobs"

    @property
    def job_seconds(self) -> str:
        """Worker metrics: a hash of job duration buckets and sums by job name."""
        return f"{self.prefix}:metrics:seconds"

    def followup_link(self, who: str) -> str:
        """The encrypted link from reporter `who` to the report and question they may answer."""
        return f"{self.prefix}:fl:{who}"

    def followup_link_before(self, who: str) -> str:
        """Where releases before v0.3.0 kept the link: `filed(who)`'s key, so filing a report overwrote an
        analyst's open question. Still read (and deleted on DELETE) until those links age out (FOLLOWUP_TTL)."""
        return self.filed(who)

    def followup_opted_out(self, who: str) -> str:
        """Reporter `who` sent DELETE to a question: never ask again."""
        return f"{self.prefix}:fo:{who}"

    def followup_claim(self, request_id: str) -> str:
        """An analyst's question (random id) claimed by the poll."""
        return f"{self.prefix}:fq:{request_id}"

    def followup_delivered(self, request_id: str) -> str:
        """An analyst's question (random id) already delivered."""
        return f"{self.prefix}:fd:{request_id}"

    @property
    def followup_poll(self) -> str:
        """The claim of the one running follow-up poll chain (its next job's token)."""
        return f"{self.prefix}:fp"
