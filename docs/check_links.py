"""python docs/check_links.py: every relative markdown link (and image) under docs/ must point to an existing file, and
a #fragment to a heading
of the target page (GitHub's anchor rules). Run from the repository root; exit status 1 on any broken link."""

import re
import sys
from pathlib import Path

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def slug(heading: str) -> str:
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)  # GitHub drops punctuation but keeps word characters, hyphens and spaces
    return s.replace(" ", "-")


def anchors(md: Path) -> set[str]:
    out, seen = set(), {}
    in_code = False
    for line in md.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            out.add(s if n == 0 else f"{s}-{n}")
            seen[s] = n + 1
    return out


bad = 0
checked = 0
for md in sorted(Path("docs").rglob("*.md")):
    text = md.read_text()
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # links inside code blocks are not links
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+://|^mailto:", target):
            continue
        checked += 1
        path, _, frag = target.partition("#")
        dest = (md.parent / path).resolve() if path else md.resolve()
        if not dest.exists():
            print(f"{md}: missing {target}")
            bad += 1
        elif frag and dest.suffix == ".md" and frag not in anchors(dest):
            print(f"{md}: no heading #{frag} in {dest.relative_to(Path.cwd())}")
            bad += 1
print(f"{checked} relative links checked, {bad} broken")
sys.exit(1 if bad else 0)
