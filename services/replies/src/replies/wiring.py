"""Building the use cases from settings: which optional providers (Claude, Instantly, a notify URL) are on."""

from __future__ import annotations

from dataclasses import dataclass

from coldstream_shared.service import Runtime
from replies.actions import ActionOptions, ApplyClassification
from replies.claude import ClaudeReplyModel, ReplyModel
from replies.deliver_actions import DeliverActions, SlackNotifier
from replies.instantly import InstantlyClient
from replies.loops import every
from replies.poll_replies import PollReplies
from replies.record_reply import RecordReply
from replies.resume_webhooks import ResumeDisabledWebhooks
from replies.settings import RepliesSettings


@dataclass
class Components:
    """The use cases the transports call, plus the clients to close at shutdown."""

    apply: ApplyClassification
    record_reply: RecordReply
    model: ReplyModel | None
    instantly: InstantlyClient | None
    notifier: SlackNotifier | None

    async def close(self) -> None:
        for client in (self.instantly, self.notifier):
            if client is not None:
                await client.close()


def build(settings: RepliesSettings, runtime: Runtime) -> Components:
    """Create the use cases and add the background loops the settings ask for to `runtime.loops`."""
    key = settings.instantly_api_key.get_secret_value() if settings.instantly_api_key else None
    instantly = InstantlyClient(key, settings.instantly_base_url) if key else None
    url = settings.notify_webhook_url.get_secret_value() if settings.notify_webhook_url else None
    notifier = SlackNotifier(url) if url else None
    model: ReplyModel | None = None
    if settings.anthropic_api_key is not None:
        model = ClaudeReplyModel.from_key(
            settings.anthropic_api_key.get_secret_value(),
            settings.replies_model,
            base_url=settings.anthropic_base_url,
            timeout=settings.replies_model_timeout,
        )
    options = ActionOptions(
        notify=notifier is not None, instantly=instantly is not None, nurture_default_days=settings.nurture_default_days
    )
    apply = ApplyClassification(options)
    record_reply = RecordReply(apply, settings.team_id, model_enabled=model is not None)
    deliver = DeliverActions(
        runtime.sessions, notifier=notifier, instantly=instantly, max_attempts=settings.actions_max_attempts
    )
    runtime.loops.append(every(settings.actions_poll_seconds, deliver.run_once, "deliver queued actions"))
    if instantly is not None and settings.replies_poll_seconds > 0:
        poll = PollReplies(runtime.unit_of_work, instantly, record_reply, max_pages=settings.replies_poll_max_pages)
        runtime.loops.append(every(settings.replies_poll_seconds, poll.run_once, "poll Instantly emails"))
    if instantly is not None and settings.webhook_check_seconds > 0:
        resume = ResumeDisabledWebhooks(instantly)
        runtime.loops.append(every(settings.webhook_check_seconds, resume.run_once, "resume disabled webhooks"))
    return Components(apply, record_reply, model, instantly, notifier)
