"""Instructions per run by part, from a callgrind profile of N runs.

usage: callgrind_breakdown.py PROFILE N
Each function's own instructions (not its callees') go to the first part
whose pattern its name matches; prints a Markdown table.
"""
import re, subprocess, sys, collections
out = subprocess.run(["callgrind_annotate", "--threshold=100", sys.argv[1]], capture_output=True, text=True).stdout
runs = int(sys.argv[2])
total = None
cats = collections.Counter()
rules = [
    ("SQLite (the library)", r"\?\?\?:(sqlite3|yy_|vdbe|btree|pager|wal|unixRead|unixWrite|unixSync|pcache|balance|robin|walIndex|memjrnl|insertCell|fillInCell|moveTo|accessPayload|getAndInit|releasePage|decodeFlag|readDbPage|exprAnalyze|where|codeEqualityTerm|resolve|lookupName|selectExpander|json|jsonParse|jsonString|sqlite3Json|rehash|identPut|keywordCode|renameWalk|strHash|findElement|getToken|analyzeAggregate|computeLimitRegisters|multiSelect|columnType|btreeParse|freeSpace|defragmentPage|allocateSpace|clearCell|dropCell|ptrmap|countLookaside|measureAllocationSize|pcache1|mem0|mallocWithAlarm|dbMalloc|dbReallocFinish|vdbeMem|valueBytes|valueToText|serialGet|Parse|createMask|exprDup|exprNode|dupedExpr|heightOf|exprSetHeight|exprListDeleteNN|exprDeleteNN|whereLoop|wherePath|whereShortCut|codeApplyAffinity|exprCode|affinity|comparisonAffinity|binaryCompareP5|parserAdd|walkExpr|sqlite3Walk|selectWindowRewrite|fts|stat4|propagateConstant|pushDownWhere|flattenSubquery|disableTerm|exprImpliesNotNull|exprIdxCover|isDate|sqlite3Atoi|sqlite3AtoF|sqlite3Utf8|sqlite3Str|sqlite3Get|sqlite3Put|sqlite3Var|sqlite3Fault)"),
    ("rusqlite", r"rusqlite::"),
    ("store glue (agno_server::db)", r"agno_server::db::"),
    ("jobs (agno_server::jobs)", r"agno_server::jobs::"),
    ("hooks (hooks_core)", r"hooks_core::"),
    ("agent run (agno_server::agent)", r"agno_server::agent::"),
    ("model client (agno_server::model, reqwest)", r"agno_server::model::|reqwest::"),
    ("HTTP server routes (agno_server::os)", r"agno_server::os::"),
    ("telemetry (agno_server::telemetry, prometheus)", r"agno_server::telemetry::|prometheus_client::"),
    ("JSON (serde_json)", r"serde_json::|serde::"),
    ("HTTP (hyper, h1, http, httparse)", r"hyper::|hyper_util::|httparse::|http::|h2::|http_body"),
    ("routing and middleware (axum, tower, tower_http)", r"axum::|axum_core::|tower::|tower_http::|matchit::"),
    ("form parsing (multer, form_urlencoded)", r"multer::|form_urlencoded::|encoding_rs|mime"),
    ("logging (tracing)", r"tracing::|tracing_core::|tracing_subscriber::|sharded_slab"),
    ("async runtime (tokio, futures)", r"tokio::|futures_util::|futures_core::|mio::|parking_lot|crossbeam"),
    ("allocator (jemalloc)", r"_rjem_|je_|jemalloc|tikv_jemalloc|arena_|tcache_|extent_|emap_|sz_|edata_|pac_|malloc_|sdalloc|ehooks|hpa_|san_|prof_|rtree_"),
    ("ids, time, hashing (uuid, rand, chrono, ring)", r"uuid::|rand::|chrono::|time::|getrandom|ring::|sha|hashbrown|ahash|foldhash|std::time|clock_gettime"),
    ("libc (memcpy, memset, malloc of C code, locks, syscalls)", r"libc\.so|ld-linux|vdso"),
    ("Rust std and core (fmt, strings, collections)", r"core::|alloc::|std::|<alloc|<core|<std|\?\?\?:_ZN"),
]
for line in out.splitlines():
    m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)$", line)
    if not m:
        continue
    n = int(m.group(1).replace(",", "")); name = m.group(2)
    if "PROGRAM TOTALS" in name:
        total = n; continue
    for cat, pat in rules:
        if re.search(pat, name):
            cats[cat] += n; break
    else:
        cats["other"] += n
print(f"| part | instructions per run | share |")
print("|---|---|---|")
for cat, n in cats.most_common():
    print(f"| {cat} | {n / runs / 1000:.1f} k | {100 * n / total:.1f} % |")
print(f"| **total** | **{total / runs / 1000:.1f} k** | 100 % |")
