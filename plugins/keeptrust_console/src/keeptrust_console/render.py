"""Server-rendered HTML and SVG. Every value from the log goes through ``esc`` (html.escape, with
control characters made visible): a request path or a header anyone could send must stay text."""

from __future__ import annotations

import html
import json
import time
from typing import Any

from keeptrust.audit.query import terminal_safe
from keeptrust.audit.verify import ChainReport
from keeptrust_console.queries import Overview, Query

COLOURS = {
    "answered": "#2e7d32",
    "blocked": "#c62828",
    "upstream error": "#ef6c00",
    "refused": "#6a1b9a",
    "other": "#757575",
}


def esc(value: Any) -> str:
    return html.escape(terminal_safe("" if value is None else str(value)), quote=True)


def layout(title: str, body: str, source: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)} · keeptrust audit</title>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        '<link rel=stylesheet href="/static/console.css"></head><body>'
        '<header><a class=brand href="/">keeptrust audit</a>'
        '<nav><a href="/">Overview</a><a href="/records">Records</a></nav>'
        f"<span class=source>{esc(source)} · read-only</span></header>"
        f"<main>{body}</main></body></html>"
    )


def chain_state(reports: list[ChainReport]) -> str:
    if not reports:
        return (
            "<section id=chains><h2>Chain state</h2>"
            '<p class="state bad" id=chain-summary>No audit log found.</p></section>'
        )
    broken = [r for r in reports if not r.ok]
    if broken:
        summary = f'<p class="state bad" id=chain-summary>BROKEN: {len(broken)} of {len(reports)} chain(s)</p>'
    else:
        total = sum(r.records for r in reports)
        summary = f'<p class="state ok" id=chain-summary>VERIFIED: {len(reports)} chain(s), {total} record(s)</p>'
    rows = []
    for r in reports:
        if r.ok:
            span = f"verified up to record {r.last_seq}" if r.records else "verified (no records kept)"
            state = f"<td class=ok>{esc(span)} (seq {esc(r.first_seq)}&ndash;{esc(r.last_seq)})</td>"
        else:
            upto = f"verified up to record {r.last_seq}; " if r.last_seq is not None else ""
            state = f"<td class=bad>{esc(upto)}broken: {esc(r.problem)}</td>"
        notes = "".join(f"<div class=note>note: {esc(n)}</div>" for n in r.notes)
        notes += "".join(f"<div class=warn>warning: {esc(w)}</div>" for w in r.warnings)
        signed = f"signed by {esc(r.signed_by)}" if r.signed_by else "unsigned head"
        rows.append(f"<tr><td>{esc(r.where)}</td><td>{r.records}</td>{state}<td>{signed}{notes}</td></tr>")
    return (
        f"<section id=chains><h2>Chain state</h2>{summary}<table><tr><th>chain</th><th>records</th>"
        f"<th>state</th><th>head</th></tr>{''.join(rows)}</table></section>"
    )


def anchors_section(anchors: list[dict[str, Any]]) -> str:
    if not anchors:
        return "<section id=anchors><h2>Retention</h2><p>Nothing pruned: every chain starts at record 0.</p></section>"
    items = []
    for a in anchors:
        pruned_at = a.get("pruned_at")
        when = (
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(pruned_at)) if isinstance(pruned_at, int | float) else "?"
        )
        through = a.get("pruned_through_seq")
        if through is None and isinstance(a.get("pruned"), list) and a["pruned"]:
            through = a["pruned"][-1].get("last_seq")
        signed = " (signed)" if a.get("sig") else ""
        items.append(
            f"<li>chain {esc(a.get('chain'))}: records through seq {esc(through)} pruned {esc(when)}; "
            f"the kept records link to hash <code>{esc(str(a.get('last_hash'))[:16])}…</code>{signed}</li>"
        )
    return f"<section id=anchors><h2>Retention anchors</h2><ul>{''.join(items)}</ul></section>"


def _bucket_label(seconds: int) -> str:
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {name}s" if n != 1 else f"1 {name}"
    return f"{seconds} s"


def chart(ov: Overview) -> str:
    """A stacked bar chart of requests per time bucket by outcome family, as inline SVG."""
    width, height, left, bottom = 960, 220, 48, 28
    if not ov.series:
        return "<p>No requests yet.</p>"
    peak = max(sum(c.values()) for _, c in ov.series) or 1
    plot_w, plot_h = width - left - 8, height - bottom - 8
    bar_w = plot_w / len(ov.series)
    parts = [
        f'<svg id=chart viewBox="0 0 {width} {height}" role=img aria-label="requests over time by outcome" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for frac in (0, 0.5, 1):
        y = 8 + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{round(peak * frac)}</text>'
        )
    for i, (start, counts) in enumerate(ov.series):
        x = left + i * bar_w
        y = 8 + plot_h
        label = time.strftime("%Y-%m-%d %H:%M", time.gmtime(start))
        for fam in COLOURS:
            c = counts.get(fam, 0)
            if not c:
                continue
            h = plot_h * c / peak
            y -= h
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[fam]}"><title>{esc(label)}: {c} {esc(fam)}</title></rect>'
            )
    for i in sorted({0, len(ov.series) // 2, len(ov.series) - 1}):
        start = ov.series[i][0]
        anchor = "start" if i == 0 else "end" if i == len(ov.series) - 1 else "middle"
        x = left + i * bar_w + (bar_w / 2 if anchor == "middle" else bar_w if anchor == "end" else 0)
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="11">'
            f"{esc(time.strftime('%m-%d %H:%M', time.gmtime(start)))}</text>"
        )
    parts.append("</svg>")
    legend = "".join(f'<span class="key k-{fam.replace(" ", "-")}">{esc(fam)}</span>' for fam in COLOURS)
    return f"{''.join(parts)}<p class=legend>per {_bucket_label(ov.bucket)} (UTC): {legend}</p>"


def _count_table(title: str, ident: str, rows: list[tuple[Any, ...]], link: str | None = None) -> str:
    body = []
    for row in rows:
        *keys, n = row
        label = " · ".join("—" if k is None else str(k) for k in keys)
        cell = esc(label)
        if link and keys[0] is not None:
            cell = f'<a href="/records?{esc(Query(**{link: str(keys[0])}).encoded())}">{cell}</a>'
        body.append(f"<tr><td>{cell}</td><td class=num>{n}</td></tr>")
    rows_html = "".join(body) or "<tr><td>none</td></tr>"
    return f"<div class=card id={ident}><h3>{esc(title)}</h3><table>{rows_html}</table></div>"


def overview_page(ov: Overview, reports: list[ChainReport], anchors: list[dict[str, Any]], source: str) -> str:
    span = f"{esc(ov.first_ts)} &ndash; {esc(ov.last_ts)}" if ov.total else "no requests"
    other = ", ".join(f"{esc(t)}: {n}" for t, n in ov.other_types)
    body = (
        f"<h1>Overview</h1><p class=lead><strong id=total>{ov.total}</strong> request record(s), {span}"
        f"{' · other records: ' + other if other else ''}</p>"
        + chain_state(reports)
        + f"<section><h2>Requests over time</h2>{chart(ov)}</section><section class=cards>"
        + _count_table("Outcomes", "outcomes", ov.outcomes, "outcome")
        + _count_table("Top targets", "targets", ov.targets, "target")
        + _count_table("Top roles", "roles", ov.roles, "role")
        + _count_table("Decisions by policy and action", "decisions", ov.decisions, "policy")
        + "</section>"
        + anchors_section(anchors)
    )
    return layout("Overview", body, source)


def _select(name: str, label: str, current: str, options: list[str]) -> str:
    opts = [f'<option value="">any {esc(label)}</option>']
    if name == "outcome":
        options = ["answered", "blocked", "upstream error", "refused"] + [o for o in options if o != "answered"]
    for o in options:
        sel = " selected" if o == current else ""
        opts.append(f'<option value="{esc(o)}"{sel}>{esc(o)}</option>')
    return f'<label>{esc(label)} <select name="{name}" id="f-{name}">{"".join(opts)}</select></label>'


def records_page(
    query: Query,
    rows: list[tuple[Any, ...]],
    more: bool,
    total: tuple[int, bool],
    choices: dict[str, list[str]],
    source: str,
    first_page: bool,
) -> str:
    form = (
        '<form method=get action="/records" id=filters>'
        f'<label>from <input name=since id=f-since placeholder="2026-12-01T00:00" value="{esc(query.since)}"></label>'
        f'<label>until <input name=until id=f-until placeholder="2026-12-02" value="{esc(query.until)}"></label>'
        + _select("outcome", "outcome", query.outcome, choices["outcome"])
        + _select("policy", "policy", query.policy, choices["policy"])
        + _select("role", "role", query.role, choices["role"])
        + _select("target", "target", query.target, choices["target"])
        + f'<label>request id <input name=q id=f-q value="{esc(query.q)}"></label>'
        '<button type=submit id=apply>Filter</button> <a href="/records">clear</a></form>'
    )
    exports = (
        f"<p class=exports><span id=matching>{total[0]}{'+' if total[1] else ''}</span> matching · export: "
        f'<a id=export-jsonl href="/export.jsonl?{esc(query.encoded())}">JSON Lines</a>'
        f' · <a id=export-csv href="/export.csv?{esc(query.encoded())}">CSV</a></p>'
    )
    trs = []
    for _id, ts, rid, role, target, model, status, latency, out, decisions, chain, seq in rows:
        href = f"/record/{esc(chain)}/{esc(seq)}"
        cls = "blocked" if (out or "").startswith("blocked") else "ok" if out == "answered" else "err"
        lat = "" if latency is None else f"{latency:.0f} ms"
        trs.append(
            f'<tr class="{cls}"><td>{esc(ts)}</td><td><a class=rid href="{href}">{esc(rid or "(none)")}</a></td>'
            f"<td>{esc(role)}</td><td>{esc(target)}</td><td>{esc(model)}</td><td class=num>{esc(status)}</td>"
            f"<td class=num>{esc(lat)}</td><td>{esc(out)}</td><td>{esc(decisions)}</td></tr>"
        )
    nav = []
    if not first_page:
        nav.append(f'<a href="/records?{esc(query.encoded())}">newest</a>')
    if more and rows:
        last = rows[-1]
        nav.append(f'<a id=older href="/records?{esc(query.encoded(before=f"{last[1]}|{last[0]}"))}">older →</a>')
    table = (
        "<table id=records><tr><th>time (UTC)</th><th>request id</th><th>role</th><th>target</th><th>model</th>"
        f"<th>status</th><th>latency</th><th>outcome</th><th>decisions</th></tr>{''.join(trs)}</table>"
        if trs
        else "<p id=no-records>No records match.</p>"
    )
    return layout("Records", f"<h1>Records</h1>{form}{exports}{table}<p class=pager>{' · '.join(nav)}</p>", source)


def record_page(record: dict[str, Any] | None, chain: str, seq: int, outcome_name: str | None, source: str) -> str:
    if record is None:
        return layout("Record", f"<h1>Record {esc(chain)} #{esc(seq)}</h1><p>Not readable from the log.</p>", source)
    decisions = []
    for d in record.get("decisions") or ():
        if not isinstance(d, dict):
            continue
        details = d.get("details") if isinstance(d.get("details"), dict) else {}
        category = details.get("category") or details.get("categories") or details.get("entities") or ""
        score = details.get("score", "")
        decisions.append(
            f"<tr><td>{esc(d.get('policy'))}</td><td>{esc(d.get('phase'))}</td><td>{esc(d.get('action'))}</td>"
            f"<td>{esc(d.get('mode', 'enforce'))}</td><td>{esc(d.get('reason'))}</td>"
            f"<td>{esc(category if isinstance(category, str) else json.dumps(category))}</td><td>{esc(score)}</td>"
            f"<td><code>{esc(json.dumps(details, ensure_ascii=False)) if details else ''}</code></td></tr>"
        )
    fields = [
        ("time", record.get("ts")),
        ("request id", record.get("request_id")),
        ("type", record.get("type")),
        ("outcome", outcome_name),
        ("role", record.get("role")),
        ("key id", record.get("key_id")),
        ("target", record.get("target")),
        ("model", record.get("model")),
        ("endpoint", record.get("endpoint")),
        ("status", record.get("status")),
        ("latency", record.get("latency_ms")),
        ("error", json.dumps(record.get("error")) if record.get("error") else None),
        ("chain", record.get("chain")),
        ("seq", record.get("seq")),
        ("prev_hash", record.get("prev_hash")),
        ("hash", record.get("hash")),
    ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd id=r-{k.replace(' ', '-')}>{esc(v)}</dd>" for k, v in fields)
    dec_table = (
        "<table id=decisions><tr><th>policy</th><th>phase</th><th>action</th><th>mode</th><th>reason</th>"
        f"<th>category</th><th>score</th><th>details</th></tr>{''.join(decisions)}</table>"
        if decisions
        else "<p>No policy decisions recorded.</p>"
    )

    def body_block(name: str) -> str:
        if name not in record:
            return f"<p>Not recorded ({esc(name)} bodies are off in this log's audit-logger config).</p>"
        return f"<pre>{esc(json.dumps(record[name], indent=2, ensure_ascii=False))}</pre>"

    body = (
        f"<h1>Record <span id=record-id>{esc(record.get('request_id'))}</span></h1><dl class=fields>{dl}</dl>"
        f"<h2>Decisions</h2>{dec_table}<h2>Request (as recorded, after redaction)</h2>{body_block('request')}"
        f"<h2>Response (as recorded)</h2>{body_block('response')}"
        f"<h2>Whole record</h2><pre id=raw>{esc(json.dumps(record, indent=2, ensure_ascii=False))}</pre>"
    )
    return layout(f"Record {record.get('request_id')}", body, source)


def error_page(status: int, message: str, source: str) -> str:
    return layout(str(status), f"<h1>{status}</h1><p>{esc(message)}</p>", source)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1b1b;background:#f6f7f9}
header{display:flex;gap:1.5em;align-items:center;background:#12263a;color:#fff;padding:.7em 1.5em}
header a{color:#fff;text-decoration:none;margin-right:1em}.brand{font-weight:700}
.source{margin-left:auto;opacity:.75;font-size:12px}
main{padding:1em 1.5em;max-width:1400px}
h1{font-size:22px;margin:.2em 0 .4em}h2{font-size:17px;margin:1.2em 0 .4em}h3{font-size:14px;margin:0 0 .4em}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#eef1f5;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.state{font-weight:700;padding:.5em .8em;border-radius:4px;display:inline-block}
.state.ok,td.ok{color:#1b5e20}.state.ok{background:#e8f5e9}.state.bad,td.bad{color:#b71c1c}.state.bad{background:#ffebee}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:1em;margin-top:1em}
.card{background:#fff;padding:.8em;border:1px solid #e3e6ea;border-radius:6px}
svg{background:#fff;border:1px solid #e3e6ea;border-radius:6px;width:100%;height:auto}
.legend .key{margin-right:1em}.key::before{content:"";display:inline-block;width:10px;height:10px;margin-right:4px}
.k-answered::before{background:#2e7d32}.k-blocked::before{background:#c62828}.k-upstream-error::before{background:#ef6c00}
.k-refused::before{background:#6a1b9a}.k-other::before{background:#757575}
form{display:flex;flex-wrap:wrap;gap:.6em;align-items:center;background:#fff;padding:.6em;border:1px solid #e3e6ea}
tr.blocked td:first-child{border-left:3px solid #c62828}tr.err td:first-child{border-left:3px solid #ef6c00}
pre{background:#fff;border:1px solid #e3e6ea;padding:.8em;overflow:auto;max-height:30em}
dl.fields{display:grid;grid-template-columns:10em 1fr;gap:2px 1em}dt{font-weight:600}dd{margin:0;word-break:break-all}
.note{color:#555}.warn{color:#8a6d00}code{font-size:12px}
"""
