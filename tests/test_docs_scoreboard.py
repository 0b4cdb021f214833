"""The scoreboard at the top of docs/results.md stays honest: every number in its "ours" and
"per-image statistic" columns appears in the body of the page (where its command is), and every
verdict is one of the four words the page defines."""
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / 'docs' / 'results.md'
VERDICTS = ('reproduced', 'not reproduced', 'contradicted', 'not tested')
NUMBER = re.compile(r'(?<![\w.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?(?![\w.])')


def split_page(text):
    """``(scoreboard section, the rest of the page)``."""
    start = text.index('## Scoreboard')
    end = text.index('\n## ', start + 1)
    return text[start:end], text[:start] + text[end:]


def table(section):
    lines = [ln for ln in section.splitlines() if ln.startswith('|')]
    header = [c.strip() for c in lines[0].strip('|').split('|')]
    return header, [[c.strip() for c in ln.strip('|').split('|')] for ln in lines[2:]]


def problems(section, body):
    """Rows with an undefined verdict, and ``(claim, number)`` of numbers not found in ``body``."""
    header, rows = table(section)
    ours, stat, verdict = header.index('ours'), header.index('per-image statistic'), header.index('verdict')
    found = []
    for row in rows:
        if len(row) != len(header):
            found.append((row[0], f'{len(row)} cells, the header has {len(header)}'))
            continue
        if not any(row[verdict].lower().startswith(v) for v in VERDICTS):
            found.append((row[0], f'verdict {row[verdict]!r}'))
        for col in (ours, stat):
            for number in NUMBER.findall(row[col]):
                if '.' not in number and float(number.replace(',', '').lstrip('+-')) < 10:
                    continue  # counts of folds, seeds, runs
                if number not in body:
                    found.append((row[0], number))
    return found


def test_scoreboard_numbers_are_in_the_sections_below():
    section, body = split_page(RESULTS.read_text())
    assert len(table(section)[1]) >= 12
    assert problems(section, body) == []


def test_the_check_finds_a_number_only_the_scoreboard_has():
    section, body = split_page(RESULTS.read_text())
    header, rows = table(section)
    ours = header.index('ours')
    line = next(ln for ln in section.splitlines() if ln.startswith('|') and f'| {rows[0][ours]} |' in ln)
    forged = section.replace(line, line.replace(f'| {rows[0][ours]} |', f'| {rows[0][ours]} 12345.678 |', 1))
    assert (rows[0][0], '12345.678') in problems(forged, body)
    assert any('verdict' in why for _, why in problems(section.replace('| not tested', '| maybe', 1), body))
