"""Dispatching units: the university or institute a specialist's school, department or lab
belongs to, read from the name as typed. Rewards and the coordinators' figures count units,
so "大连理工大学材料科学与工程学院" and "大连理工大学" are one."""

from __future__ import annotations

import re

# The first that appears ends the unit's name, in this order: a university holds schools
# and institutes ("大连理工大学材料研究所"); an institute's name may hold an academy's
# ("中国科学院金属研究所" is the institute); a college is a unit of its own.
_ENDINGS = (("大学",), ("研究所", "研究院"), ("学院",))
_ENGLISH = ("university", "academy", "institute", "college")


def dispatching_unit(name: str) -> str:
    """The unit a name belongs to (the name itself when it is one)."""
    text = name.strip()
    for endings in _ENDINGS:
        found = [i + len(e) for e in endings if (i := text.find(e)) > 0]
        if found:
            return text[: min(found)]
    parts = [part.strip() for part in re.split(r"[,，;；]", text) if part.strip()]
    if len(parts) > 1:  # "School of Materials, Dalian University of Technology"
        for word in _ENGLISH:
            for part in parts:
                if word in part.casefold():
                    return part
    return text
