#!/usr/bin/env python3
"""Where a LeNet-5 image's time goes, per layer and per innermost function, from a perf profile.

    B=$(cargo bench --bench conv --no-run 2>&1 | grep -o 'target/[^)]*conv-[0-9a-f]*')
    perf record -F 1999 --call-graph dwarf,16384 -o lenet.data -- \
        $B --bench --profile-time 5 '^lenet5/modern/f32-auto$'
    perf script -i lenet.data --inline -F ip,sym > lenet.script
    python3 scripts/perf_layers.py lenet.script conv1+pool1,conv2+pool2,fc1,fc2,fc3

Samples are grouped by the call site inside `Lenet5*::logits*` they pass through (call sites
in address order, which is the source order of the layers: the names given on the command line
label them in that order; sites with under 0.5 % of the samples are left out), and within each
by the innermost tinyconv (or libc mem*) frame, with inlined functions resolved by perf.
Only the Python standard library is used.
"""
import re, sys, collections
text = open(sys.argv[1]).read()
names = sys.argv[2].split(",")
site = collections.Counter(); inner = collections.defaultdict(collections.Counter); total = 0
def nm(l):
    return re.sub(r"^[0-9a-f]+ ", "", l.strip()).replace(" (inlined)", "")
for s in text.split("\n\n"):
    lines = [l for l in s.splitlines() if l.strip()]
    idx = next((i for i, l in enumerate(lines) if re.search(r"Lenet5(I8|F32)<P>::logits(_u8)?$", l.strip())), None)
    if idx is None:
        continue
    total += 1
    ip = int(lines[idx].split()[0], 16)
    fr = [nm(l) for l in lines[:idx]]
    leaf = next((f for f in fr if f.startswith("tinyconv::") or "mem" in f), fr[0] if fr else "?")
    site[ip] += 1
    inner[ip][re.sub(r"<.*?>", "<_>", leaf)] += 1
sites = sorted(site)
big = [ip for ip in sites if site[ip] / total >= 0.005]
print(f"samples under logits: {total}")
for k, ip in enumerate(big):
    label = names[k] if k < len(names) else hex(ip)
    print(f"{100 * site[ip] / total:5.1f} %  {label}")
    for f, v in inner[ip].most_common(6):
        print(f"          {100 * v / total:5.1f} %  {f}")
rest = total - sum(site[ip] for ip in big)
print(f"{100 * rest / total:5.1f} %  rest (input checks, argmax, call sites below 0.5 %)")
