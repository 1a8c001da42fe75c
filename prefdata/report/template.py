"""The report page: one Jinja2 template with its CSS inline (no scripts, fonts or links to fetch).

Kept in a Python module rather than a package-data file so that it ships with any install of the
package. Every value from the data goes through Jinja's autoescaping; the only ``|safe`` is the SVG
that matplotlib wrote (it escapes the text it draws itself).
"""

CSS = r"""
:root { --fg:#212529; --muted:#6c757d; --line:#dee2e6; --bg:#f8f9fa; --card:#fff;
  --ok:#2b8a3e; --ok-bg:#ebfbee; --err:#c92a2a; --err-bg:#fff5f5; --warn:#e67700; --warn-bg:#fff9db;
  --info:#1971c2; --info-bg:#e7f5ff; --chosen:#2f9e44; --rejected:#e03131; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font: 14px/1.5 "DejaVu Sans", "Liberation Sans", system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 2px; }
h2 { font-size: 18px; margin: 34px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
code, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.verdict { display:flex; align-items:center; gap:12px; padding: 12px 16px; border-radius: 8px; margin: 14px 0 18px;
  font-weight: 600; border: 1px solid; }
.verdict.pass { color: var(--ok); background: var(--ok-bg); border-color: #b2f2bb; }
.verdict.fail { color: var(--err); background: var(--err-bg); border-color: #ffc9c9; }
.verdict.none { color: #5c5f66; background: #f1f3f5; border-color: var(--line); }
.verdict .detail { font-weight: 400; color: var(--fg); }
.tiles { display:grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.tile .v { font-size: 22px; font-weight: 700; }
.tile .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.tile .s { color: var(--muted); font-size: 12px; }
.notes { margin: 14px 0 0; padding: 10px 14px 10px 30px; background: var(--warn-bg); border: 1px solid #ffec99; border-radius: 8px; }
.plots { display:grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; align-items: start; }
details.examples > summary { cursor: pointer; color: var(--info); margin: 8px 0 4px; font-weight: 600; }
.grid2 { display:grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 16px; align-items: start; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .03em; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:last-child td { border-bottom: none; }
.badge { display:inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.badge.error { color: var(--err); background: var(--err-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
.badge.info { color: var(--info); background: var(--info-bg); }
.badge.pass { color: var(--ok); background: var(--ok-bg); }
.badge.fail { color: #fff; background: var(--err); }
.badge.skipped { color: var(--muted); background: #f1f3f5; }
details.check { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: 8px 0; }
details.check > summary { cursor: pointer; padding: 9px 14px; display:flex; gap: 10px; align-items: baseline; list-style: none; }
details.check > summary::-webkit-details-marker { display: none; }
details.check > summary::before { content: "▸"; color: var(--muted); }
details.check[open] > summary::before { content: "▾"; }
details.check .body { padding: 0 16px 14px; }
.check-id { font-weight: 600; }
.msg-text { color: #343a40; }
.stats { display:flex; flex-wrap: wrap; gap: 6px 18px; margin: 6px 0; }
.stats span b { font-weight: 600; color: var(--muted); font-size: 12px; margin-right: 4px; }
pre.json { white-space: pre-wrap; word-break: break-word; background: var(--bg); padding: 8px 10px; border-radius: 6px; margin: 6px 0; max-height: 200px; overflow: auto; }
figure.plot { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
figure.plot figcaption { margin-bottom: 6px; }
figure.plot figcaption b { display:block; font-size: 14px; }
figure.plot figcaption span { color: var(--muted); font-size: 12.5px; }
figure.plot svg { width: 100%; height: auto; display: block; }
figure.plot svg * { stroke-linejoin: round; stroke-linecap: butt; }
figure.plot .na { color: var(--muted); background: var(--bg); border: 1px dashed var(--line); border-radius: 6px;
  padding: 28px 16px; text-align: center; font-size: 13px; }
.pair { background: var(--card); border: 1px solid var(--line); border-radius: 8px; margin: 14px 0; overflow: hidden; }
.pair > header { padding: 7px 14px; background: #f1f3f5; border-bottom: 1px solid var(--line); color: var(--muted); font-size: 12px;
  display:flex; flex-wrap: wrap; gap: 4px 16px; }
.pair > header b { color: var(--fg); font-weight: 600; }
.pair .prompt { padding: 10px 14px 4px; }
.pair .responses { display:grid; grid-template-columns: 1fr 1fr; gap: 0; border-top: 1px solid var(--line); }
.pair .responses > div { padding: 8px 14px 12px; min-width: 0; }
.pair .responses > .chosen { border-right: 1px solid var(--line); background: #fbfefb; }
.pair .responses > .rejected { background: #fffbfb; }
.pair .responses h4 { margin: 2px 0 6px; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
.pair .chosen h4 { color: var(--chosen); } .pair .rejected h4 { color: var(--rejected); }
.msg { margin: 0 0 8px; }
.msg .role { font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.msg .content { max-height: 24em; overflow: auto; white-space: pre-wrap; word-break: break-word; background: var(--bg); border-radius: 6px; padding: 7px 10px; }
.msg.role-user .content { background: var(--info-bg); }
.msg.role-system .content { background: #f3f0ff; }
.msg.role-tool .content { background: #fff4e6; }
.msg .content .empty, .more, .hidden { color: var(--muted); font-style: italic; }
.raw { white-space: pre-wrap; word-break: break-all; max-height: 120px; overflow: auto; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media (max-width: 760px) { .pair .responses { grid-template-columns: 1fr; } .pair .responses > .chosen { border-right: none; } }
"""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Quality report: {{ name }}</title>
<style>{{ css|safe }}</style>
</head>
<body>
<main>
{%- macro messages(ms) -%}
{%- for m in ms %}
<div class="msg role-{{ m.role|role_class }}"><div class="role">{{ m.role }}</div>
<div class="content">{% if m.content %}{{ m.content }}{% else %}<span class="empty">(empty)</span>{% endif %}
{%- if m.hidden_chars %}<span class="more"> … {{ m.hidden_chars|num }} more characters</span>{% endif %}</div></div>
{%- endfor %}
{%- endmacro -%}
{%- macro pair(p) -%}
<article class="pair" data-pair-id="{{ p.id }}">
<header><span><b>id</b> <span class="mono">{{ p.id|short_id }}</span></span><span><b>source</b> {{ p.source }}</span>
<span><b>split</b> {{ p.split }}</span>{% for k, v in p.meta.items() %}<span><b>{{ k }}</b> {{ v }}</span>{% endfor %}</header>
<div class="prompt">
{%- if p.hidden_prompt_messages %}<div class="hidden">… {{ p.hidden_prompt_messages }} earlier prompt messages not shown</div>{% endif %}
{{ messages(p.prompt) }}</div>
<div class="responses"><div class="chosen"><h4>chosen</h4>{{ messages(p.chosen) }}</div>
<div class="rejected"><h4>rejected</h4>{{ messages(p.rejected) }}</div></div>
</article>
{%- endmacro %}

<h1>Quality report: {{ name }}</h1>
<p class="sub">{{ location }} · prefdata {{ version }}</p>

<div class="verdict {{ verdict.status }}" id="verdict">{{ verdict.headline }}<span class="detail">{{ verdict.detail|ticks }}</span></div>

<section class="tiles" id="tiles">
{%- for t in tiles %}
<div class="tile"><div class="l">{{ t.label }}</div><div class="v">{{ t.value }}</div><div class="s">{{ t.sub }}</div></div>
{%- endfor %}
</section>
{% if notes %}<ul class="notes" id="notes">{% for n in notes %}<li>{{ n|ticks }}</li>{% endfor %}</ul>{% endif %}

<h2 id="checks">Checks</h2>
{%- if checks_summary is none %}
<p class="sub">Not run: {{ checks_absent|ticks }}. Run <code>prefdata check OUT</code>, then this report again
(or <code>prefdata report OUT --run-checks</code>).</p>
{%- else %}
<p class="sub">{{ checks_summary.total }} checks and expectations;
failed: {{ checks_summary.failed.error }} error, {{ checks_summary.failed.warn }} warning, {{ checks_summary.failed.info }} info
{%- if checks_summary.skipped %}; {{ checks_summary.skipped }} skipped{% endif %}.
Failed checks are open; click a passed one to see its statistic.</p>
{%- for c in checks %}
<details class="check" data-check="{{ c.id }}"{% if not c.passed %} open{% endif %}>
<summary><span class="badge {{ c.status }}">{{ c.status }}</span>
<span class="badge {{ c.severity }}">{{ c.severity }}</span><span class="check-id">{{ c.id }}</span>
<span class="msg-text">{{ c.message }}</span>{% if c.offending_count %}<span class="sub" style="margin:0">{{ c.offending_count|num }} pairs</span>{% endif %}</summary>
<div class="body">
{%- if c.statistic %}<div class="stats">{% for k, v in c.statistic %}<span><b>{{ k }}</b>{{ v }}</span>{% endfor %}</div>{% endif %}
{%- if c.threshold %}<div class="stats">{% for k, v in c.threshold %}<span><b>threshold {{ k }}</b>{{ v }}</span>{% endfor %}</div>{% endif %}
{%- for k, v in c.nested %}<div><b class="sub">{{ k }}</b><pre class="json mono">{{ v }}</pre></div>{% endfor %}
{%- if not c.passed and c.offending_ids %}
{%- if c.examples %}<details class="examples"><summary>Show the first {{ c.shown_offending }} offending pairs (of {{ c.offending_count|num }})
{%- if c.examples|length > c.shown_offending %} — {{ c.examples|length }} pairs, as an id is shared{% endif %}</summary>
{%- for p in c.examples %}{{ pair(p) }}{% endfor %}
</details>{% endif %}
{%- for s in c.shared_ids %}<p class="sub">Id <span class="mono">{{ s.id|short_id }}</span> is shared by {{ s.rows|num }} rows
{%- if s.differ %} holding different pairs: checks.json names offending pairs by id only, so the report shows the {{ s.pairs }} different pairs
{%- if s.read < s.rows %} of its first {{ s.read }} rows{% endif %}, and not every one need offend.
{%- else %}: its first {{ s.read }}, which the report read, are copies of one pair, shown once; checks.json names offending pairs by id only, so the pair that offended may be in one of the other {{ (s.rows - s.read)|num }} row(s), not read.
{%- endif %}</p>{% endfor %}
{%- if c.missing_examples %}<p class="sub">{{ c.missing_examples }} offending id(s) are not in the data (checks.json may be stale).</p>{% endif %}
{%- endif %}
</div>
</details>
{%- endfor %}
{%- if expectations %}
<h3>Expectations</h3>
<div class="card"><table><tr><th>status</th><th>severity</th><th>expectation</th><th>arguments</th><th class="n">unexpected</th><th>examples</th></tr>
{%- for e in expectations %}
<tr><td>{% if e.success %}<span class="badge pass">pass</span>{% else %}<span class="badge fail">fail</span>{% endif %}</td>
<td><span class="badge {{ e.severity }}">{{ e.severity }}</span></td><td><code>{{ e.type }}</code></td><td class="mono">{{ e.kwargs }}</td>
<td class="n">{{ e.unexpected }}</td><td class="mono">{{ e.partial|join(", ") }}</td></tr>
{%- endfor %}
</table></div>
{%- endif %}
{%- endif %}

<h2 id="plots">Distributions</h2>
<div class="plots">
{%- for p in plots %}
<figure class="plot" data-plot="{{ p.id }}" data-state="{{ 'plot' if p.svg else 'na' }}">
<figcaption><b>{{ p.title }}</b><span>{{ p.caption|ticks }}</span></figcaption>
{% if p.svg %}{{ p.svg|safe }}{% else %}<div class="na">{{ p.note|ticks }}</div>{% endif %}
</figure>
{%- endfor %}
</div>

<h2 id="counts">Counts</h2>
<div class="grid2">
<div class="card"><h3>Pipeline</h3><table>
{%- for label, value in counts.stages %}<tr><td>{{ label }}</td><td class="n">{{ value }}</td></tr>{% endfor %}
</table></div>
<div class="card"><h3>Rejected records by reason</h3>
{%- if rejects.rows %}<table><tr><th>reason</th><th class="n">records</th></tr>
{%- for reason, n in rejects.rows %}<tr><td><code>{{ reason }}</code></td><td class="n">{{ n|num }}</td></tr>{% endfor %}</table>
{%- else %}<p class="sub">No rejected records.</p>{% endif %}
</div>
</div>
<div class="card" style="margin-top:16px"><h3>Per source</h3><table>
<tr><th>source</th>{% if counts.has_reads %}<th class="n">records read</th><th class="n">rejected</th>{% endif %}<th class="n">pairs</th>
{%- for s in counts.splits %}<th class="n">{{ s }}</th>{% endfor %}</tr>
{%- for row in counts.sources %}
<tr><td>{{ row.name }}</td>{% if counts.has_reads %}<td class="n">{{ row.read }}</td><td class="n">{{ row.rejected }}</td>{% endif %}
<td class="n">{{ row.pairs }}</td>{% for v in row.splits %}<td class="n">{{ v }}</td>{% endfor %}</tr>
{%- endfor %}
</table></div>

{%- if rejects.examples %}
<h2 id="rejects">Rejected records</h2>
<div class="card"><table><tr><th>reason</th><th>where</th><th>field</th><th>detail</th><th>raw</th></tr>
{%- for r in rejects.examples %}
<tr><td><code>{{ r.reason }}</code></td><td class="mono">{{ r.file }}:{{ r.record }}</td><td>{{ r.field or "" }}</td>
<td>{{ r.detail or "" }}</td><td><div class="raw mono">{{ r.raw or "" }}</div></td></tr>
{%- endfor %}
</table></div>
{%- endif %}

<h2 id="sample">Sample of pairs</h2>
<p class="sub">{{ sample|length }} pairs drawn at random (seed {{ seed }}) from {{ pairs|num }}.</p>
{%- for p in sample %}{{ pair(p) }}{% endfor %}

<footer>Generated by prefdata {{ version }} from <code>{{ location }}</code>. Lengths are in characters. Plots are computed from
all pairs; conversations are truncated to {{ max_chars|num }} characters per message.</footer>
</main>
</body>
</html>
"""
