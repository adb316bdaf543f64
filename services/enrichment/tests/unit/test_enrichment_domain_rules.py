"""Disposable and free-mail lists, offline mode and MX verdict rules (pure)."""

from __future__ import annotations

import pytest

from enrichment.domain_rules import apply_domain_lists, apply_mx, is_disposable, is_free_mail
from enrichment.mx import MxAnswer
from enrichment.settings import EnrichmentSettings
from enrichment.verification import check_syntax
from enrichment.verifier import Verifier, build_verifier


@pytest.mark.parametrize("domain", ["mailinator.com", "Guerrillamail.com", "inbox.mailinator.com", "10minutemail.com"])
def test_disposable_domains(domain: str) -> None:
    assert is_disposable(domain)


@pytest.mark.parametrize("domain", ["acme.io", "gmail.com", "com", "mailinator.com.acme.io"])
def test_not_disposable(domain: str) -> None:
    assert not is_disposable(domain)


def test_disposable_is_invalid() -> None:
    result = apply_domain_lists(check_syntax("jane@mailinator.com"))
    assert result.verdict == "invalid"
    assert result.reasons == ["syntax: ok", "disposable domain"]


@pytest.mark.parametrize("email", ["jane@gmail.com", "jane@Outlook.com", "jane@yahoo.com"])
def test_free_mail_adds_a_reason_only(email: str) -> None:
    before = check_syntax(email)
    after = apply_domain_lists(before)
    assert after.verdict == before.verdict
    assert after.reasons == [*before.reasons, "free-mail provider"]
    assert not is_free_mail("acme.io")


def test_role_account_on_free_mail_keeps_risky() -> None:
    result = apply_domain_lists(check_syntax("info@gmail.com"))
    assert result.verdict == "risky"
    assert result.reasons == ["syntax: ok", "role account", "free-mail provider"]


@pytest.mark.parametrize(
    ("answer", "verdict", "verified_by"),
    [
        (MxAnswer("mx", ("mx1.acme.io",), 300), "unknown", "syntax+mx"),
        (MxAnswer("a_only", ("acme.io",), 300), "unknown", "syntax+mx"),
        (MxAnswer("null_mx"), "invalid", "syntax+mx"),
        (MxAnswer("no_mail"), "invalid", "syntax+mx"),
        (MxAnswer("nxdomain"), "invalid", "syntax+mx"),
        (MxAnswer("error", detail="timeout"), "unknown", "syntax-only"),
    ],
)
def test_mx_verdicts(answer: MxAnswer, verdict: str, verified_by: str) -> None:
    result = apply_mx(check_syntax("jane@acme.io"), answer)
    assert (result.verdict, result.verified_by) == (verdict, verified_by)


def test_mx_keeps_a_risky_syntax_verdict() -> None:
    result = apply_mx(check_syntax("support@acme.io"), MxAnswer("mx", ("mx1.acme.io",), 300))
    assert result.verdict == "risky"
    assert result.reasons == ["syntax: ok", "role account", "mx: ok"]


def test_dns_failure_never_rejects_even_a_risky_address() -> None:
    result = apply_mx(check_syntax("support@acme.io"), MxAnswer("error", detail="timeout"))
    assert result.verdict == "unknown"


async def test_offline_is_the_default_and_says_so() -> None:
    verify = build_verifier(EnrichmentSettings())
    result = await verify("jane@acme.io")
    assert result.verdict == "unknown"
    assert result.verified_by == "syntax-only"
    assert result.reasons == ["syntax: ok", "dns: off (syntax-only)"]


def test_dns_switch_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLDSTREAM_ENRICHMENT_DNS", "true")
    monkeypatch.setenv("COLDSTREAM_DNS_NAMESERVERS", "127.0.0.1, 127.0.0.2")
    settings = EnrichmentSettings()
    assert settings.enrichment_dns is True
    assert settings.dns_nameservers == "127.0.0.1, 127.0.0.2"


async def test_invalid_syntax_stops_early() -> None:
    result = await Verifier(None)("not an email")
    assert result.verdict == "invalid"
    assert result.normalized is None
