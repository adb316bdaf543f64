"""Writing one variant: write, gate, and on failure rewrite once with the gate's findings as feedback."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from personalization.quality import GateContext, QualityReport, assess
from personalization.writer import CallRecord, SequenceWriter, UnusableAnswerError, WriteRequest, Written


@dataclass(frozen=True)
class VariantOutcome:
    """What became of one variant: the final text and verdict, how many writes it took, what they cost."""

    variant: int
    written: Written | None
    report: QualityReport
    attempts: int
    calls: list[CallRecord] = field(default_factory=list)
    reason_code: str | None = None

    @property
    def passed(self) -> bool:
        return self.written is not None and self.report.passed


def chosen_variant(lead_id: str, variants: int) -> int:
    """Which variant a lead is sent (1-based): a stable hash of the lead id spreads leads evenly across variants,
    the same lead always gets the same one, and no shared counter is needed across replicas."""
    digest = hashlib.sha256(lead_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % max(1, variants) + 1


async def write_variant(writer: SequenceWriter, request: WriteRequest, context: GateContext) -> VariantOutcome:
    """Write and gate one variant; below the threshold, one rewrite with the failures as feedback."""
    calls: list[CallRecord] = []
    attempts = 0
    written: Written | None = None
    report = QualityReport(0.0, {}, [], context.threshold, ["unwritten"])
    while attempts < 2:
        attempts += 1
        try:
            written = await writer.write(request)
        except UnusableAnswerError as error:
            calls.extend(error.calls)
            failure = QualityReport(0.0, {}, [str(error)], context.threshold, ["unusable_answer"])
            return VariantOutcome(request.variant, None, failure, attempts, calls, "unusable_answer")
        calls.extend(written.calls)
        report = assess(written.touches, context)
        if report.passed or writer.writer == "template":  # a template rewrite would give the same text
            break
        request = replace(request, feedback=tuple(report.failures))
    reason = None if report.passed else "quality_gate"
    return VariantOutcome(request.variant, written, report, attempts, calls, reason)
