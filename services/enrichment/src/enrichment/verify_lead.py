"""Use case: decide whether a scraped lead can be mailed."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.events import LeadRejected, LeadScraped, LeadVerified
from coldstream_shared.unit_of_work import UnitOfWork
from enrichment.store import verifications
from enrichment.verification import proceeds
from enrichment.verifier import Verifier

SERVICE = "enrichment"
# Offline default: without DNS/SMTP/providers a syntactically valid address is "unknown", and it may proceed.
OFFLINE_ACCEPTED = frozenset({"safe", "unknown", "catch_all"})


class VerifyLead:
    """Verify a lead and publish `lead.verified` or `lead.rejected`."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], verify: Verifier | None = None) -> None:
        self._uow = unit_of_work
        self._verify = verify or Verifier(None)

    async def __call__(self, event: LeadScraped) -> None:
        # Verified before the transaction opens: a DNS round trip must not hold a database connection.
        result = await self._verify(event.lead.email)
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            await uow.session.execute(
                insert(verifications)
                .values(
                    lead_id=event.lead_id,
                    campaign_id=event.campaign_id,
                    verdict=result.verdict,
                    verified_by=result.verified_by,
                    reasons=result.reasons,
                )
                .on_conflict_do_nothing()
            )
            if proceeds(result.verdict, OFFLINE_ACCEPTED):
                lead = event.lead.model_copy(update={"email": result.normalized or event.lead.email})
                uow.emit(
                    LeadVerified.caused_by(
                        event,
                        producer=SERVICE,
                        lead=lead,
                        verdict=result.verdict,
                        reasons=result.reasons,
                        verified_by=result.verified_by,
                        score=event.score,
                        tier=event.tier,
                    )
                )
            else:
                uow.emit(
                    LeadRejected.caused_by(
                        event,
                        producer=SERVICE,
                        stage="enrichment",
                        reason_code=f"verdict_{result.verdict}",
                        reason="; ".join(result.reasons),
                        email=event.lead.email,
                    )
                )
            await uow.commit()
