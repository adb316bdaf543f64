"""The phrase lists behind the rule classifier, matched on folded text (lowercase, no accents)."""

# fmt: off
BOUNCE = (
    "delivery status notification (failure)", "undeliverable", "undelivered mail", "mail delivery failed",
    "delivery has failed", "failed permanently", "could not be delivered", "couldn't be delivered",
    "was not delivered", "not delivered", "returned mail", "unable to deliver", "wasn't able to deliver",
    "delivery failure", "permanent error", "permanent fatal error", "user unknown", "unknown user", "no such user",
    "mailbox unavailable", "address rejected", "did not reach the following recipient", "delivery problems",
    "failure notice", "bounce notification", "email returned", "mail failure",
)
HARD_BOUNCE = (
    "user unknown", "unknown user", "no such user", "5.1.1", "wasn't found", "was not found", "not recognized",
    "does not exist", "doesn't exist", "address rejected", "mailbox unavailable", "possibly incorrect",
    "failed permanently",
)
OUT_OF_OFFICE = (
    "out of office", "out of the office", "out-of-office", "away from the office", "away from my desk",
    "currently away", "i am away", "i'm away", "on vacation", "on holiday", "on leave", "annual leave",
    "parental leave", "maternity leave", "paternity leave", "returning to the office", "back in the office",
    "limited access to email", "intermittent access to email", "traveling for work", "travelling for work",
    "abwesend", "ausser haus", "absent du bureau", "fuera de la oficina", "de vacaciones", "fuori ufficio", "abwesen",
    "nicht im buro", "im urlaub", "je suis absent", "en vacances", "en conge", "afwezig", "niet aanwezig",
    "op vakantie", "in ferie", "in vacanza", "fuori sede", "de ferias", "fora do escritorio", "estoy fuera",
    "ausente",
)
AUTO_REPLY_SUBJECT = (
    "auto reply", "automatic reply", "auto-reply", "autoreply", "autorespons", "auto response", "automated response",
    "automatische antwort", "reponse automatique", "respuesta automatica", "automatisch antwoord",
    "risposta automatica", "resposta automatica",
)
AUTO_REPLY = (
    "this is an automated", "this is an automatic", "auto-generated", "automatically generated",
    "do not reply to this", "we have received your", "we received your message", "ticket number", "automatic reply",
    "automatische antwort", "reponse automatique", "respuesta automatica", "risposta automatica",
    "automatisch antwoord", "resposta automatica", "high volume of email",
)
LEFT = (
    "no longer in use", "no longer with", "no longer work", "no longer employed", "left the company", "has left",
    "no longer monitored", "not the right person", "wrong person", "not the correct person", "not my department",
    "not responsible for", "moved on from", "don't handle", "do not handle", "not my area", "nicht zustandig",
    "nicht der richtige", "pas la bonne personne", "pas le bon interlocuteur", "no soy la persona",
    "niet de juiste persoon", "non sono la persona", "nao sou a pessoa",
)
REFERRAL = (
    "reach out to", "contact my colleague", "talk to my colleague", "speak with", "speak to", "the right person is",
    "the best person", "looping in", "cc'ing", "forwarding this to", "you should contact", "please contact",
    "get in touch with", "my replacement", "replaced me", " instead", "wenden sie sich an", "meinen kollegen",
    "meine kollegin", "veuillez contacter", "ma collegue", "mon collegue", "mi companer", "mi colega",
    "il mio collega", "la mia collega", "mijn collega", "meu colega", "minha colega",
)
MEETING = (
    "schedule a call", "set up a call", "book a call", "book a meeting", "set up a meeting", "schedule a meeting",
    "calendly", "hop on a call", "jump on a call", "calendar invite", "let's meet", "let's chat", "happy to chat",
    "free for a call", "available for a call", "what time works", "does tuesday", "does monday", "does wednesday",
    "does thursday", "does friday", "find a time", "grab a slot", "15 minutes", "20 minutes", "30 minutes",
    "telefonieren", "einen termin", "un appel", "rendez-vous", "une reunion", "una llamada", "una reunion",
    "een afspraak", "een gesprek", "una chiamata", "uma reuniao", "uma chamada",
)
NOT_NOW = (
    "not right now", "not now", "maybe later", "circle back", "next quarter", "next year", "in a few months",
    "check back", "reach out again", "follow up in", "bad timing", "timing isn't right", "not a priority right now",
    "not at this time", "not at the moment", "timing isn't great", "try me again", "after the summer", "no budget",
    "vielleicht spater", "im moment nicht", "derzeit nicht", "zurzeit nicht", "pas pour le moment", "pas maintenant",
    "recontactez", "ahora no", "mas adelante", "en otro momento", "niet nu", "non ora", "piu avanti", "agora nao",
    "mais tarde",
)
NOT_INTERESTED = (
    "not interested", "no thanks", "no thank you", "we're good", "we are good", "all set", "not a fit",
    "not a good fit", "we already have", "we already use", "don't need", "do not need", "pass on this", "not for us",
    "kein interesse", "pas interesse", "no estamos interesados", "no me interesa", "happy with our current",
    "we'll pass", "we will pass", "i'll pass", "nicht interessant", "uninteressant", "pas interessant",
    "niet geinteresseerd", "niet interessant", "non siamo interessati", "non mi interessa", "non interessat",
    "nao temos interesse", "nao tenho interesse", "sem interesse",
)
INTERESTED = (
    "i'm interested", "i am interested", "we're interested", "we are interested", "sounds good", "sounds interesting",
    "tell me more", "learn more", "send me more", "more info", "love to hear", "keen to", "let's talk", "let's do it",
    "count me in", "sign me up", "i'd be interested", "would be interested", "looks great", "send over", "yes please",
    "klingt interessant", "klingt gut", "mehr infos", "mehr informationen", "ca m'interesse", "en dire plus",
    "me interesa", "cuentame mas", "mas informacion", "interessant", "meer informatie", "mi interessa",
    "tenho interesse",
)
QUESTION_WORDS = (
    "how much", "what does", "how does", "what is", "can you", "could you", "do you",
)
# fmt: on
