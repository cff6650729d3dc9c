"""Rule engine throughput: items/s for 10 to 10,000 rules, against a naive per-rule regex loop.

Run: ``python bench/rules.py`` (``--items N``, ``--sizes 10,100``, ``--quick``).

Items are generated wire dispatches of about 2 KB in French and English (numbers,
dates, negations, model names included), so normalization, number reading and
negation scopes are all paid for. Rules are generated YAML files loaded with
``load_rules`` exactly as the daemon does; reloading the largest set is timed too.
The naive baseline is what a simple tool does: one compiled regex per rule,
searched over the item's text, rule after rule.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import regex

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from watcher.models import Item  # noqa: E402
from watcher.rules import load_rules  # noqa: E402


def _words(text: str) -> list[str]:
    return text.split()


PLACES = _words(
    "Kiev Kyiv Kharkiv Odessa Dnipro Lviv Zaporijia Kherson Soumy Tchernihiv Poltava Mykolaïv Bruxelles "
    "Moscou Koursk Belgorod Donetsk Louhansk Crimée Sébastopol Varsovie Berlin Paris Washington Pyongyang "
    "Minsk"
)
NOUNS = _words(
    "drone missile obus char soldat troupe frappe attaque explosion centrale réseau pont dépôt raffinerie "
    "ambassadeur ministre sommet réunion sanction embargo navire frégate sous-marin radar batterie drone "
    "missile shell tank soldier troop strike attack explosion plant grid bridge depot refinery ambassador "
    "minister summit meeting sanction embargo ship frigate submarine radar battery"
)
ADJS = _words(
    "russe ukrainien balistique nucléaire militaire naval aérien énergétique nord-coréen iranien "
    "occidental russian ukrainian ballistic nuclear military naval aerial energy north-korean iranian "
    "western"
)
FILLER = _words(
    "selon le ministère de la Défense a indiqué mardi l’armée de l’air dans la nuit de lundi à mardi les "
    "autorités locales ont annoncé que des sites d’infrastructures essentielles ont été touchés the "
    "governor said on Telegram that air defence units were working over the region overnight officials "
    "told reporters the situation remained tense and no further details were given « Malheureusement » "
    "a-t-elle ajouté sans donner de précisions sur les dégâts ni sur les victimes"
)
NUMBERS = [
    "188", "quatre", "cent quatre-vingt-huit", "1 500", "plus de 200", "des milliers de", "une douzaine de",
    "au moins 12", "près de 300", "14", "twenty-one", "more than 90", "dozens of", "2,000", "deux",
]  # fmt: skip
DATES = ["mardi 26 novembre", "le 21 au mercredi 22 novembre", "en février 2022", "à 3 a.m.", "vers 0000 GMT"]
MODELS = ["Shahed-131/136", "Iskander-M", "Kh-59", "X-59", "S-400"]


REPEATS = 3

SYLLABLES = _words("ka ri no va le mo tu sa pe di zo ra ni ko be lu ma te vi go da si re po")


def vocabulary(n: int, rnd: random.Random) -> list[str]:
    """n distinct names (places, units, weapon systems a desk might follow), made of syllables."""
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rnd.choices(SYLLABLES, k=rnd.randint(3, 4))).capitalize())
    return sorted(out)


VOCAB = vocabulary(30_000, random.Random(7))


def make_items(n: int, rnd: random.Random) -> list[Item]:
    items = []
    for i in range(n):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < 2000:
            r = rnd.random()
            if r < 0.5:
                parts.append(" ".join(rnd.choices(FILLER, k=rnd.randint(6, 14))) + ",")
            elif r < 0.65:
                parts.append(f"{rnd.choice(NUMBERS)} {rnd.choice(NOUNS)}s {rnd.choice(ADJS)}s à {rnd.choice(PLACES)}.")
            elif r < 0.75:
                parts.append(f"{rnd.choice(DATES)}, {rnd.choice(NOUNS)} {rnd.choice(MODELS)}.")
            elif r < 0.9:
                # Named things: a Zipf-like draw, so a few names are everywhere and most are rare.
                name = VOCAB[min(int(rnd.paretovariate(0.6)) - 1, len(VOCAB) - 1)]
                parts.append(f"{rnd.choice(NUMBERS)} {name} {rnd.choice(NOUNS)}s à {rnd.choice(PLACES)}.")
            else:
                parts.append(f"{rnd.choice(NOUNS)} {rnd.choice(ADJS)} près de {rnd.choice(PLACES)}.")
        body = " ".join(parts)
        title = f"{rnd.choice(NOUNS).capitalize()} {rnd.choice(ADJS)} à {rnd.choice(PLACES)}"
        items.append(Item(source="bench", guid=str(i), title=title, body=body, language="fr"))
    return items


def rule_phrases(n: int, rnd: random.Random) -> list[list[str]]:
    """n rules' phrase lists: a name, sometimes with a second name or a "noun name" phrase."""
    out = []
    for i in range(n):
        name = VOCAB[(i * 7919) % len(VOCAB)]
        r = i % 3
        if r == 0:
            out.append([name])
        elif r == 1:
            out.append([name, VOCAB[(i * 104729 + 13) % len(VOCAB)]])
        else:
            out.append([f"{rnd.choice(NOUNS)} {name}", name + " " + rnd.choice(ADJS)])
    return out


def write_rules(folder: Path, phrases: list[list[str]]) -> None:
    lines = []
    for i, ps in enumerate(phrases):
        lines.append(f"- id: rule-{i}\n  title: Rule {i}\n  severity: medium")
        quoted = ", ".join(f'"{p}"' for p in ps)
        if i % 4 == 0:
            lines.append(f"  when:\n    count: [{quoted}]\n    at_least: {(i % 7) * 10}")
        elif i % 4 == 1:
            lines.append(f"  when:\n    all: [[{quoted}], {{not: [démenti, denied]}}]")
        else:
            lines.append(f"  when: [{quoted}]")
    per_file = 200  # two lines per rule, 100 rules per file: a rule base split by topic
    for k in range(0, len(lines), per_file):
        (folder / f"rules-{k // per_file:04d}.yaml").write_text("\n".join(lines[k : k + per_file]) + "\n", "utf-8")


def naive(phrases: list[list[str]], *, lower: bool) -> list[regex.Pattern[str]]:
    """One compiled regex per rule: case-insensitive, or over text lower-cased once per item."""
    if lower:
        return [regex.compile(r"\b(?:" + "|".join(regex.escape(p.lower()) for p in ps) + r")\b") for ps in phrases]
    return [regex.compile(r"\b(?:" + "|".join(regex.escape(p) for p in ps) + r")\b", regex.I) for ps in phrases]


def run_naive(patterns: list[regex.Pattern[str]], items: list[Item], *, lower: bool) -> float:
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        for item in items:
            text = item.title + "\n" + item.body
            if lower:
                text = text.lower()
            for p in patterns:
                p.search(text)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def measure(size: int, items: list[Item], naive_items: int) -> dict[str, float]:
    phrases = rule_phrases(size, random.Random(size))
    with tempfile.TemporaryDirectory() as tmp:
        write_rules(Path(tmp), phrases)
        t0 = time.perf_counter()
        rs = load_rules([Path(tmp)])
        load_s = time.perf_counter() - t0
        # Reload after editing one file, as the daemon does on SIGHUP or a file change.
        first = sorted(Path(tmp).glob("*.yaml"))[0]
        first.write_text(first.read_text("utf-8").replace("title: Rule 0\n", "title: Rule zero\n"), "utf-8")
        t0 = time.perf_counter()
        rs = load_rules([Path(tmp)])
        reload_s = time.perf_counter() - t0
    for item in items[:20]:  # warm the folding caches, as a running daemon has them
        rs.match(item)
    best = float("inf")
    for _ in range(REPEATS):  # best of a few runs: the machine is shared, the minimum is the engine's cost
        start = time.perf_counter()
        hits = sum(len(rs.match(item)) for item in items)
        best = min(best, time.perf_counter() - start)
    ips = len(items) / best
    sample = items[: min(len(items), naive_items, max(20, 200_000 // size))]  # the naive loop is slow
    naive_i = run_naive(naive(phrases, lower=False), sample, lower=False)
    naive_l = run_naive(naive(phrases, lower=True), sample, lower=True)
    return {
        "ips": ips,
        "hits": hits,
        "naive_i": naive_i,
        "naive_l": naive_l,
        "load": load_s,
        "reload": reload_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--naive-items", type=int, default=200, help="items timed for the naive baselines")
    ap.add_argument("--quick", action="store_true", help="200 items, for a smoke run")
    args = ap.parse_args()
    n_items = 200 if args.quick else args.items
    items = make_items(n_items, random.Random(20241126))
    avg = sum(len(i.title) + len(i.body) for i in items) / len(items)
    print(f"{len(items)} items, {avg:.0f} characters on average; one core; whole engine (normalization,")
    print("numbers, negation, evidence). naive: one regex per rule, /i = IGNORECASE, /lower = text lower-cased once")
    head = (
        "rules",
        "items/s",
        "hits",
        "naive/i",
        "naive/lower",
        "x naive/i",
        "x naive/lower",
        "load s",
        "reload s",
    )
    print(" ".join(f"{h:>13}" for h in head))
    results = {}
    for size in (int(s) for s in args.sizes.split(",")):
        r = results[size] = measure(size, items, args.naive_items)
        row = (
            f"{size}", f"{r['ips']:.0f}", f"{r['hits']:.0f}", f"{r['naive_i']:.0f}", f"{r['naive_l']:.0f}",
            f"{r['ips'] / r['naive_i']:.1f}x", f"{r['ips'] / r['naive_l']:.1f}x", f"{r['load']:.2f}",
            f"{r['reload']:.2f}",
        )  # fmt: skip
        print(" ".join(f"{c:>13}" for c in row), flush=True)
    if len(results) > 1:
        lo, hi = min(results), max(results)
        print(f"throughput at {hi} rules / at {lo} rules: {results[hi]['ips'] / results[lo]['ips']:.2f}")


if __name__ == "__main__":
    main()
