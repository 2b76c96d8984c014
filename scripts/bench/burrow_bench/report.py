"""What the sections' tables share: number formats, ratios, medians, verdicts; and the report
itself (results.md, results.json, the Targets list)."""
import json
import os


def fmt(x, nd=2):
    return "n/a" if x is None else f"{x:.{nd}f}"


def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.2f}x"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def median(values):
    good = sorted(v for v in values if v is not None)
    if not good:
        return None
    n = len(good)
    return good[n // 2] if n % 2 else (good[n // 2 - 1] + good[n // 2]) / 2


def verdict_ge(v, lim):
    if v is None:
        return "MISS (no result)"
    return "PASS" if v >= lim else "MISS"


def verdict_le(v, lim):
    if v is None:
        return "MISS (no result)"
    return "PASS" if v <= lim else "MISS"


def target_ge(name, value, limit):
    return {"target": name, "value": value, "limit": limit, "verdict": verdict_ge(value, limit)}


def target_le(name, value, limit):
    return {"target": name, "value": value, "limit": limit, "verdict": verdict_le(value, limit)}


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, obj):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def write_text(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def write(meta, parts, outdir):
    """parts: [(results.json key, lines, result, targets)] in section order. Prints the markdown,
    writes results.md and results.json into outdir."""
    with open("/proc/loadavg") as f:
        meta["loadavg_end"] = f.read().split()[:3]
    lines, targets, result = [], [], {"meta": meta}
    for key, sec_lines, sec_result, sec_targets in parts:
        lines += sec_lines
        targets += sec_targets
        result[key] = sec_result
    lines.append("### Targets")
    lines.append("")
    for t in targets:
        v = t["value"]
        shown = "n/a" if v is None else (f"{v:.1f} KiB" if t.get("unit") == "KiB" else f"{v:.2f}x")
        lines.append(f"- {t['target']}: {shown} -> **{t['verdict']}**")
    text = "\n".join(lines) + "\n"
    print(text, end="", flush=True)
    result["targets"] = targets
    os.makedirs(outdir, exist_ok=True)
    write_json(os.path.join(outdir, "results.json"), result)
    write_text(os.path.join(outdir, "results.md"), text)
