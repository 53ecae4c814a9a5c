#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The layering test (make check): every source file's includes and calls follow the directions
of the table below, which CONTRIBUTING.md explains. A violation prints the offending file and line
and fails the test.

    python3 tests/layering.py [SRCDIR]      check the tree (default: the tree this file is in)
    python3 tests/layering.py --self-test   check that a made-up upward include and an upward
                                            call are reported (so the test can fail)

Includes: every #include "x/y.h" is resolved to the layer that owns the header (config.h and
system headers are not checked). Calls: every name the layers' headers declare as a function is
owned by that layer; an identifier followed by "(" in another layer's file is a call into it
(member calls through ->/. and names the file defines itself are skipped). Comments and strings
are ignored.
"""
import fnmatch
import os
import re
import shutil
import sys
import tempfile

# ---- the table ----

# Folder (or file) prefix -> layer. The longest matching prefix wins.
LAYER_OF_PATH = {
    'include/mdp11/keyspec.h': 'keyspec',
    'include/mdp11/card-module.h': 'minidriver',
    'include/mdp11/pkcs11-vendor.h': 'pkcs11',
    'src/common/': 'common',
    'src/blob/': 'blob',
    'src/vcard/': 'vcard',
    'src/transport/': 'transport',
    'minidriver/': 'minidriver',
    'ksp/': 'ksp',
    'pkcs11/': 'pkcs11',
    'tools/': 'tools',
    'bench/': 'bench',
    'tests/plugin/': 'plugin',
}

# Layer -> the layers it may include and call (itself is always allowed). keyspec (the key-spec
# constants, include/mdp11/keyspec.h) depends on nothing and everyone may use it.
ALLOWED = {
    'keyspec': set(),
    'common': {'keyspec'},
    'blob': {'common', 'keyspec'},
    'vcard': {'common', 'keyspec'},
    'transport': {'vcard', 'common', 'keyspec'},
    'minidriver': {'transport', 'blob', 'common', 'keyspec'},
    'ksp': {'minidriver', 'transport', 'blob', 'common', 'keyspec'},
    'pkcs11': {'ksp', 'blob', 'common', 'keyspec'},
    # programs, on top
    'tools': {'ksp', 'minidriver', 'transport', 'vcard', 'blob', 'common', 'keyspec'},
    'bench': {'pkcs11', 'vcard', 'common', 'keyspec'},
    # an external card module sees only the installed interface
    'plugin': {'minidriver', 'keyspec'},
}
# Layers whose use of another layer is limited to its installed headers (include/mdp11/).
PUBLIC_ONLY = {'plugin'}

# Known violations being removed by a change in progress (issue #12 phase B used it while
# pkcs11/slot.c still reached the card modules and transports): (file pattern, layer it may not
# use, 'direct' include or call / 'via' a header's includes). Reported as pending, not failures;
# an entry that no longer matches anything fails the test, so the list can only shrink. Empty:
# the tree follows the table.
# (file pattern, layer it may not use, 'direct' include or call / 'via' a header's includes).
PENDING_VIOLATIONS = set()

# Where the quoted include "a/b.h" is looked up (AM_CPPFLAGS: -I. -Isrc -Iinclude).
INCLUDE_DIRS = ['', 'src/', 'include/']

SOURCE_DIRS = ['include/mdp11', 'src', 'minidriver', 'ksp', 'pkcs11', 'tools', 'bench',
               'tests/plugin']

KEYWORDS = {'if', 'for', 'while', 'switch', 'return', 'sizeof', 'defined', '__attribute__',
            'alignof', '_Alignof', '__typeof__', 'typeof', 'case', 'do', 'else', '_Static_assert',
            'offsetof', 'va_arg', '__builtin_expect'}

# ---- the check ----


def layer_of(rel):
    best = None
    for prefix, layer in LAYER_OF_PATH.items():
        if rel == prefix or (prefix.endswith('/') and rel.startswith(prefix)):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return best[1] if best else None


def strip_code(text):
    """Comments and string/char literals blanked, newlines kept (line numbers stay right)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(c + re.sub(r'[^\n]', ' ', text[i + 1:j]) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def source_files(top):
    for d in SOURCE_DIRS:
        base = os.path.join(top, d)
        if os.path.isfile(base):
            yield d
            continue
        for root, _, files in os.walk(base):
            for f in sorted(files):
                if f.endswith(('.c', '.h')):
                    yield os.path.relpath(os.path.join(root, f), top)


DECL = re.compile(r'\b([A-Za-z_]\w*)\s*\((?!\s*\*)')
CALL = re.compile(r'(->|\.)?\s*\b([A-Za-z_]\w*)\s*\((?!\s*\*)')
DEFN = re.compile(r'^([A-Za-z_]\w*)\s*\(', re.M)


def declared_functions(top, files):
    """Function name -> owning layer, from the declarations in every layer's headers."""
    owner = {}
    for rel in files:
        if not rel.endswith('.h'):
            continue
        layer = layer_of(rel)
        text = strip_code(open(os.path.join(top, rel), encoding='utf-8').read())
        text = re.sub(r'^\s*#.*(\\\n.*)*$', '', text, flags=re.M)  # preprocessor lines
        depth = 0
        stmt = []
        for ch in text:
            if ch == '{':
                depth += 1
            elif ch == '}':
                depth -= 1
            elif depth == 0:
                stmt.append(ch)
                if ch == ';':
                    s = ''.join(stmt)
                    stmt = []
                    m = DECL.search(s)
                    if m and m.group(1) not in KEYWORDS and not re.match(r'\s*typedef\b', s):
                        owner.setdefault(m.group(1), layer)
        # static inline helpers: a definition at the start of a line
        for m in DEFN.finditer(text):
            owner.setdefault(m.group(1), layer)
    return owner


def resolve_include(top, rel, name):
    here = os.path.dirname(rel)
    for d in [here + '/' if here else ''] + INCLUDE_DIRS:
        cand = os.path.normpath(d + name)
        if os.path.isfile(os.path.join(top, cand)):
            return cand
    return None


def closure(top, header):
    """(None, header) then (parent, h) for every header it includes, transitively."""
    seen, out, todo = {header}, [(None, header)], [header]
    while todo:
        h = todo.pop()
        for line in open(os.path.join(top, h), encoding='utf-8'):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m or m.group(1) == 'config.h':
                continue
            t = resolve_include(top, h, m.group(1))
            if t and t not in seen:
                seen.add(t)
                out.append((h, t))
                todo.append(t)
    return out


def check(top, pending=None):
    files = list(source_files(top))
    owner = declared_functions(top, files)
    problems = []
    pending_hits = []
    used = set()
    PENDING = PENDING_VIOLATIONS if pending is None else pending

    seen_via = {}

    def report(rel, target_layer, msg, kind='direct', key=None):
        if key is not None:
            # a header bringing a forbidden one: said once, with the number of files it reaches
            if key in seen_via:
                seen_via[key][1] += 1
                return
            seen_via[key] = [msg, 1]
        for entry in PENDING:
            if fnmatch.fnmatch(rel, entry[0]) and entry[1:] == (target_layer, kind):
                used.add(entry)
                if key is None:
                    pending_hits.append(msg)
                else:
                    seen_via[key].append('pending')
                return
        if key is None:
            problems.append(msg)
    for rel in files:
        layer = layer_of(rel)
        if layer is None:
            continue
        allowed = ALLOWED[layer] | {layer}
        raw = open(os.path.join(top, rel), encoding='utf-8').read()
        code = strip_code(raw)
        lines = raw.split('\n')
        for no, line in enumerate(lines, 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m or m.group(1) == 'config.h':
                continue
            target = resolve_include(top, rel, m.group(1))
            if target is None:
                continue  # generated or not in the tree: the compiler checks it
            # the header and everything it brings along (a public header that includes a lower
            # layer's header hands that layer to every file that includes it)
            for via, hdr in closure(top, target):
                tl = layer_of(hdr)
                public = hdr.startswith('include/')
                what = '"%s"' % m.group(1) if via is None else \
                    '"%s", which brings %s' % (m.group(1), hdr)
                kind = 'direct' if via is None else 'via'
                key = None if via is None else (layer, target, hdr)
                if tl is None:
                    report(rel, tl, '%s:%d: includes %s, which belongs to no layer' %
                           (rel, no, what), kind, key)
                elif tl not in allowed or (layer in PUBLIC_ONLY and tl != layer and
                                           not public):
                    report(rel, tl, '%s:%d: includes %s (layer %s); %s may use %s' %
                           (rel, no, what, tl, layer, ', '.join(sorted(allowed))), kind, key)
        own = set(DEFN.findall(code))
        for m in CALL.finditer(code):
            member, name = m.group(1), m.group(2)
            if member or name in KEYWORDS or name in own or name not in owner:
                continue
            tl = owner[name]
            if tl in allowed:
                continue
            no = code.count('\n', 0, m.start(2)) + 1
            report(rel, tl, '%s:%d: calls %s() (layer %s); %s may use %s' %
                   (rel, no, name, tl, layer, ', '.join(sorted(allowed))))
    for msg, count, *pend in seen_via.values():
        if count > 1:
            msg += ' (and %d more files)' % (count - 1)
        (pending_hits if pend else problems).append(msg)
    stale = sorted(PENDING - used)
    return files, problems, pending_hits, stale


def self_test(verbose=False):
    """A tree with one upward include and one upward call: both must be reported."""
    tmp = tempfile.mkdtemp(prefix='mdp11-layering.')
    try:
        def put(rel, text):
            p = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, 'w', encoding='utf-8') as f:
                f.write(text)
        put('src/common/log.h', 'void log_line(const char *s);\n')
        put('ksp/ksp.h', '#include "common/log.h"\nint ksp_open(void);\n')
        put('src/common/log.c', '#include "config.h"\n#include "common/log.h"\n'
            '/* ksp_open() in a comment is no call */\n'
            'void\nlog_line(const char *s)\n{\n\t(void)s;\n\t(void)"ksp_open()";\n}\n')
        put('src/blob/blob.c', '#include "ksp/ksp.h"\nint\nblob_x(void)\n{\n'
            '\treturn ksp_open();\n}\n')
        put('pkcs11/slot.c', '#include "ksp/ksp.h"\nint\nslot_x(void)\n{\n'
            '\treturn ksp_open();\n}\n')
        _, problems, _, _ = check(tmp, pending=set())
        want = ['src/blob/blob.c:1: includes "ksp/ksp.h"', 'src/blob/blob.c:5: calls ksp_open()']
        ok = len(problems) == 2 and all(any(p.startswith(w) for p in problems) for w in want)
        if not ok or verbose:
            for p in problems:
                print('  self-test reported: ' + p)
        return ok
    finally:
        shutil.rmtree(tmp)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--self-test':
        ok = self_test(verbose=True)
        print('layering self-test: ' + ('the made-up violations were reported' if ok else
                                         'FAILED: the check missed a violation'))
        return 0 if ok else 1
    top = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        'top_srcdir', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
    if not self_test():
        print('FAIL: the layering check missed a made-up violation (see --self-test)')
        return 1
    files, problems, pending, stale = check(top)
    for p in pending:
        print('pending: ' + p)
    for p in problems:
        print(p)
    for f, l, k in stale:
        print('%s: the pending entry (%s, %s) matches nothing: remove it from '
              'PENDING_VIOLATIONS' % (f, l, k))
    print('layering: %d files, %d violations, %d pending' % (len(files), len(problems),
                                                             len(pending)))
    return 1 if problems or stale else 0


if __name__ == '__main__':
    sys.exit(main())
