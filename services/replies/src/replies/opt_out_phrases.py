"""Opt-out phrases, matched on folded text (lowercase, no accents). Add freely: a miss is a compliance failure.

"not interested" is deliberately absent: declining is not asking to be removed.
"""

# fmt: off
OPT_OUT = (
    # English
    "unsubscribe", "unsuscribe", "remove me", "remove us", "remove my email", "remove my address", "remove my name",
    "remove from your list", "off your list", "off your mailing list", "take me off", "take us off",
    "stop emailing", "stop e-mailing", "stop mailing", "stop sending", "stop contacting", "stop writing",
    "do not contact", "don't contact", "dont contact", "do not email", "don't email",
    "dont email", "do not e-mail", "don't e-mail", "never contact", "never email", "ever email me", "ever contact me",
    "no more emails", "no more e-mails", "any more emails", "any more e-mails", "anymore emails", "send me any more",
    "don't send me", "do not send me", "don't reach out", "do not reach out", "dont reach out",
    "not hear from you again", "never hear from you", "don't want to hear from", "do not want to hear from",
    "cease all", "cease contact", "cease communication", "cease and desist", "delete my data", "delete my details",
    "delete my information", "delete my personal", "erase my data", "opt out", "opt-out", "opt me out",
    "leave me alone",
    # French
    "desabonner", "desinscri", "me retirer de", "retirez-moi", "retirez moi", "ne plus recevoir",
    "ne me contactez plus", "ne plus m'ecrire", "ne m'ecrivez plus", "arretez de m'ecrire", "arretez de m'envoyer",
    "supprimez mes",
    # German
    "abmelden", "austragen", "abbestellen", "keine weiteren e-mails", "keine e-mails mehr", "keine mails mehr",
    "nicht mehr kontaktieren", "nicht mehr anschreiben", "aus ihrem verteiler", "aus dem verteiler",
    "aus ihrer liste", "streichen sie mich", "loschen sie meine daten", "keine werbung",
    # Spanish
    "darse de baja", "darme de baja", "dar de baja", "no me contacte", "no me escriba", "no me envien",
    "eliminenme", "eliminarme", "borrarme", "borrenme", "quitarme de", "sacarme de", "no quiero recibir",
    "dejen de escribir", "dejen de enviar",
    # Italian
    "cancellami", "cancellarmi", "cancellatemi", "disiscrivi", "non contattarmi", "non scrivermi", "rimuovermi",
    "rimuovetemi", "non voglio piu ricevere", "non inviatemi", "smettete di scrivermi",
    # Portuguese
    "descadastrar", "descadastre", "cancelar inscricao", "nao me contate", "me remova", "remova-me", "me remover",
    "remover meu", "nao quero mais receber", "nao quero receber", "parem de enviar", "parem de me enviar",
    # Dutch
    "afmelden", "uitschrijven", "van jullie lijst", "van uw lijst", "van je lijst", "mail mij niet meer",
    "mail me niet meer", "niet meer mailen", "niet meer e-mailen", "geen e-mails meer", "geen mails meer",
)
# A reply (or its first line) that is only this is an opt-out ("STOP", "Please stop.\nSent from my iPhone").
OPT_OUT_ALONE = frozenset(
    {"stop", "stop please", "please stop", "stop it", "remove", "remove please", "please remove", "unsubscribe",
     "unsub", "baja", "stopp", "stoppen"}
)
# A spam complaint: the sender reported us, or says so. Suppressed like an opt-out, with the sticky reason
# `complaint` (a complaint weighs on the sending domain's reputation: Gmail wants under 0.1%, never 0.3%).
COMPLAINT = (
    # English
    "reported as spam", "reported this as spam", "reported it as spam", "reported you as spam", "report this as spam",
    "report you as spam", "reporting you as spam", "reporting this as spam", "marked as spam", "marked this as spam",
    "marked you as spam", "marking this as spam", "marking you as spam", "flagged as spam", "flagged this as spam",
    "reported you for spam", "report you for spam", "reporting you for spam", "reported to spamcop",
    "reported you to your provider", "report you to your provider", "reported this to your provider",
    "this is spam", "this is unsolicited", "unsolicited spam", "stop spamming", "spamming me", "spam complaint",
    "abuse report", "reported for abuse", "reported you for abuse", "report you for abuse",
    # French, German, Spanish, Italian, Portuguese, Dutch
    "signale comme spam", "c'est du spam", "arretez de spammer", "als spam gemeldet", "als spam markiert",
    "das ist spam", "horen sie auf zu spammen", "marcado como spam", "reportado como spam", "esto es spam",
    "segnalato come spam", "questo e spam", "denunciado como spam", "isto e spam", "als spam gemarkeerd",
    "als spam gemeld", "dit is spam",
)
# Markers of an abuse report in the ARF format (RFC 5965), when the raw message reaches us.
ARF = ("message/feedback-report", "feedback-type: abuse")
# fmt: on
