"""A protocol text per shared dataset, for the ranking experiments that use the review's
question beside the labels (`ranking_variants.py` scorer options `pr=`, `ps=`).

Built mechanically from ../shared/data/screening/datasets.json, never from the labelled
records:
- datasets with eligibility criteria (the 9 SYNERGY sets): the review's citation (which holds
  its title) and the criteria, as `ranking.py --cold-start` uses them;
- the others: the catalogue's `topic` (CamelCase split into words, e.g. "drug class review:
  Proton Pump Inhibitors") and the review's citation, except where that citation is a methods
  paper about screening rather than the review itself (Cohen_2006_*, Bannach-Brown_2019);
- the two CLEF 2019 topics with no title in the catalogue (CD010753, CD012069) get no text,
  so these variants rank them exactly as the default does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_METHODS_PAPER = ("Cohen_2006_", "Bannach-Brown_2019")


def protocol_texts(data: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for d in json.loads((data / "screening" / "datasets.json").read_text()):
        name = d["name"]
        if d.get("eligibility_criteria"):
            out[name] = f"{d.get('review', '')}\n{d['eligibility_criteria']}"
            continue
        if "(CLEF eHealth TAR 2019 topic)" in d["review"]:
            out[name] = ""
            continue
        topic = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", d["topic"])
        review = "" if name.startswith(_METHODS_PAPER) else d["review"]
        out[name] = f"{topic}\n{review}".strip()
    return out
