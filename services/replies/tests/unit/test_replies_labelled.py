"""The rule classifier on the labelled set: per-label precision and recall, published in docs/classifier.md.

Regenerate the doc after changing the rules: `COLDSTREAM_UPDATE_DOCS=1 .venv/bin/pytest services/replies -k labelled`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from replies.classifier import CLASSIFIER, classify

LABELLED = Path(__file__).parents[1] / "data" / "labelled_replies.jsonl"
DOC = Path(__file__).parents[4] / "docs" / "classifier.md"
START, END = "<!-- evaluation:start -->", "<!-- evaluation:end -->"
TODAY = date(2025, 3, 1)  # the hand-written return dates assume this "today"


def evaluate() -> tuple[str, dict[str, tuple[float, float, int]]]:
    """The markdown report and {label: (precision, recall, support)}."""
    samples: list[dict[str, Any]] = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    truth, predicted, pairs = Counter[str](), Counter[str](), Counter[tuple[str, str]]()
    dates = [0, 0]
    referrals = [0, 0]
    for sample in samples:
        result = classify(sample["text"], sample["subject"], today=TODAY)
        truth[sample["label"]] += 1
        predicted[result.category] += 1
        pairs[sample["label"], result.category] += 1
        if sample["source"] == "handwritten" and sample.get("return_date"):
            dates[0] += 1
            dates[1] += str(result.return_date) == sample["return_date"]
        if sample.get("referral_email"):
            referrals[0] += 1
            referrals[1] += result.referral_email == sample["referral_email"]
    scores: dict[str, tuple[float, float, int]] = {}
    rows = ["| label | support | predicted | correct | precision | recall |", "|---|---:|---:|---:|---:|---:|"]
    for label in sorted(truth | predicted):
        right = pairs[label, label]
        precision = right / predicted[label] if predicted[label] else 1.0
        recall = right / truth[label] if truth[label] else 1.0
        scores[label] = (precision, recall, truth[label])
        rows.append(f"| {label} | {truth[label]} | {predicted[label]} | {right} | {precision:.0%} | {recall:.0%} |")
    accuracy = sum(pairs[label, label] for label in truth) / len(samples)
    errors = [f"- {want} → {got}: {n}" for (want, got), n in sorted(pairs.items()) if want != got]
    report = "\n".join(
        [
            START,
            f"Classifier `{CLASSIFIER}` on {len(samples)} labelled replies; accuracy {accuracy:.0%}.",
            "",
            *rows,
            "",
            f"Return dates (hand-written out-of-office replies): {dates[1]}/{dates[0]} exact.",
            f"Referral contacts extracted: {referrals[1]}/{referrals[0]}.",
            "",
            "Misclassifications:",
            "",
            *(errors or ["- none"]),
            END,
        ]
    )
    return report, scores


def test_opt_out_recall_is_100_percent() -> None:
    _, scores = evaluate()
    _, recall, support = scores["unsubscribe"]
    assert support >= 30
    assert recall == 1.0


def test_every_category_is_covered_and_mostly_right() -> None:
    _, scores = evaluate()
    expected = {"interested", "meeting_request", "question", "not_interested", "not_now", "unsubscribe"}
    expected |= {"out_of_office", "auto_reply", "bounce", "referral", "wrong_person", "neutral"}
    assert expected <= {label for label, (_, _, support) in scores.items() if support > 0}
    assert all(recall >= 0.8 for _, recall, support in scores.values() if support)


def test_docs_show_the_current_evaluation() -> None:
    report, _ = evaluate()
    text = DOC.read_text()
    if os.environ.get("COLDSTREAM_UPDATE_DOCS"):
        before, _, rest = text.partition(START)
        DOC.write_text(before + report + rest.partition(END)[2])
        text = DOC.read_text()
    assert report in text, "docs/classifier.md is stale: rerun with COLDSTREAM_UPDATE_DOCS=1"
