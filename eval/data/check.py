"""Validate the techmatch evaluation set and print the proportions quoted in README.md.

Usage: python eval/data/check.py   (exits non-zero on any structural error)
Only the standard library is used.
"""

import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CJK = re.compile(r"[\u4e00-\u9fff]")

CITIES = {  # Chinese name -> accepted pinyin / English spellings (lower case)
    "沈阳": "shenyang",
    "大连": "dalian",
    "鞍山": "anshan",
    "抚顺": "fushun",
    "本溪": "benxi",
    "丹东": "dandong",
    "锦州": "jinzhou",
    "营口": "yingkou",
    "阜新": "fuxin",
    "辽阳": "liaoyang",
    "盘锦": "panjin",
    "铁岭": "tieling",
    "朝阳": "chaoyang",
    "葫芦岛": "huludao",
}
PINYIN = {v: k for k, v in CITIES.items()}
# institution fragments that place a specialist in Liaoning when the city field is empty or missing
LIAONING_INST = (
    "大连",
    "沈阳",
    "辽宁",
    "东北大学",
    "鞍钢",
    "本钢",
    "抚顺",
    "渤海大学",
    "中国医科大学",
    "营口",
    "大工",
    "中科院金属所",
    "中国科学院金属研究所",
    "东软",
    "新松",
    "辽河",
)

errors = []


def load(name):
    rows = []
    for n, line in enumerate((HERE / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            errors.append(f"{name}:{n}: blank line")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{name}:{n}: {e}")
            continue
        if not isinstance(obj, dict):
            errors.append(f"{name}:{n}: not an object")
            continue
        rows.append(obj)
    return rows


def is_english(text):
    text = (text or "").strip()
    return bool(text) and not CJK.search(text)


def city_form(c):
    if c is None:
        return "missing"
    c = c.strip()
    if not c:
        return "empty"
    if c in CITIES:
        return "chinese"
    if c.endswith("市") and c[:-1] in CITIES:
        return "chinese+市"
    if c.lower().replace(" city", "") in PINYIN:
        return "pinyin/english"
    return "OTHER:" + c


specs = load("specialists.jsonl")
dems = load("demands.jsonl")
labels = load("labels.jsonl")
tags = load("demand_tags.jsonl")

# ---- structure -------------------------------------------------------------
sids = [s.get("id") for s in specs]
dids = [d.get("id") for d in dems]
for kind, ids, pat in (("specialist", sids, r"s\d{3}"), ("demand", dids, r"d\d{3}")):
    for i in ids:
        if not isinstance(i, str) or not re.fullmatch(pat, i):
            errors.append(f"bad {kind} id {i!r}")
    for i, c in Counter(ids).items():
        if c > 1:
            errors.append(f"duplicate {kind} id {i}")
for s in specs:
    for f in ("name", "expertise", "institution", "city"):
        if f in s and not isinstance(s[f], str):
            errors.append(f"{s['id']}: {f} not a string")
    if "keywords" in s and not (
        isinstance(s["keywords"], list) and all(isinstance(k, str) for k in s["keywords"])
    ):
        errors.append(f"{s['id']}: keywords not a list of strings")
    if len(s.get("keywords") or []) > 8:
        errors.append(f"{s['id']}: more than 8 keywords")
for d in dems:
    if not (d.get("title") or d.get("description")):
        errors.append(f"{d['id']}: no text")
    if "keywords" in d and not isinstance(d["keywords"], list):
        errors.append(f"{d['id']}: keywords not a list")
    if city_form(d.get("city")).startswith("OTHER"):
        errors.append(f"{d['id']}: city {d.get('city')!r} is not a Liaoning city")

sidset, didset = set(sids), set(dids)
labelled = Counter(l.get("demand_id") for l in labels)
for l in labels:
    if l.get("demand_id") not in didset:
        errors.append(f"label for unknown demand {l.get('demand_id')}")
    rel = l.get("relevant")
    if not isinstance(rel, list) or not 1 <= len(rel) <= 3 or len(set(rel)) != len(rel):
        errors.append(f"{l.get('demand_id')}: relevant must be 1-3 distinct ids")
        continue
    for r in rel:
        if r not in sidset:
            errors.append(f"{l['demand_id']}: unknown specialist {r}")
    g = l.get("grades", {})
    if set(g) != set(rel) or any(v not in (1, 2) for v in g.values()):
        errors.append(f"{l['demand_id']}: grades do not match relevant")
    if rel != sorted(rel, key=lambda r: -g.get(r, 0)):
        errors.append(f"{l['demand_id']}: relevant not ordered best-first")
for d in dids:
    if labelled[d] != 1:
        errors.append(f"demand {d} labelled {labelled[d]} times")
tagmap = {t["demand_id"]: t for t in tags}
if set(tagmap) != didset:
    errors.append("demand_tags.jsonl does not cover exactly the demands")
for t in tags:
    d = next((x for x in dems if x["id"] == t["demand_id"]), {})
    text = d.get("title", "") + d.get("description", "")
    for ty in t.get("typos", []):
        if ty["written"] not in text:
            errors.append(f"{t['demand_id']}: typo {ty['written']} not in text")

if errors:
    print("\n".join(errors))
    sys.exit(1)


# ---- proportions -----------------------------------------------------------
def pct(n, total):
    return f"{n} ({100 * n / total:.1f}%)"


spec_by_id = {s["id"]: s for s in specs}
foreign = {s["id"] for s in specs if is_english(s.get("expertise"))}


def origin(s):
    if s["id"] in foreign:
        return "foreign"
    c = (s.get("city") or "").strip().removesuffix("市")
    if c in CITIES or c.lower() in PINYIN:
        return "liaoning"
    if not c and any(f in (s.get("institution") or "") for f in LIAONING_INST):
        return "liaoning"
    return "other_province"


orig = Counter(origin(s) for s in specs)
S = len(specs)
print(f"specialists: {S}")
for k in ("liaoning", "other_province", "foreign"):
    print(f"  {k:15s} {pct(orig[k], S)}")
print(
    "  field gaps: "
    + ", ".join(
        f"{f} missing {sum(f not in s for s in specs)} / empty {sum(f in s and not s[f] for s in specs)}"
        for f in ("name", "institution", "city", "keywords", "expertise")
    )
)
print(
    f"  keywords per specialist: median {statistics.median(len(s.get('keywords') or []) for s in specs)}, "
    f"max {max(len(s.get('keywords') or []) for s in specs)}"
)

D = len(dems)
text = {d["id"]: (d.get("title") or "") + " " + (d.get("description") or "") for d in dems}
english = {i for i, t in text.items() if is_english(t)}
typo = {i for i, t in tagmap.items() if t["typos"]}
lay = {i for i, t in tagmap.items() if t["register"] == "lay"}
lens = [len((d.get("title") or "") + (d.get("description") or "")) for d in dems]
print(f"\ndemands: {D}")
print(f"  English            {pct(len(english), D)}")
print(
    f"  with pinyin typos  {pct(len(typo), D)}  (of Chinese demands: {100 * len(typo) / (D - len(english)):.1f}%)"
)
print(
    f"  lay wording        {pct(len(lay), D)}  (of Chinese demands: {100 * len(lay - english) / (D - len(english)):.1f}%)"
)
print(
    f"  length (title+description chars): min {min(lens)}, median {statistics.median(lens)}, max {max(lens)}; "
    f"<40 chars {sum(x < 40 for x in lens)}, >300 chars {sum(x > 300 for x in lens)}"
)
print(f"  keywords empty or missing {pct(sum(not d.get('keywords') for d in dems), D)}")
print(
    "  city forms: "
    + ", ".join(
        f"{k} {v}" for k, v in Counter(city_form(d.get("city")) for d in dems).most_common()
    )
)

L = len(labels)
nrel = Counter(len(l["relevant"]) for l in labels)
with_foreign = [l for l in labels if any(r in foreign for r in l["relevant"])]
cross = [l for l in with_foreign if l["demand_id"] not in english]
en_to_cn = [
    l for l in labels if l["demand_id"] in english and any(r not in foreign for r in l["relevant"])
]
print(
    f"\nlabels: {L}; relevant per demand: "
    + ", ".join(f"{k}: {v}" for k, v in sorted(nrel.items()))
)
print(f"  demands with a foreign (English-writing) relevant expert {pct(len(with_foreign), L)}")
print(f"    of which the demand is Chinese (cross-language)      {len(cross)}")
print(
    f"  English demands with a Chinese-writing relevant expert  {len(en_to_cn)} of {len(english)}"
)


def overlap(did):
    t = text[did].lower()
    kws = {
        k.lower()
        for r in next(l for l in labels if l["demand_id"] == did)["relevant"]
        for k in (spec_by_id[r].get("keywords") or [])
        if len(k) >= 2
    }
    return any(k in t for k in kws)


no_overlap = [d for d in dids if not overlap(d)]
print(
    f"  demands sharing no keyword (verbatim) with any relevant expert: {pct(len(no_overlap), D)}; "
    f"among lay demands: {pct(len([d for d in no_overlap if d in lay]), len(lay))}"
)
with_kw = [d for d in dems if d.get("keywords")]
kw_hit = [
    d
    for d in with_kw
    if {k.lower() for k in d["keywords"]}
    & {
        k.lower()
        for r in next(l for l in labels if l["demand_id"] == d["id"])["relevant"]
        for k in (spec_by_id[r].get("keywords") or [])
    }
]
print(
    f"  demands with own keywords: {len(with_kw)}; of these sharing an exact keyword with a relevant expert: {len(kw_hit)}"
)
used = {r for l in labels for r in l["relevant"]}
print(
    f"  specialists relevant to at least one demand: {pct(len(used), S)} (the rest are distractors)"
)
print(
    "\nOK: all lines parse, ids unique, every label refers to existing ids, every demand labelled once."
)
