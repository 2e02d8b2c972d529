#!/usr/bin/env bash
# The install pieces (sql/*.sql) and the update scripts follow the rules for
# extension scripts that run as superuser: objects are created in
# @extschema@ (or the extension's own segment_internal) by qualified name,
# @extschema@ never stands inside quotes (a string or a function body),
# nothing is created with CREATE OR REPLACE or IF NOT EXISTS (which would
# take over an object someone planted; update scripts may replace functions
# a released version had), and every function is in C or pins its
# search_path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
python3 - sql/*.sql <<'PY'
import glob
import re
import sys

def split(text):
    """(code, quoted) pieces, comments dropped: quoted is True for a string
    literal or a dollar-quoted body."""
    pieces, i, code = [], 0, []
    while i < len(text):
        if text.startswith('--', i):
            i = text.find('\n', i)
            i = len(text) if i < 0 else i
        elif text[i] == "'":
            j = i + 1
            while True:
                j = text.index("'", j)
                if text.startswith("''", j):
                    j += 2
                else:
                    break
            pieces.append((''.join(code), False)); code = []
            pieces.append((text[i:j + 1], True))
            i = j + 1
        elif text[i] == '$' and re.match(r'\$[A-Za-z_]*\$', text[i:]):
            tag = re.match(r'\$[A-Za-z_]*\$', text[i:]).group(0)
            j = text.index(tag, i + len(tag)) + len(tag)
            pieces.append((''.join(code), False)); code = []
            pieces.append((text[i:j], True))
            i = j
        else:
            code.append(text[i]); i += 1
    pieces.append((''.join(code), False))
    return pieces

def version(text):
    return tuple(int(n) for n in text.split('.'))

def functions_created(path):
    return set(re.findall(r'CREATE (?:OR REPLACE )?FUNCTION (?:@extschema@|segment_internal)\.(\w+)\(', open(path).read()))

# The functions a version before an update script had: those of the base
# script and of the update scripts that lead up to it.
updates = {}
for path in glob.glob('sql/segment--*--*.sql'):
    start, end = path.rsplit('/', 1)[-1][len('segment--'):-len('.sql')].split('--')
    updates[path] = (version(start), version(end))

def functions_before(update_path):
    start = updates[update_path][0]
    names = functions_created('sql/segment--0.1.0.sql')
    for path, (_, end) in updates.items():
        if end <= start:
            names |= functions_created(path)
    return names
problems = []
checked = 0
for path in sys.argv[1:]:
    if path.endswith('segment--0.1.0.sql'):
        continue   # released and frozen
    update = path in updates
    old_functions = functions_before(path) if update else set()
    text = open(path).read()
    pieces = split(text)
    # statements: split the code at semicolons, keeping quoted parts inside
    statements, current = [], []
    for piece, quoted in pieces:
        if quoted:
            if '@extschema@' in piece:
                problems.append(f'{path}: @extschema@ inside quotes: {piece[:60]!r}')
            current.append(("'...'", True))
            continue
        parts = piece.split(';')
        for k, part in enumerate(parts):
            current.append((part, False))
            if k < len(parts) - 1:
                statements.append(current); current = []
    for statement in statements:
        code = ' '.join(' '.join(p.split()) for p, q in statement if not q).strip()
        whole = ' '.join(p for p, q in statement)
        if not code.upper().startswith(('CREATE', 'ALTER', 'GRANT', 'COMMENT', 'SELECT', 'INSERT')):
            continue
        checked += 1
        m = re.match(r'CREATE (OR REPLACE )?(FUNCTION|TABLE|TYPE|AGGREGATE|OPERATOR CLASS|OPERATOR FAMILY|OPERATOR|VIEW|SEQUENCE) (IF NOT EXISTS )?(\S+)', code, re.I)
        if re.search(r'\bIF NOT EXISTS\b', code, re.I):
            problems.append(f'{path}: IF NOT EXISTS: {code[:80]}')
        if m:
            name = m.group(4)
            if not name.startswith(('@extschema@.', 'segment_internal.')):
                problems.append(f'{path}: not created in @extschema@ or segment_internal: {code[:80]}')
            if m.group(1):
                base = re.sub(r'\(.*', '', name.split('.', 1)[-1])
                if not (update and m.group(2).upper() == 'FUNCTION' and base in old_functions):
                    problems.append(f'{path}: CREATE OR REPLACE of what the extension did not have: {code[:80]}')
            if m.group(2).upper() == 'FUNCTION':
                if not re.search(r"\bLANGUAGE\s+(C|internal)\b", whole, re.I) and \
                   not re.search(r'\bSET search_path = pg_catalog,( segment_internal,)?( @extschema@,)? pg_temp\b', code):
                    problems.append(f'{path}: function without a fixed search_path: {code[:80]}')
for p in problems:
    print(p, file=sys.stderr)
if problems or checked < 100:
    print(f'{len(problems)} problems in {checked} statements', file=sys.stderr)
    sys.exit(1)
print(f'{checked} statements of the install and update scripts follow the rules')
PY
