"""The seeded schedule of a chaos run: which faults happen when, and which lead gets which webhook.

Pure: the same seed gives the same faults and the same webhook per address, whatever order the leads arrive in.
Faults fire at points of the campaign's *progress*, not at clock times, so each one lands mid-run on a fast
machine and a slow one alike (a clock time could fall after the campaign has finished).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace

from coldstream.runtime.stack import SERVICES

NATS = "nats-server"
UPLOADER = "sending"  # the service that calls leads/add


@dataclass(frozen=True)
class Fault:
    """SIGKILL `target` once progress passes `at_progress`; start it again `downtime` seconds later."""

    at_progress: float
    target: str  # a service name, or NATS
    downtime: float
    # Killed while Instantly holds back its answer to a leads/add it has stored: the worst moment for sending.
    mid_upload: bool = False


@dataclass(frozen=True)
class Hook:
    """One webhook Instantly would send about a lead."""

    kind: str  # a key of KINDS
    before_sending: bool  # posted early, so the suppression may land before the lead is uploaded
    twice: bool  # delivered a second time, byte for byte (Instantly retries)
    delay: float  # seconds after the lead qualifies (uploaded, or the run started)


# kind -> (Instantly event_type, reply text). Texts are the replies the rules (or the model) must tell apart.
KINDS: dict[str, tuple[str, str | None]] = {
    "interested": ("reply_received", "Sounds good, tell me more about how it works."),
    "not interested": ("reply_received", "Not interested, thanks."),
    "meeting": ("reply_received", "Happy to talk. Does Thursday at 10 work for a call?"),
    "question (model)": ("reply_received", "We use Acme today. Why would we switch"),
    "out of office": ("reply_received", "I'm on vacation until June 3rd with limited access to email."),
    "unsubscribe wording": ("reply_received", "Please remove me from your list."),
    "auto reply": ("auto_reply_received", "Thank you for your email. This is an automatic reply."),
    "interest status": ("lead_interested", None),
    "unsubscribed": ("lead_unsubscribed", None),
    "bounced": ("email_bounced", None),
}
# Kinds after which the address must be on the suppression list for good.
SUPPRESSING = frozenset({"unsubscribe wording", "unsubscribed", "bounced"})
AFTER_SENDING_WEIGHTS = {
    "interested": 14,
    "not interested": 14,
    "meeting": 6,
    "question (model)": 10,
    "out of office": 10,
    "unsubscribe wording": 10,
    "auto reply": 6,
    "interest status": 8,
    "unsubscribed": 12,
    "bounced": 10,
}
BEFORE_SENDING = ("unsubscribed", "bounced")


@dataclass(frozen=True)
class Plan:
    """The whole schedule of one run."""

    seed: int
    faults: tuple[Fault, ...]
    reply_share: float = 0.15  # leads that get a webhook after they were uploaded
    early_share: float = 0.03  # leads suppressed by a webhook posted before they are likely uploaded
    twice_share: float = 0.2  # webhooks delivered twice

    def hook_for(self, address: str) -> Hook | None:
        """The webhook this address gets in this run, if any (decided by seed and address alone)."""
        rng = _rng(self.seed, address)
        roll = rng.random()
        twice = rng.random() < self.twice_share
        if roll < self.early_share:
            return Hook(rng.choice(BEFORE_SENDING), True, twice, rng.uniform(0.0, 20.0))
        if roll < self.early_share + self.reply_share:
            kinds, weights = zip(*AFTER_SENDING_WEIGHTS.items(), strict=True)
            return Hook(rng.choices(kinds, weights)[0], False, twice, rng.uniform(0.5, 15.0))
        return None


def make_plan(
    seed: int, *, kills: int, nats_restarts: int = 1, services: tuple[str, ...] = SERVICES, last: float = 0.85
) -> Plan:
    """`kills` service SIGKILLs (every service once before any twice) and `nats_restarts` nats-server SIGKILLs,
    spread over progress 0.05..`last`, in a seeded order; the first kill of sending lands mid-upload."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not security
    targets: list[str] = []
    while len(targets) < kills:
        targets += rng.sample(list(services), k=min(len(services), kills - len(targets)))
    targets += [NATS] * nats_restarts
    rng.shuffle(targets)
    points = sorted(rng.uniform(0.05, last) for _ in targets)
    faults = [
        Fault(round(point, 3), target, round(rng.uniform(0.5, 3.0), 1))
        for point, target in zip(points, targets, strict=True)
    ]
    # One kill of sending comes in the middle of an upload (the others at random moments), early enough
    # that uploads are still to come: progress 0.3 is about when the first leads reach sending.
    first = next((i for i, fault in enumerate(faults) if fault.target == UPLOADER), None)
    if first is not None:
        faults[first] = replace(faults[first], at_progress=round(rng.uniform(0.3, 0.45), 3), mid_upload=True)
    return Plan(seed, tuple(sorted(faults, key=lambda fault: fault.at_progress)))


def _rng(seed: int, address: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}|{address}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311 - reproducible, not security
