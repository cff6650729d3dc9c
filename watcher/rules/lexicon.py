"""The French and English words the number reader and the negation scope depend on.

Kept apart from the algorithms so that adding a word (a month abbreviation, a
qualifier a desk uses) is a one-line change that cannot break the logic.
Every word is in folded form (lower case, no accents): compare with ``Token.norm``.
"""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


MONTHS = words(
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec janv fev avr juil"
)
WEEKDAYS = words(
    "lundi mardi mercredi jeudi vendredi samedi dimanche monday tuesday wednesday thursday friday saturday sunday"
)
TIME_AFTER = words("h heure heures gmt utc cet cest est edt pst bst am pm hrs")
AGE_PREV = words("age agee agees ages aged")
PERCENT = words("percent pourcent pc")

UNITS_FR = words(
    "zero un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize "
    "vingt vingts trente quarante cinquante soixante cent cents mille"
)
UNITS_EN = words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand"
)
NUMBER_WORDS = UNITS_FR | UNITS_EN
ARTICLES = words("un une a an")
JOINERS = words("et and")
SCALES = {
    "million": 1e6, "millions": 1e6, "milliard": 1e9, "milliards": 1e9, "billion": 1e9, "billions": 1e9,
    "trillion": 1e12, "trillions": 1e12, "mille": 1e3, "thousand": 1e3, "mln": 1e6, "mds": 1e9, "bn": 1e9,
}  # fmt: skip
COLLECTIVES = {
    "dizaine": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20, "trentaine": 30, "quarantaine": 40,
    "cinquantaine": 50, "soixantaine": 60, "centaine": 100, "millier": 1000, "dozen": 12, "score": 20,
}  # fmt: skip
# Plural collectives: "des milliers" says at least two thousand.
VAGUE = {
    "dizaines": 10, "douzaines": 12, "vingtaines": 20, "centaines": 100, "milliers": 1000,
    "millions": 1_000_000, "milliards": 1_000_000_000, "dozens": 12, "tens": 10, "scores": 20,
    "hundreds": 100, "thousands": 1000, "billions": 1_000_000_000,
}  # fmt: skip
# Model names: a number right after one ("Shahed 136", "Tu 95", "Storm Shadow 2") is a designator.
# The short ones (<= 3 letters) count only when capitalized as written: "Tu 95", not French "tu".
MODELS = words(
    """shahed geran iskander kinjal kinzhal kalibr kh s tu su mig f patriot himars atacms taurus tb bayraktar
    tochka zircon tsirkon oreshnik orechnik kn x tomahawk shadow scalp lancet grad smerch uragan buk tor
    pantsir nasams iris leopard abrams bradley challenger mi ka yak mirage rafale gripen"""
)
# Money is never a count of anything but itself: "$500 million drone contract" is not 500 million drones.
CURRENCY_SIGNS = frozenset("$€£¥₽₴")
CURRENCY_CODES = words("usd eur gbp rub uah chf cny jpy")
CURRENCIES = CURRENCY_CODES | words(
    """dollar dollars euro euros livre livres pound pounds sterling hryvnia hryvnias hryvnas hryvnya grivna
    grivnas rouble roubles ruble rubles yen yuan franc francs"""
)
# Vague small plurals: "plusieurs drones" is at least two, "quelques drones" two to nine.
SMALL = {"plusieurs": 0, "several": 0, "quelques": 9, "few": 9}  # word -> highest multiple (0: no limit)
HALF = words("half demi")
COUNT_DETERMINERS = words("les des ces nos leurs the these those its their his her our")
VAGUE_DET = words("des les plusieurs quelques several many de")
OF = words("de of d")

# Qualifiers, longest first. Kinds: gt (more than), ge (at least), almost (just under), le (at most),
# lt (less than), about (about N, read as N).
QUALIFIERS: list[tuple[tuple[str, ...], str]] = sorted(
    [
        (("plus", "de"), "gt"), (("more", "than"), "gt"), (("over",), "gt"), (("above",), "gt"),
        (("in", "excess", "of"), "gt"), (("au", "dela", "de"), "gt"), (("upwards", "of"), "gt"),
        (("well", "over"), "gt"), (("bien", "plus", "de"), "gt"), (("largement", "plus", "de"), "gt"),
        (("au", "moins"), "ge"), (("at", "least"), "ge"), (("pas", "moins", "de"), "ge"),
        (("no", "fewer", "than"), "ge"), (("no", "less", "than"), "ge"), (("not", "less", "than"), "ge"),
        (("a", "minimum", "of"), "ge"), (("au", "minimum"), "ge"), (("minimum",), "ge"),
        (("pres", "de"), "almost"), (("presque",), "almost"), (("quasiment",), "almost"),
        (("almost",), "almost"), (("nearly",), "almost"), (("close", "to"), "almost"),
        (("just", "under"), "almost"), (("pas", "loin", "de"), "almost"),
        (("un", "peu", "moins", "de"), "almost"),
        (("jusque", "a"), "le"), (("up", "to"), "le"), (("as", "many", "as"), "le"), (("au", "plus"), "le"),
        (("at", "most"), "le"), (("au", "maximum"), "le"), (("no", "more", "than"), "le"),
        (("not", "more", "than"), "le"), (("pas", "plus", "de"), "le"), (("maximum",), "le"),
        (("moins", "de"), "lt"), (("less", "than"), "lt"), (("fewer", "than"), "lt"), (("under",), "lt"),
        (("below",), "lt"),
        (("environ",), "about"), (("about",), "about"), (("some",), "about"), (("around",), "about"),
        (("roughly",), "about"), (("approximately",), "about"), (("an", "estimated"), "about"),
        (("quelque",), "about"), (("autour", "de"), "about"), (("approximativement",), "about"),
        (("une", "estimation", "de"), "about"), (("env",), "about"),
    ],
    key=lambda q: -len(q[0]),
)  # fmt: skip
# Words between X and Y in "X des Y", "X out of Y", "X sur Y": both count the same term.
LINKS: list[tuple[str, ...]] = sorted(
    [("des",), ("de", "ces"), ("de", "entre", "les"), ("parmi", "les"), ("sur",), ("of",), ("of", "the"),
     ("out", "of"), ("out", "of", "the"), ("among", "the"), ("de", "les")],
    key=len, reverse=True,
)  # fmt: skip

NEGATIONS = words("sans pas aucun aucune ni non jamais rien no not without never nor none nobody neither nothing")
# Negates only when "ne" follows: "personne n'a été blessé", not "une personne a été blessée".
NEGATIONS_WITH_NE = words("personne nul nulle")
# "not only", "pas seulement", "sans doute", "no more than": the cue does not deny what follows.
NOT_NEGATING = words("seulement only just moins plus more less fewer longer doute loin que")
# Function words: never a modifier between a number and its term ("188 attaques de drones" is not 188 drones).
STOP = words(
    """de des du le la les un une et ou a au aux en dans par pour sur avec que qui ne se ce il elle ils elles
    on ont est sont ete etait fut y dont the of and or to in on at by for with from an is are was were be
    been has have had that which who than as per cent into onto this these those its their his her"""
)
