"""Summarises the async-stripe suite's decode log (one JSON line per decode, webhook delivery or
unknown enum value, written by tests/sdk/rust/src/lib.rs to $SDK_DECODE_LOG): how many answers
decoded into async-stripe's typed structs, every field that did not (once per kind of call), the
verifier's verdicts on webhook deliveries, and enum values the SDK took as Unknown."""

import json, re, sys
lines = []
for line in open(sys.argv[1]):
    try:
        lines.append(json.loads(line))
    except ValueError:
        pass
deliveries = [l for l in lines if l["kind"] == "delivery"]
unknown = [l for l in lines if l["kind"] == "unknown_enum"]
records = [l for l in lines if l["kind"] not in ("delivery", "unknown_enum")]
kinds = [("call", "SDK calls"), ("error", "error answers"), ("event", "event objects"),
         ("webhook", "webhook deliveries")]
parts = []
for kind, name in kinds:
    mine = [r for r in records if r["kind"] == kind]
    parts.append(f"{name} {sum(r['decoded'] for r in mine)}/{len(mine)}")
bad = [r for r in records if not r["decoded"]]
print(f"\nasync-stripe typed decodes: {len(records) - len(bad)} decoded, {len(bad)} did not ({', '.join(parts)})")
refusals = {}
for d in deliveries:
    if d["refusal"] not in (None, "BadParse"):
        refusals[d["refusal"]] = refusals.get(d["refusal"], 0) + 1
verified = sum(d["refusal"] in (None, "BadParse") for d in deliveries)
typed = sum(d["refusal"] is None for d in deliveries)
print(f"webhook deliveries: {len(deliveries)}, {verified} verified by Webhook::construct_event "
      f"({typed} decoded into the typed Event), refused: "
      + (", ".join(f"{k} {v}" for k, v in sorted(refusals.items())) or "none"))
# One entry per kind of call and set of fields (ids, card numbers and list indexes folded).
groups = {}
for r in bad:
    call = re.sub(r"[a-z]+_[A-Za-z0-9]{10,}|[0-9]{12,}", "…", r["call"])
    fields = tuple(sorted({(re.sub(r"\[[0-9]+\]", "[]", i["path"]), i["error"]) for i in r["issues"]}))
    groups.setdefault((call, r["target"], fields), []).append(r)
for (call, target, fields), rs in groups.items():
    r = rs[0]
    print(f"  {call} -> {target}  (x{len(rs)})")
    shown = set()
    for i in r["issues"]:
        path = re.sub(r"\[[0-9]+\]", "[]", i["path"])
        if (path, i["error"]) in shown:
            continue
        shown.add((path, i["error"]))
        if i["sent"] is not None:
            sent = json.dumps(i["sent"])[:120]
        elif i.get("parent_keys") is not None:
            sent = "absent; the object had only " + ", ".join(i["parent_keys"])
        else:
            sent = "absent"
        print(f"      {path}: {i['error']}  (sent: {sent})")
    if not r["issues"]:
        print(f"      {r['sdk_error']}")
values = {}
for u in unknown:
    values.setdefault(f"{u['value']}' ({u['enum']})", set()).update(re.sub(r"\[[0-9]+\]", "[]", p) for p in u["paths"])
if values:
    print("enum values async-stripe does not know (decoded as Unknown, so not failures):")
    for v, paths in sorted(values.items()):
        print(f"  '{v} at {', '.join(sorted(paths)) or '?'}")
