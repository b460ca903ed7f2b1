//! A comparison as one self-contained HTML file: no network, no external
//! scripts or fonts. Charts are inline SVG drawn here (pass rates with
//! intervals, baseline vs candidate; value histograms); the flipped-samples
//! table is searchable with a few lines of inline JavaScript.

use std::fmt::Write;

use super::model::{Comparison, Histogram, MetricComparison, Tone};
use super::render::{change, mean_change};
use crate::markup::escape;
use caliper_types::fmt::p_value;
use caliper_types::fmt::pct;

const BASE: &str = "#7a869a";
const CAND: &str = "#2f6fde";
const BAD: &str = "#c8372d";

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e3e6eb;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f7fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1f7a3d}.fail{color:#c8372d;font-weight:600}.warn{color:#a35a00;font-weight:600}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}.chart{flex:1 1 320px}
input[type=search]{width:100%;padding:.5rem;font-size:1rem;margin:.5rem 0;box-sizing:border-box}
.muted{color:#6b7385}code{font-size:.85rem}
";

/// Horizontal bars of the pass rate of each metric, baseline and candidate,
/// with their confidence intervals as whiskers.
fn pass_rate_chart(metrics: &[MetricComparison]) -> String {
    let (left, width, row_h) = (180.0, 520.0, 44.0);
    let height = 30.0 + row_h * metrics.len() as f64;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"pass rates\" viewBox=\"0 0 {} {height}\" width=\"100%\">",
        left + width + 70.0
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = left + width * tick;
        let _ = write!(
            svg,
            "<line x1=\"{x}\" y1=\"18\" x2=\"{x}\" y2=\"{height}\" stroke=\"#e3e6eb\"/>\
             <text x=\"{x}\" y=\"12\" font-size=\"10\" text-anchor=\"middle\" fill=\"#6b7385\">{}</text>",
            pct(tick)
        );
    }
    for (i, m) in metrics.iter().enumerate() {
        let y = 24.0 + row_h * i as f64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + 17.0,
            escape(&m.metric)
        );
        for (j, (side, color)) in [(&m.baseline, BASE), (&m.candidate, CAND)]
            .iter()
            .enumerate()
        {
            let Some(rate) = side.pass_rate else { continue };
            let by = y + 2.0 + 16.0 * j as f64;
            let _ = write!(
                svg,
                "<rect x=\"{left}\" y=\"{by}\" width=\"{:.1}\" height=\"12\" fill=\"{color}\"><title>{}: {}</title></rect>",
                width * rate,
                if j == 0 { "baseline" } else { "candidate" },
                pct(rate)
            );
            if let Some(ci) = side.pass_rate_interval {
                let (x1, x2, ym) = (left + width * ci.lo, left + width * ci.hi, by + 6.0);
                let _ = write!(
                    svg,
                    "<line x1=\"{x1:.1}\" y1=\"{ym}\" x2=\"{x2:.1}\" y2=\"{ym}\" stroke=\"#1d2330\"/>\
                     <line x1=\"{x1:.1}\" y1=\"{}\" x2=\"{x1:.1}\" y2=\"{}\" stroke=\"#1d2330\"/>\
                     <line x1=\"{x2:.1}\" y1=\"{}\" x2=\"{x2:.1}\" y2=\"{}\" stroke=\"#1d2330\"/>",
                    ym - 3.0,
                    ym + 3.0,
                    ym - 3.0,
                    ym + 3.0
                );
            }
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>",
                left + width + 6.0,
                by + 10.0,
                pct(rate)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Side-by-side value histogram of one metric.
fn histogram_chart(m: &MetricComparison, h: &Histogram) -> String {
    let (w, ht, pad) = (320.0, 140.0, 24.0);
    let bins = h.baseline.len();
    let max = h
        .baseline
        .iter()
        .chain(&h.candidate)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let bw = (w - 2.0 * pad) / bins as f64;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"values of {}\" viewBox=\"0 0 {w} {}\" width=\"100%\">",
        escape(&m.metric),
        ht + 20.0
    );
    for (i, (b, c)) in h.baseline.iter().zip(&h.candidate).enumerate() {
        let x = pad + bw * i as f64;
        for (j, (count, color)) in [(b, BASE), (c, CAND)].iter().enumerate() {
            let bh = (ht - pad) * (**count as f64) / max;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\"><title>[{:.3}, {:.3}): {count}</title></rect>",
                x + 1.0 + j as f64 * (bw / 2.0 - 1.0),
                ht - bh,
                bw / 2.0 - 1.0,
                h.edges[i],
                h.edges[i + 1]
            );
        }
    }
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" y1=\"{ht}\" x2=\"{}\" y2=\"{ht}\" stroke=\"#1d2330\"/>\
         <text x=\"{pad}\" y=\"{}\" font-size=\"10\">{:.3}</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{:.3}</text></svg>",
        w - pad,
        ht + 14.0,
        h.edges[0],
        w - pad,
        ht + 14.0,
        h.edges[bins]
    );
    svg
}

/// The whole report.
pub fn html(c: &Comparison) -> String {
    let mut out = String::new();
    let (title, tone) = c.headline();
    let title = title.as_str();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Caliper compare: {}</title><style>{STYLE}</style></head><body>\
         <h1>Caliper: baseline vs candidate <span class=\"{}\">({title})</span></h1>\
         <p class=\"muted\"><code>{}</code> → <code>{}</code>; {}% intervals: Wilson for pass rates, \
         seeded paired bootstrap for changes; McNemar exact test on matched samples.</p>",
        escape(title),
        match tone {
            Tone::Good => "ok",
            Tone::Warning => "warn",
            Tone::Bad => "fail",
        },
        escape(&c.baseline),
        escape(&c.candidate),
        c.confidence * 100.0
    );
    if !c.gates.is_empty() {
        out.push_str("<h2>Gates</h2><ul>");
        for g in &c.gates {
            let _ = write!(
                out,
                "<li class=\"{}\">{} <code>{}</code> {}: <span>{}</span></li>",
                if g.passed { "ok" } else { "fail" },
                if g.passed { "✔" } else { "✘" },
                escape(&g.metric),
                escape(&g.check),
                escape(&g.message)
            );
        }
        out.push_str("</ul>");
    }
    let _ = write!(
        out,
        "<h2>Pass rate per metric</h2><p class=\"legend\"><span style=\"background:{BASE}\"></span>baseline\
         <span style=\"background:{CAND}\"></span>candidate (whiskers: {}% interval)</p>{}",
        c.confidence * 100.0,
        pass_rate_chart(&c.metrics)
    );
    out.push_str(
        "<h2>Changes</h2><table><thead><tr><th>metric</th><th>baseline pass</th><th>candidate pass</th>\
         <th>change on matched</th><th>matched</th><th>regressed</th><th>fixed</th><th>McNemar p</th>\
         <th>mean value change</th><th>versions</th></tr></thead><tbody>",
    );
    for m in &c.metrics {
        let bad = m.pass_rate_change.is_some_and(|d| d < 0.0) && m.mcnemar_p < 0.05;
        let change = change(m.pass_rate_change, m.pass_rate_change_interval);
        let mean = mean_change(m.mean_change, m.mean_change_interval);
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num{}\">{change}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{mean}</td><td>{} → {}</td></tr>",
            escape(&m.metric),
            m.baseline.pass_rate.map_or("-".into(), pct),
            m.candidate.pass_rate.map_or("-".into(), pct),
            if bad { " fail" } else { "" },
            m.matched,
            m.transitions.pass_fail,
            m.transitions.fail_pass,
            p_value(m.mcnemar_p),
            escape(&m.baseline.version),
            escape(&m.candidate.version)
        );
    }
    out.push_str("</tbody></table>");
    if !c.segments.is_empty() {
        let key = escape(c.group_by.as_deref().unwrap_or("segment"));
        let _ = write!(out, "<h2>Per {key}</h2><div class=\"charts\">");
        for (segment, metrics) in &c.segments {
            let _ = write!(
                out,
                "<div class=\"chart\"><h3>{key} = <code>{}</code></h3>{}</div>",
                escape(segment),
                pass_rate_chart(metrics)
            );
        }
        out.push_str("</div>");
    }
    let with_values: Vec<(&MetricComparison, &Histogram)> = c
        .metrics
        .iter()
        .filter_map(|m| Some((m, m.histogram.as_ref()?)))
        .collect();
    if !with_values.is_empty() {
        out.push_str("<h2>Value distributions</h2><div class=\"charts\">");
        for (m, h) in with_values {
            let _ = write!(
                out,
                "<div class=\"chart\"><h3><code>{}</code></h3>{}</div>",
                escape(&m.metric),
                histogram_chart(m, h)
            );
        }
        out.push_str("</div>");
    }
    out.push_str(
        "<h2>Flipped samples</h2><input type=\"search\" id=\"filter\" placeholder=\"Filter by id, metric, text...\" \
         aria-label=\"filter flipped samples\"><table id=\"flips\"><thead><tr><th>metric</th><th>sample</th>\
         <th>change</th><th>before</th><th>after</th><th>input</th><th>output after</th></tr></thead><tbody>",
    );
    let mut rows = 0;
    for m in &c.metrics {
        for f in &m.flipped {
            rows += 1;
            let side = |s: &super::model::FlipSide| {
                format!(
                    "<b>{}</b> {}",
                    s.outcome,
                    escape(s.reason.as_deref().unwrap_or_default())
                )
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&m.metric),
                escape(&f.sample_id),
                if f.direction == "regressed" {
                    "fail"
                } else {
                    "ok"
                },
                f.direction,
                side(&f.baseline),
                side(&f.candidate),
                escape(f.input.as_deref().unwrap_or_default()),
                escape(f.candidate.output.as_deref().unwrap_or_default())
            );
        }
    }
    if rows == 0 {
        out.push_str("<tr><td colspan=\"7\" class=\"muted\">No sample flipped.</td></tr>");
    }
    let _ = writeln!(
        out,
        "</tbody></table><p class=\"muted\" id=\"shown\">{rows} rows</p>\
         <script>\
         const filter=document.getElementById('filter');\
         const rows=Array.from(document.querySelectorAll('#flips tbody tr'));\
         function apply(){{const q=filter.value.toLowerCase();let n=0;\
         for(const r of rows){{const hit=r.textContent.toLowerCase().includes(q);r.style.display=hit?'':'none';if(hit)n++;}}\
         document.getElementById('shown').textContent=n+' rows';}}\
         filter.addEventListener('input',apply);\
         const m=location.hash.match(/^#q=(.*)$/);if(m){{filter.value=decodeURIComponent(m[1]);apply();}}\
         document.body.dataset.ready='1';\
         </script><p class=\"muted\">Generated by caliper {} . <span style=\"color:{BAD}\">Red</span>: a significant drop.</p></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}
