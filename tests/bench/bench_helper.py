#!/usr/bin/python3
"""Helpers of migration_bench.sh (stdlib only; run with Debian's /usr/bin/python3).

  snapshot --host H --port P [--ssl --ca CA] --user U --password PW --out F.json
      Per selectable folder: Message-ID, flags (without \\Recent), INTERNALDATE and
      RFC822.SIZE of every message, read with EXAMINE (read-only). Also warms the server's
      index and cache for these fields.
  compare --a A.json --b B.json [--strict] [--label L]
      Compares two snapshots folder by folder (A's non-empty folders; B must not hold
      messages in folders A lacks). Counts always; with --strict also the multiset of
      (Message-ID, flags, date, size) per folder, and exits 1 on any difference. Without
      --strict it only reports (exit 0 unless counts differ).
  rss-watch --pid P --out F.json [--interval S]
      Samples VmHWM of P and all its descendants every S seconds until P exits; writes
      {"comm": max_kib, ...} per process name (max over processes of that name) and
      {"<comm>#<pid>": kib} per process. Peak growth during the last interval before a
      process exits is missed (a lower bound); /usr/bin/time's %M is the authoritative
      figure for the largest waited-for process.
  table --results F.tsv [--rate-mbit R] [--corpus-bytes B] [--messages N]
      Prints the result table (see migration_bench.sh).
"""
import argparse
import collections
import imaplib
import json
import os
import re
import ssl
import sys
import time


def connect(a):
    if a.ssl:
        ctx = ssl.create_default_context(cafile=a.ca) if a.ca else ssl.create_default_context()
        c = imaplib.IMAP4_SSL(a.host, int(a.port), ssl_context=ctx)
    else:
        c = imaplib.IMAP4(a.host, int(a.port))
    c.login(a.user, a.password)
    return c


LIST_RE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?:"(?P<sep>[^"]*)"|NIL) (?P<name>.*)$')
FLAGS_RE = re.compile(rb'FLAGS \(([^)]*)\)')
DATE_RE = re.compile(rb'INTERNALDATE "([^"]+)"')
SIZE_RE = re.compile(rb'RFC822\.SIZE (\d+)')
MID_RE = re.compile(rb'^Message-ID:\s*(.*?)\s*$', re.I | re.M)


def list_folders(c):
    typ, data = c.list('""', '*')
    if typ != 'OK':
        raise RuntimeError('LIST failed: %r' % data)
    out = []
    for item in data:
        if isinstance(item, tuple):  # name sent as a literal
            head, lit = item
            m = LIST_RE.match(head.rstrip(b'{0123456789}').rstrip() + b' x')
            name = lit
            attrs = m.group('attrs') if m else b''
        else:
            m = LIST_RE.match(item)
            if not m:
                continue
            attrs, name = m.group('attrs'), m.group('name')
            if name.startswith(b'"') and name.endswith(b'"'):
                name = name[1:-1].replace(b'\\"', b'"').replace(b'\\\\', b'\\')
        if b'\\noselect' in attrs.lower() or b'\\nonexistent' in attrs.lower():
            continue
        out.append(name.decode('ascii', 'replace'))
    return sorted(out)


def quote(name):
    return '"' + name.replace('\\', '\\\\').replace('"', '\\"') + '"'


def snapshot(a):
    c = connect(a)
    result = {}
    for folder in list_folders(c):
        typ, data = c.select(quote(folder), readonly=True)
        if typ != 'OK':
            raise RuntimeError('EXAMINE %s failed: %r' % (folder, data))
        n = int(data[0])
        msgs = []
        if n > 0:
            typ, data = c.fetch(
                '1:*', '(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')
            if typ != 'OK':
                raise RuntimeError('FETCH in %s failed: %r' % (folder, data))
            i = 0
            while i < len(data):
                item = data[i]
                if isinstance(item, tuple):
                    head, lit = item
                    tail = data[i + 1] if i + 1 < len(data) and isinstance(data[i + 1], bytes) else b''
                    meta = head + b' ' + tail
                    fm, dm, sm = FLAGS_RE.search(meta), DATE_RE.search(meta), SIZE_RE.search(meta)
                    mm = MID_RE.search(lit or b'')
                    flags = sorted(f for f in (fm.group(1).decode().split() if fm else [])
                                   if f.lower() != '\\recent')
                    msgs.append({
                        'mid': mm.group(1).decode('ascii', 'replace') if mm else '',
                        'flags': flags,
                        'date': dm.group(1).decode() if dm else '',
                        'size': int(sm.group(1)) if sm else -1,
                    })
                i += 1
            if len(msgs) != n:
                raise RuntimeError('%s: EXISTS %d but parsed %d FETCH responses' % (folder, n, len(msgs)))
        result[folder] = msgs
    c.logout()
    with open(a.out, 'w') as f:
        json.dump(result, f)
    total = sum(len(v) for v in result.values())
    size = sum(m['size'] for v in result.values() for m in v)
    print('snapshot %s: %d folders, %d messages, %d bytes' % (a.user, len(result), total, size))


def compare(a):
    with open(a.a) as f:
        A = json.load(f)
    with open(a.b) as f:
        B = json.load(f)
    label = a.label or a.b
    problems = []
    notes = collections.Counter()
    for folder, am in sorted(A.items()):
        if not am:
            continue
        bm = B.get(folder)
        if bm is None:
            problems.append('%s: folder missing on B (A has %d messages)' % (folder, len(am)))
            continue
        if len(am) != len(bm):
            problems.append('%s: A has %d messages, B has %d' % (folder, len(am), len(bm)))
        key_full = lambda m: (m['mid'], tuple(m['flags']), m['date'], m['size'])
        if collections.Counter(map(key_full, am)) == collections.Counter(map(key_full, bm)):
            continue
        # Classify the differences by Message-ID.
        bi = collections.defaultdict(list)
        for m in bm:
            bi[m['mid']].append(m)
        for m in am:
            cands = bi.get(m['mid'])
            if not cands:
                notes['missing'] += 1
                continue
            o = cands.pop(0)
            if o['flags'] != m['flags']:
                notes['flags differ'] += 1
                if set(f for f in m['flags'] if not f.startswith('\\')) - set(o['flags']):
                    notes['keywords lost'] += 1
            if o['date'] != m['date']:
                notes['INTERNALDATE differs'] += 1
            if o['size'] != m['size']:
                notes['size differs'] += 1
        notes['extra on B'] += sum(len(v) for v in bi.values())
    for folder, bm in sorted(B.items()):
        if bm and folder not in A:
            problems.append('%s: %d messages on B in a folder A does not have' % (folder, len(bm)))
    detail = ', '.join('%s: %d' % kv for kv in sorted(notes.items()) if kv[1])
    count_ok = not problems
    if count_ok and not detail:
        print('verify %s: OK (every folder: same messages, flags, keywords, dates, sizes)' % label)
        return 0
    for p in problems:
        print('verify %s: %s' % (label, p))
    if detail:
        print('verify %s: per-message differences: %s' % (label, detail))
    if not count_ok:
        return 1
    return 1 if a.strict else 0


def descendants(root):
    kids = collections.defaultdict(list)
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(')') + 2:].split()
        kids[int(rest[1])].append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def rss_watch(a):
    per_proc = {}
    comm_of = {}
    while os.path.exists('/proc/%d' % a.pid):
        try:
            with open('/proc/%d/stat' % a.pid) as f:
                if f.read().rsplit(')', 1)[1].split()[0] == 'Z':
                    break
        except OSError:
            break
        for p in descendants(a.pid):
            try:
                with open('/proc/%d/status' % p) as f:
                    st = f.read()
            except OSError:
                continue
            m = re.search(r'^VmHWM:\s+(\d+) kB', st, re.M)
            n = re.search(r'^Name:\s+(\S+)', st, re.M)
            if m and n:
                per_proc[p] = max(per_proc.get(p, 0), int(m.group(1)))
                comm_of[p] = n.group(1)
        time.sleep(a.interval)
    out = {}
    for p, kib in per_proc.items():
        out[comm_of[p]] = max(out.get(comm_of[p], 0), kib)
        out['%s#%d' % (comm_of[p], p)] = kib
    with open(a.out, 'w') as f:
        json.dump(out, f)


def table(a):
    rows = []
    with open(a.results) as f:
        for line in f:
            if not line.strip() or line.startswith('#'):
                continue
            rows.append(line.rstrip('\n').split('\t'))
    # step tool round wall_s msgs bytes rss_kib wire_bytes note cpu_s
    best = {}
    best_cpu = {}  # (step, tool) -> least CPU seconds of its rounds
    for r in rows:
        step, tool, _, wall = r[0], r[1], r[2], float(r[3])
        key = (step, tool)
        best[key] = min(best.get(key, wall), wall)
        cpu = (r + [''] * 10)[9]
        if cpu not in ('', '-'):
            best_cpu[key] = min(best_cpu.get(key, float(cpu)), float(cpu))
    link = None
    if a.rate_mbit and a.rate_mbit > 0:
        link = a.corpus_bytes / (a.rate_mbit * 1e6 / 8)
    hdr = ('step', 'tool', 'rnd', 'wall s', 'msg/s', 'MB/s', 'peak RSS MB', 'CPU s', 'CPU s/GB',
           'wire MB', 'ours/mbsync', 'CPU ours/mbsync', 'ours/link', 'note')
    out = [hdr]
    for r in rows:
        step, tool, rnd, wall, msgs, nbytes, rss, wire, note, cpu = (r + [''] * 10)[:10]
        wall, msgs, nbytes = float(wall), int(msgs), int(nbytes)
        msgps = '%.0f' % (msgs / wall) if wall > 0 else '-'
        mbps = '%.1f' % (nbytes / 1e6 / wall) if wall > 0 else '-'
        rss_s = '%.1f' % (int(rss) / 1024.0) if rss not in ('', '-') else '-'
        wire_s = '%.1f' % (int(wire) / 1e6) if wire not in ('', '-') else '-'
        vs = '-'
        vl = '-'
        if tool == 'ours':
            other = best.get((step, 'mbsync'))
            if other:
                vs = '%.2f' % (wall / other)
            if step == 'validate':
                ex = best.get(('export', 'ours'))
                if ex:
                    vs = '-'
                    note = (note + ' ' if note else '') + 'validate/export=%.2f' % (wall / ex)
            elif link:
                vl = '%.2f' % (wall / link)
        elif link and step in ('export', 'import'):
            vl = '%.2f' % (wall / link)
        cpu_s = cpu if cpu not in ('', '-') else '-'
        cpu_gb = '%.1f' % (float(cpu) / (nbytes / 1e9)) if cpu_s != '-' and nbytes > 0 else '-'
        cpu_vs = '-'
        if tool == 'ours' and cpu_s != '-' and best_cpu.get((step, 'mbsync')):
            cpu_vs = '%.2f' % (float(cpu) / best_cpu[(step, 'mbsync')])
        out.append((step, tool, rnd, '%.2f' % wall, msgps, mbps, rss_s, cpu_s, cpu_gb, wire_s, vs,
                    cpu_vs, vl, note))
    widths = [max(len(str(row[i])) for row in out) for i in range(len(hdr))]
    for j, row in enumerate(out):
        print('  '.join(str(c).ljust(widths[i]) for i, c in enumerate(row)).rstrip())
        if j == 0:
            print('  '.join('-' * w for w in widths))
    print()
    print('corpus: %d messages, %.1f MB' % (a.messages, a.corpus_bytes / 1e6), end='')
    if link:
        print('; link %.0f Mbit/s => transfer time %.2f s for the corpus' % (a.rate_mbit, link))
    else:
        print('; no WAN emulator (loopback)')


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('snapshot')
    s.add_argument('--host', default='127.0.0.1')
    s.add_argument('--port', required=True)
    s.add_argument('--ssl', action='store_true')
    s.add_argument('--ca')
    s.add_argument('--user', required=True)
    s.add_argument('--password', required=True)
    s.add_argument('--out', required=True)
    c = sub.add_parser('compare')
    c.add_argument('--a', required=True)
    c.add_argument('--b', required=True)
    c.add_argument('--strict', action='store_true')
    c.add_argument('--label')
    r = sub.add_parser('rss-watch')
    r.add_argument('--pid', type=int, required=True)
    r.add_argument('--out', required=True)
    r.add_argument('--interval', type=float, default=0.1)
    t = sub.add_parser('table')
    t.add_argument('--results', required=True)
    t.add_argument('--rate-mbit', type=float, default=0)
    t.add_argument('--corpus-bytes', type=int, default=0)
    t.add_argument('--messages', type=int, default=0)
    a = p.parse_args()
    if a.cmd == 'snapshot':
        snapshot(a)
    elif a.cmd == 'compare':
        sys.exit(compare(a))
    elif a.cmd == 'rss-watch':
        rss_watch(a)
    elif a.cmd == 'table':
        table(a)


if __name__ == '__main__':
    main()
