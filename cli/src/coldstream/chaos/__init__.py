"""The chaos run (`coldstream chaos`): a whole Instantly campaign on the embedded stack while services are
SIGKILLed, nats-server restarts and webhooks arrive (some twice); then the promises are checked from the evidence.

Modules: `campaign` writes the campaign folder, `plan` draws the seeded schedule, `providers` are the recording
fakes (Instantly, Anthropic), `faults` kills and restarts, `webhooks` posts Instantly's webhooks, `observe` tails
the streams, `evidence` reads the database and the fakes, `checks` judges, `run` orchestrates and prints.
"""
