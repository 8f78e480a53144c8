#!/usr/bin/env python3
"""make_corpus: (re)builds the seed corpora under tests/fuzz/corpus/<target>/
from the test fixtures (tests/data/**, schemas/, the unit tests' example
messages). Run from the top of the tree:  python3 tests/fuzz/make_corpus.py
Each file is named after what it holds; the run replaces each target's
directory. The seeds follow the input format written at the top of each
fuzz_<target>.c (mostly: a first byte choosing the mode, then the text).
"""
import glob
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
NOW = 1795600000  # the unit tests' clock, which the fuzzers use too

corpora = {}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    corpora.setdefault(target, {})[name] = data


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def js(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


# ---- ingest: byte 0 = kind (bits 0-2) | source (bits 3-4) | several (bit 7) ----
SAMPLES, BATCH, RESULTS, PROGRESS, MILESTONES, MONITORING = range(6)
EVERYTHING, TOWNSHIP, VILLAGE, SAMPLES_ONLY = (0 << 3, 1 << 3, 2 << 3, 3 << 3)

samples = {"batch_id": "m1", "samples": [
    {"entity": "610824100201", "metric": "poor_hh", "ts": NOW - 60, "value": 12},
    {"entity": "610824100201", "metric": "poor_hh", "ts": NOW, "value": 1.5},
    {"entity": "610824100299", "metric": "poor_hh", "ts": NOW, "value": 1},
    {"entity": "610824100202", "metric": "funds_alloc_fen", "ts": NOW, "value": -5},
    {"entity": "610824100202", "metric": "nonsense", "ts": NOW, "value": 7},
    {"entity": "610824100202", "metric": "pay_paid_fen", "ts": NOW, "value": 7},
    {"entity": "610824100202", "metric": "poor_hh", "ts": NOW + 86400, "value": 7},
    {"entity": "XM002", "metric": "progress_pct", "ts": NOW, "value": 10.5},
    {"entity": "610824200201", "metric": "poor_hh", "ts": NOW - 86400 * 400, "value": 2}]}
batch = {"batch_id": "p1", "batch": {"batch_no": "B2026-001", "department": "县扶贫办", "fund_type": "产业奖补",
                                     "period": "2026-11", "submitted": NOW - 86400}, "payments": [
    {"payment_no": "P1", "household": "H1", "card": "6217****1234", "amount_fen": 50000, "village": "610824100201"},
    {"payment_no": "P2", "household": "H2", "card": "6217****5678", "amount_fen": 30000, "village": "610824100201"},
    {"payment_no": "P3", "household": "H3", "card": "6217123412341234", "amount_fen": 30000, "village": "610824100201"},
    {"payment_no": "P4", "household": "H4", "card": "6217****0000", "amount_fen": 0, "village": "610824200201"}]}
results = {"batch_id": "r1", "results": [
    {"payment_no": "P1", "status": "paid", "at": NOW - 3600},
    {"payment_no": "P2", "status": "failed", "at": NOW - 3600},
    {"payment_no": "P2", "status": "failed", "reason": "卡已注销", "at": NOW - 3600},
    {"payment_no": "P9", "status": "paid", "at": NOW - 3600}]}
reissue = {"batch_id": "p3", "batch": {"batch_no": "B2026-002", "department": "县扶贫办", "fund_type": "产业奖补",
                                       "period": "2026-11", "submitted": NOW, "funds_at_bank": NOW}, "payments": [
    {"payment_no": "P2R", "household": "H2", "card": "6228****9999", "amount_fen": 30000, "village": "610824100201",
     "reissue_of": "P2"},
    {"payment_no": "P2S", "household": "H2", "card": "6228****9999", "amount_fen": 30000, "village": "610824100201",
     "reissue_of": "P2"}]}
progress = {"batch_id": "g1", "reports": [
    {"project": "XM001", "ts": NOW, "progress_pct": 42.5, "paid_fen": 1000000, "stage": "started", "note": "羊舍完工"},
    {"project": "XM404", "ts": NOW, "progress_pct": 1},
    {"project": "XM002", "ts": NOW, "progress_pct": 101, "jobs": 3, "benef_hh": 10}]}
milestones = {"batch_id": "ms1", "milestones": [
    {"project": "XM001", "name": "羊舍建设", "planned_date": "2026-05-01", "weight": 2},
    {"project": "XM001", "name": "引种", "weight": 1},
    {"project": "XM001", "name": "验收", "planned_date": "2026-02-30", "weight": 1},
    {"project": "XM001", "name": "出栏", "planned_date": "2026-12-01", "weight": 1, "done_date": "2026-12-01"}]}
milestones_done = {"batch_id": "ms2", "milestones": [
    {"project": "XM001", "name": "羊舍建设", "done_date": "2026-05-03"},
    {"project": "XM002", "name": "羊舍建设", "done_date": None}]}
monitoring = {"batch_id": "mo1", "households": [
    {"household": "H-610824100201-007", "village": "610824100201", "category": "at_risk", "flagged_at": NOW - 20 * 86400},
    {"household": "H-610824200201-003", "village": "610824200201", "category": "hardship", "flagged_at": NOW - 86400,
     "identified_at": NOW - 3600, "helped_at": None},
    {"household": "H-X", "village": "610824999999", "category": "unstable", "flagged_at": NOW},
    {"household": "H-Y", "village": "610824100202", "category": "poor", "flagged_at": NOW, "helped_at": NOW - 86400}]}
monitoring_helped = {"batch_id": "mo2", "households": [
    {"household": "H-610824100201-007", "village": "610824100201", "category": "at_risk", "flagged_at": NOW - 20 * 86400,
     "helped_at": NOW - 3600, "risk_removed_at": NOW}]}

seed("fuzz_ingest", "samples-mixed", bytes([SAMPLES | EVERYTHING]) + js(samples))
seed("fuzz_ingest", "samples-township-scope", bytes([SAMPLES | TOWNSHIP]) + js(samples))
seed("fuzz_ingest", "samples-village-scope", bytes([SAMPLES | VILLAGE]) + js(samples))
seed("fuzz_ingest", "progress-forbidden-kind", bytes([PROGRESS | SAMPLES_ONLY]) + js(progress))
seed("fuzz_ingest", "samples-no-batch-id", bytes([SAMPLES]) + b'{"samples":[]}')
seed("fuzz_ingest", "samples-truncated-json", bytes([SAMPLES]) + b'{"batch_id":"x","samples":[1,2')
seed("fuzz_ingest", "payment-batch", bytes([BATCH]) + js(batch))
seed("fuzz_ingest", "payment-results-alone", bytes([RESULTS]) + js(results))
seed("fuzz_ingest", "progress", bytes([PROGRESS]) + js(progress))
seed("fuzz_ingest", "progress-township-scope", bytes([PROGRESS | TOWNSHIP]) + js(progress))
seed("fuzz_ingest", "milestones", bytes([MILESTONES]) + js(milestones))
seed("fuzz_ingest", "payment-life-cycle", bytes([0x80]) + b"\0".join([
    bytes([BATCH]) + js(batch), bytes([RESULTS]) + js(results), bytes([BATCH]) + js(reissue),
    bytes([RESULTS]) + js({"batch_id": "r2", "results": [
        {"payment_no": "P1", "status": "failed", "reason": "x", "at": NOW},
        {"payment_no": "P2R", "status": "paid", "at": NOW}]})]))
seed("fuzz_ingest", "batch-then-conflicting-batch", bytes([0x80]) + b"\0".join([
    bytes([BATCH]) + js(batch),
    bytes([BATCH]) + js(dict(batch, batch_id="p2", batch=dict(batch["batch"], department="乡政府")))]))
seed("fuzz_ingest", "milestones-then-done", bytes([0x80]) + b"\0".join([
    bytes([MILESTONES]) + js(milestones), bytes([MILESTONES]) + js(milestones_done),
    bytes([PROGRESS]) + js(progress)]))
seed("fuzz_ingest", "monitoring", bytes([MONITORING]) + js(monitoring))
seed("fuzz_ingest", "monitoring-village-scope", bytes([MONITORING | VILLAGE]) + js(monitoring))
seed("fuzz_ingest", "monitoring-then-helped-elsewhere", bytes([0x80]) + b"\0".join([
    bytes([MONITORING]) + js(monitoring), bytes([MONITORING | TOWNSHIP]) + js(monitoring_helped),
    bytes([MONITORING | VILLAGE]) + js(dict(monitoring_helped, batch_id="mo3"))]))
seed("fuzz_ingest", "samples-replayed", bytes([0x80]) + b"\0".join([
    bytes([SAMPLES]) + js(samples), bytes([SAMPLES]) + js(dict(samples, samples=samples["samples"][:1]))]))

# ---- jschema: byte 0 == 0: schema [NUL instance]; else: an instance for every embedded schema ----
for d in sorted(glob.glob(os.path.join(ROOT, "tests/data/jschema/*/"))):
    name = os.path.basename(os.path.dirname(d))
    schema = read(os.path.relpath(os.path.join(d, "schema.json"), ROOT))
    inst = os.path.join(d, "input.json")
    data = b"\0" + schema + (b"\0" + read(os.path.relpath(inst, ROOT)) if os.path.exists(inst) else b"")
    seed("fuzz_jschema", "schema-" + name, data)
for path in sorted(glob.glob(os.path.join(ROOT, "schemas/*.json"))):
    if os.path.basename(path) != "catalog.json":
        seed("fuzz_jschema", "schema-embedded-" + os.path.basename(path), b"\0" + read(os.path.relpath(path, ROOT)))
for name, doc in (("samples", samples), ("payment-batch", batch), ("payment-results", results),
                  ("progress", progress), ("milestones", milestones), ("milestones-null", milestones_done),
                  ("monitoring", monitoring)):
    seed("fuzz_jschema", "instance-" + name, b"\1" + js(doc))
seed("fuzz_jschema", "instance-live-subscribe", b'\1{"type":"subscribe","topics":["alerts","region:610824000000"],"since":3}')
seed("fuzz_jschema", "instance-ingest-reply", b'\1{"batch_id":"m1","accepted":2,"rejected":1,"errors":'
     b'[{"index":1,"field":"samples[1].value","reason":"must be an integer"}],"replayed":true}')
seed("fuzz_jschema", "instance-nul-in-string", b'\1{"batch_id":"a\\u0000b","samples":[{"entity":"\\u4e2d\\u6587"}]}')
for path in sorted(glob.glob(os.path.join(ROOT, "tests/data/alerts/*.json")))[:4]:
    seed("fuzz_jschema", "instance-alert-" + os.path.basename(path), b"\1" + read(os.path.relpath(path, ROOT)))

# ---- import: byte 0 bit 0 = projects ----
csv_files = sorted(glob.glob(os.path.join(ROOT, "tests/data/import/*.csv")) +
                   glob.glob(os.path.join(ROOT, "tests/data/csv/*.csv")) +
                   glob.glob(os.path.join(ROOT, "tests/data/integration/*.csv")))
for path in csv_files:
    rel = os.path.relpath(path, ROOT)
    kind = 1 if "project" in os.path.basename(path) else 0
    name = rel.replace("tests/data/", "").replace("/", "-")
    seed("fuzz_import", name, bytes([kind]) + read(rel))
    seed("fuzz_csv", name, read(rel))
seed("fuzz_import", "regions-chinese-header", "\0区划代码,名称,英文名称,已撤销\n610824100203,新村,Xincun,否\n"
     "610824300000,新乡,,\n610824300201,新乡一村,,1\n610800000000,榆林市,Yulin,\n610000000000,陕西省,,\n")
seed("fuzz_import", "projects-yuan-dates", "\1项目编号,项目名称,类别,实施地点代码,责任单位,批复投资(元),开工日期,计划完工日期,带动户数,阶段\n"
     "XM003,大棚,种植,610824100202,县农业农村局,\"1,234,567.89\",2026/3/1,2026年12月31日,\"1,200\",开工\n"
     "XM001,湖羊养殖,breeding,610824100201,县农业农村局,1000000,,,,\n")
seed("fuzz_import", "excel-workbook", b"\0PK\x03\x04not really a workbook")
seed("fuzz_csv", "quoted-newline", 'code,name\n610824100201,"two\nlines"\n"unterminated\n')

# ---- conf: byte 0 bit 0 = conf_set, bits 1-2 error size, bit 3 conf_set_pair ----
seed("fuzz_conf", "file-deploy", "\0# /etc/fpmon.conf\ndata_dir = /var/lib/fpmon\nweb_dir = /usr/local/share/fpmon/web\n"
     "listen_address = 0.0.0.0\nport = 8080\ntls_cert = /etc/fpmon/server.crt\ntls_key = /etc/fpmon/server.key\n")
seed("fuzz_conf", "file-proxy", "\0listen_address = 127.0.0.1\ntrusted_proxies = 127.0.0.1\n"
     "allowed_origins = https://fupin.example.gov.cn\nmax_body_bytes = 16M\nlog_level = \"debug\"\n"
     "sqlite_synchronous = normal\n  # comment\n\nmax_batch_items=10k\n")
seed("fuzz_conf", "file-errors", "\0port = 70000\n")
seed("fuzz_conf", "file-no-equals", "\0just words\n")
seed("fuzz_conf", "file-long-line", "\0demo_token = " + "x" * 1100 + "\n")
seed("fuzz_conf", "file-no-newline", "\0rrd_flush_steps = 12")
seed("fuzz_conf", "set-port", "\1port=8081")
seed("fuzz_conf", "set-size-k", "\1max_body_bytes=64k")
seed("fuzz_conf", "set-choice-small-error", "\3log_level=verbose")
seed("fuzz_conf", "set-unknown-1-byte-error", "\5nonsense=1")
seed("fuzz_conf", "set-string", "\1rrdcached_address=unix:/run/rrdcached.sock")
seed("fuzz_conf", "set-overflow", "\1port=99999999999999999999")
seed("fuzz_conf", "pair-demo", "\x09demo=1")
seed("fuzz_conf", "pair-no-equals", "\x09demo")

# ---- live client: byte 0 = scope (bits 0-1) | ring (bit 2) | slow (bit 3); NUL between messages ----
sub = b'{"type":"subscribe","topics":["region:610824000000","region:610824100201","project:XM001","alerts"]}'
seed("fuzz_live_client", "subscribe-unscoped", b"\0" + sub)
seed("fuzz_live_client", "subscribe-township", b"\2" + sub)
seed("fuzz_live_client", "subscribe-village-scope", b"\3" + sub)
resume = b'{"type":"subscribe","topics":["region:610824100201","project:XM001","alerts"],"since":3,"epoch":7}'
seed("fuzz_live_client", "resume-since", b"\4" + resume)
seed("fuzz_live_client", "resume-since-township", b"\6" + resume)
seed("fuzz_live_client", "resume-wrong-epoch", b"\4" + resume.replace(b'"epoch":7', b'"epoch":8'))
seed("fuzz_live_client", "ping-unsubscribe", b"\0" + b"\0".join([
    sub, b'{"type":"ping"}', b'{"type":"unsubscribe","topics":["alerts","region:610824100201"]}',
    b'{"type":"unsubscribe","topics":[1,"nope"]}', b'{"type":"ping"}']))
seed("fuzz_live_client", "errors", b"\1" + b"\0".join([
    b'not json', b'{"topics":[]}', b'{"type":7}', b'{"type":"dance"}', b'{"type":"subscribe"}',
    b'{"type":"subscribe","topics":[1,"region:999999999999","project:NOPE","region:61082410020"],"since":"x"}']))
seed("fuzz_live_client", "too-many-topics", b"\0" + b'{"type":"subscribe","topics":[' +
     b",".join(b'"region:6108241002%02d"' % i for i in range(1, 20)) + b',"alerts","project:XM002"]}')
seed("fuzz_live_client", "slow-client", b"\x0c" + b"\0".join([b'{"type":"ping"}'] * 40))
seed("fuzz_live_client", "binary-frame", b"\x10" + b'{"type":"ping"}')
seed("fuzz_live_client", "big-message", b"\0" + b'{"type":"ping","pad":"' + b"x" * 1100 + b'"}')

# ---- http path: path [NUL region [NUL date]] ----
for text in ("/", "/index.html", "/css/app.css", "/vendor/lib-1.2.js", "/sub/", "/sub/deeper/", "/a b.txt",
             "/%41.html", "/中文.html", "/.env", "/sub/.secret", "/passwd.txt", "/../etc/passwd", "//index.html",
             "/index.html?x=1", "/api/v1/state", "610824100201\0" "610824000000\0" "2026-11-25",
             "441900003001\0" "441900000000\0" "2024-02-29", "610824000000\0" "610824\0" "2023-02-29",
             "000000000000\0" "110000100000\0" "1990-01-01", "61082410020x\0" "6108241002011\0" "2099-12-31",
             "2026-1-1", "2026-01-01T00:00"):
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in text.replace("\0", "+"))[:48] or "root"
    seed("fuzz_http_path", safe, text)


# ---- rrdread: 4-byte little-endian "bytes beyond the input", then a header ----
def rrd_header_seed(name, ds_count, rras, step=300):
    import struct
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "seed.rrd")
        args = ["rrdtool", "create", path, "--start", str(NOW - 86400), "--step", str(step)]
        args += ["DS:m%d:GAUGE:900:U:U" % i for i in range(ds_count)] + rras
        subprocess.run(args, check=True)
        subprocess.run(["rrdtool", "update", path, "%d:%s" % (NOW - 3000, ":".join(["1"] * ds_count))], check=True)
        data = read(path)
    # header: stat 128 + ds 120 each + rra 120 each + live 16 + pdp 112 each + cdp 80 each + ptr 8 each
    n_rra = len(rras)
    header = 128 + 120 * ds_count + 120 * n_rra + 16 + 112 * ds_count + 80 * ds_count * n_rra + 8 * n_rra
    seed("fuzz_rrdread", name, struct.pack("<I", len(data) - header) + data[:header])


PROJECT_RRAS = ["RRA:LAST:0.5:1:576", "RRA:LAST:0.5:12:336", "RRA:LAST:0.5:288:732", "RRA:LAST:0.5:2016:262"]
rrd_header_seed("project-layout-3-sources", 3, PROJECT_RRAS)
rrd_header_seed("village-layout-23-sources", 23, PROJECT_RRAS)
rrd_header_seed("average-and-max-archives", 2, ["RRA:AVERAGE:0.5:1:10", "RRA:MAX:0.5:6:5"], step=60)


def main():
    total_files = total_bytes = 0
    for target, files in sorted(corpora.items()):
        d = os.path.join(OUT, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in sorted(files.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
            total_files += 1
            total_bytes += len(data)
        print("%-18s %3d files" % (target, len(files)))
    print("total: %d files, %d bytes" % (total_files, total_bytes))


if __name__ == "__main__":
    main()
