"""Validate the hard techmatch evaluation set and print the figures quoted in README.md.

Usage: python3 eval/hard/check.py   (exits non-zero on any structural error)
Standard library only.
"""

import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CJK = re.compile(r"[\u4e00-\u9fff]")
CITIES = {
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
# county-level cities inside Liaoning that appear in the data
COUNTY = {"海城": "鞍山", "瓦房店": "大连", "庄河": "大连", "长海": "大连"}
LIAONING_INST = (
    "大连",
    "沈阳",
    "辽宁",
    "东北大学",
    "鞍山",
    "抚顺",
    "中科院金属所",
    "中国科学院金属研究所",
    "大工",
    "中国医科大学",
)
errors = []


def load(name):
    rows = []
    for n, line in enumerate((HERE / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            errors.append(f"{name}:{n}: bad JSON ({e})")
    return rows


def pct(a, b):
    return f"{a} ({100.0 * a / b:.1f}%)" if b else f"{a}"


specs = load("specialists.jsonl")
dems = load("demands.jsonl")
labels = load("labels.jsonl")
tags = load("demand_tags.jsonl")

# ---------- structure ----------
for name, rows, key in (
    ("specialists", specs, "id"),
    ("demands", dems, "id"),
    ("labels", labels, "demand_id"),
    ("demand_tags", tags, "demand_id"),
):
    ids = [r.get(key) for r in rows]
    dup = [i for i, c in Counter(ids).items() if c > 1]
    if dup:
        errors.append(f"{name}: duplicate ids {dup}")
    if None in ids:
        errors.append(f"{name}: row without {key}")
sid = {s["id"]: s for s in specs}
did = {d["id"]: d for d in dems}
for s in specs:
    if not re.fullmatch(r"s\d{3}", s["id"]):
        errors.append(f"bad specialist id {s['id']}")
    if not s.get("expertise"):
        errors.append(f"{s['id']}: empty expertise")
for d in dems:
    if not re.fullmatch(r"d\d{3}", d["id"]):
        errors.append(f"bad demand id {d['id']}")
    if not d.get("title"):
        errors.append(f"{d['id']}: empty title")
lab = {l["demand_id"]: l for l in labels}
tag = {t["demand_id"]: t for t in tags}
if set(lab) != set(did):
    errors.append(f"labels/demands mismatch: {sorted(set(lab) ^ set(did))[:10]}")
if set(tag) != set(did):
    errors.append(f"tags/demands mismatch: {sorted(set(tag) ^ set(did))[:10]}")
for l in labels:
    rel, gr = l.get("relevant", []), l.get("grades", {})
    if not 1 <= len(rel) <= 3:
        errors.append(f"{l['demand_id']}: {len(rel)} relevant ids")
    if len(set(rel)) != len(rel):
        errors.append(f"{l['demand_id']}: repeated relevant id")
    for i in rel:
        if i not in sid:
            errors.append(f"{l['demand_id']}: unknown specialist {i}")
    if set(gr) != set(rel) or any(g not in (1, 2) for g in gr.values()):
        errors.append(f"{l['demand_id']}: grades do not match relevant")
    if 2 not in gr.values():
        errors.append(f"{l['demand_id']}: no grade-2 specialist")
    if [gr.get(i) for i in rel] != sorted((gr.get(i, 0) for i in rel), reverse=True):
        errors.append(f"{l['demand_id']}: relevant not ordered by grade")


def dtext(d):
    return (d.get("title") or "") + (d.get("description") or "")


def is_en_spec(s):
    return not CJK.search(s.get("expertise", ""))


def is_en_dem(d):
    return not CJK.search(dtext(d))


for t in tags:
    d = did.get(t["demand_id"])
    if d is None:
        continue
    if t.get("register") not in ("lay", "technical"):
        errors.append(f"{t['demand_id']}: bad register")
    for ty in t.get("typos", []):
        if ty["written"] not in dtext(d):
            errors.append(f"{t['demand_id']}: typo '{ty['written']}' not in text")
        if ty["intended"] in dtext(d).replace(ty["written"], ""):
            pass  # the intended word may legitimately occur elsewhere
    for k in ("names_field", "cross_language"):
        if not isinstance(t.get(k), bool):
            errors.append(f"{t['demand_id']}: {k} not boolean")
    l = lab.get(t["demand_id"])
    if l and l["relevant"] and l["relevant"][0] in sid:
        cross = is_en_spec(sid[l["relevant"][0]]) != is_en_dem(d)
        if cross != t.get("cross_language"):
            errors.append(f"{t['demand_id']}: cross_language tag disagrees with the texts")

if errors:
    print("ERRORS:")
    for e in errors[:50]:
        print("  " + e)
    sys.exit(1)


# ---------- figures ----------
def origin(s):
    if is_en_spec(s):
        return "foreign"
    city = (s.get("city") or "").strip()
    if city in CITIES or city in COUNTY:
        return "liaoning"
    if not city and any(m in (s.get("institution") or "") for m in LIAONING_INST):
        return "liaoning"
    return "other_province"


ns = len(specs)
print(f"specialists: {ns}")
oc = Counter(origin(s) for s in specs)
for k in ("liaoning", "other_province", "foreign"):
    print(f"  {k:15s} {pct(oc[k], ns)}")
print(
    "  field gaps: institution missing %d / empty %d, city missing %d / empty %d, keywords missing %d / empty %d / one string %d"
    % (
        sum("institution" not in s for s in specs),
        sum(s.get("institution") == "" for s in specs),
        sum("city" not in s for s in specs),
        sum(s.get("city") == "" for s in specs),
        sum("keywords" not in s for s in specs),
        sum(s.get("keywords") == [] for s in specs),
        sum(isinstance(s.get("keywords"), str) for s in specs),
    )
)
el = [len(s["expertise"]) for s in specs]
print(
    f"  expertise length (chars): min {min(el)}, median {statistics.median(el):.0f}, max {max(el)}"
)

nd = len(dems)
en = [d for d in dems if is_en_dem(d)]
zh = [d for d in dems if not is_en_dem(d)]
print(f"\ndemands: {nd}")
print(f"  English            {pct(len(en), nd)}")
typo_d = [t for t in tags if t["typos"]]
typo_zh = [t for t in typo_d if not is_en_dem(did[t["demand_id"]])]
print(
    f"  with pinyin typos  {pct(len(typo_d), nd)}  (of Chinese demands: {100.0 * len(typo_zh) / len(zh):.1f}%), typos recorded: {sum(len(t['typos']) for t in tags)}"
)
lay = [t for t in tags if t["register"] == "lay"]
lay_zh = [t for t in lay if not is_en_dem(did[t["demand_id"]])]
print(
    f"  lay wording        {pct(len(lay), nd)}  (of Chinese demands: {100.0 * len(lay_zh) / len(zh):.1f}%)"
)
print(f"  names the field    {pct(sum(t['names_field'] for t in tags), nd)}")
print(
    f"  cross-language (best expert writes in the other language) {pct(sum(t['cross_language'] for t in tags), nd)}"
)
print(
    f"    Chinese demand, English-writing best expert  {sum(t['cross_language'] and not is_en_dem(did[t['demand_id']]) for t in tags)}"
)
print(
    f"    English demand, Chinese-writing best expert  {sum(t['cross_language'] and is_en_dem(did[t['demand_id']]) for t in tags)}"
)
ln = [len(dtext(d)) for d in dems]
print(
    f"  length (title+description chars): min {min(ln)}, median {statistics.median(ln):.0f}, max {max(ln)}; <40 chars {sum(x < 40 for x in ln)}, >150 chars {sum(x > 150 for x in ln)}"
)
print(f"  keywords non-empty {sum(bool(d.get('keywords')) for d in dems)}")
cf = Counter()
for d in dems:
    c = d.get("city")
    if c is None:
        cf["missing"] += 1
    elif c == "":
        cf["empty"] += 1
    elif c in CITIES:
        cf["chinese"] += 1
    elif c.endswith("市") and c[:-1] in CITIES:
        cf["chinese+市"] += 1
    elif c.lower() in CITIES.values():
        cf["pinyin/english"] += 1
    elif c in COUNTY:
        cf["county-level city"] += 1
    else:
        cf["other"] += 1
print("  city forms: " + ", ".join(f"{k} {v}" for k, v in cf.most_common()))
cities = Counter()
for d in dems:
    c = (d.get("city") or "").rstrip("市")
    c = {v: k for k, v in CITIES.items()}.get(c.lower(), COUNTY.get(c, c))
    if c:
        cities[c] += 1
print(f"  prefecture-level cities covered: {len([c for c in CITIES if cities[c]])} of 14")

print(
    f"\nlabels: {len(labels)}; relevant per demand: "
    + ", ".join(f"{k}: {v}" for k, v in sorted(Counter(len(l["relevant"]) for l in labels).items()))
)
g = Counter(v for l in labels for v in l["grades"].values())
print(f"  grades: 2 x {g[2]}, 1 x {g[1]}")
used = {i for l in labels for i in l["relevant"]}
print(
    f"  specialists relevant to at least one demand: {pct(len(used), ns)}; pure distractors {ns - len(used)}"
)
print(
    f"  demands with an English-writing relevant expert {sum(any(is_en_spec(sid[i]) for i in l['relevant']) for l in labels)}"
)


def kwset(x):
    k = x.get("keywords") or []
    if isinstance(k, str):
        k = re.split(r"[,，、;；]", k)
    return {w.strip().lower() for w in k if w.strip()}


nokw = 0
for d in dems:
    t = dtext(d).lower()
    if not any(w in t for i in lab[d["id"]]["relevant"] for w in kwset(sid[i])):
        nokw += 1
nokw_lay = sum(
    1
    for t in lay
    if not any(
        w in dtext(did[t["demand_id"]]).lower()
        for i in lab[t["demand_id"]]["relevant"]
        for w in kwset(sid[i])
    )
)
print(
    f"  demands whose text contains none of their relevant experts' keywords verbatim: {pct(nokw, nd)}; among lay demands: {pct(nokw_lay, len(lay))}"
)
print("\nOK: no structural errors")
