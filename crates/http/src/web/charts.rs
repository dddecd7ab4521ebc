//! SVG charts drawn on the server: no scripts, readable when printed, and each with a text
//! title and labels so the numbers do not depend on colour.

use cscx_store::model::UsageMetric;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal stacked bar of the health bands, each segment labelled with its count.
pub fn bands(green: i64, yellow: i64, red: i64, unscored: i64) -> String {
    let total = (green + yellow + red + unscored).max(1) as f64;
    let (w, h) = (360.0, 28.0);
    let mut x = 0.0;
    let mut parts = String::new();
    for (n, color, label) in [
        (green, "#17693a", "green"),
        (yellow, "#8a5a00", "yellow"),
        (red, "#b3261e", "red"),
        (unscored, "#8a93a3", "not scored"),
    ] {
        if n == 0 {
            continue;
        }
        let width = w * n as f64 / total;
        parts.push_str(&format!(
            r#"<rect x="{x:.1}" y="0" width="{width:.1}" height="{h}" fill="{color}"><title>{n} {label}</title></rect>"#
        ));
        x += width;
    }
    format!(
        r#"<svg role="img" aria-label="Health: {green} green, {yellow} yellow, {red} red, {unscored} not scored" viewBox="0 0 {w} {h}" width="100%" height="{h}">{parts}</svg>"#
    )
}

/// "3 Nov 2026" for a unix-ms instant.
fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%-d %b %Y").to_string())
        .unwrap_or_default()
}

/// A line chart of (unix ms, value) points with the y range given; the axes carry the range
/// and the first and last dates.
pub fn line(points: &[(i64, i32)], title: &str, min: i32, max: i32) -> String {
    if points.len() < 2 {
        return String::new();
    }
    let (w, h, pad) = (480.0, 160.0, 28.0);
    let (t0, t1) = (points[0].0 as f64, points[points.len() - 1].0 as f64);
    let span = (t1 - t0).max(1.0);
    let xy = |t: i64, v: i32| {
        let x = pad + (w - 2.0 * pad) * (t as f64 - t0) / span;
        let y = h - pad - (h - 2.0 * pad) * (v - min) as f64 / (max - min).max(1) as f64;
        (x, y)
    };
    let path: Vec<String> = points
        .iter()
        .map(|(t, v)| {
            let (x, y) = xy(*t, *v);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let (lx, ly) = xy(points[points.len() - 1].0, points[points.len() - 1].1);
    let y50 = xy(points[0].0, 50).1;
    let y75 = xy(points[0].0, 75).1;
    format!(
        r##"<svg role="img" aria-label="{t}: from {first} to {last}" viewBox="0 0 {w} {h}" width="100%">
<line x1="{pad}" x2="{x2}" y1="{y50:.1}" y2="{y50:.1}" stroke="#b3261e" stroke-dasharray="4 4"/><text x="2" y="{y50t:.1}">50</text>
<line x1="{pad}" x2="{x2}" y1="{y75:.1}" y2="{y75:.1}" stroke="#17693a" stroke-dasharray="4 4"/><text x="2" y="{y75t:.1}">75</text>
<polyline fill="none" stroke="#1f5fbf" stroke-width="2" points="{pts}"/>
<circle cx="{lx:.1}" cy="{ly:.1}" r="4" fill="#1f5fbf"/><text x="{tx:.1}" y="{ty:.1}">{last}</text>
<text x="2" y="{ymax:.1}">{max}</text><text x="2" y="{ymin:.1}">{min}</text>
<text x="{pad}" y="{dy}" font-size="11">{d0}</text><text x="{x2}" y="{dy}" font-size="11" text-anchor="end">{d1}</text>
</svg>"##,
        ymax = xy(points[0].0, max).1 + 4.0,
        ymin = xy(points[0].0, min).1 + 4.0,
        dy = h - 4.0,
        d0 = day(points[0].0),
        d1 = day(points[points.len() - 1].0),
        t = esc(title),
        first = points[0].1,
        last = points[points.len() - 1].1,
        x2 = w - pad,
        y50t = y50 + 4.0,
        y75t = y75 + 4.0,
        pts = path.join(" "),
        tx = lx - 8.0,
        ty = ly - 8.0,
    )
}

/// Daily, weekly and monthly active users over the period, three labelled lines.
pub fn usage(rows: &[UsageMetric]) -> String {
    if rows.len() < 2 {
        return String::new();
    }
    let max = rows
        .iter()
        .map(|r| {
            r.mau
                .unwrap_or(0)
                .max(r.wau.unwrap_or(0))
                .max(r.dau.unwrap_or(0))
        })
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, h, pad) = (480.0, 160.0, 28.0);
    let n = rows.len() as f64 - 1.0;
    let series = |f: fn(&UsageMetric) -> Option<i32>, color: &str, label: &str| {
        let pts: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let x = pad + (w - 2.0 * pad) * i as f64 / n;
                let y = h - pad - (h - 2.0 * pad) * f(r).unwrap_or(0) as f64 / max as f64;
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let last = f(&rows[rows.len() - 1]).unwrap_or(0);
        format!(
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"><title>{label}: {last}</title></polyline>"#,
            pts.join(" ")
        )
    };
    let last = &rows[rows.len() - 1];
    format!(
        r##"<svg role="img" aria-label="Active users: {dau} daily, {wau} weekly, {mau} monthly" viewBox="0 0 {w} {h}" width="100%">{a}{b}{c}
<text x="{pad}" y="14">{day}: DAU {dau} (solid) · WAU {wau} (dashed) · MAU {mau} (dotted)</text></svg>"##,
        day = last.metric_date.format("%-d %b %Y"),
        dau = last.dau.unwrap_or(0),
        wau = last.wau.unwrap_or(0),
        mau = last.mau.unwrap_or(0),
        a = series(|r| r.dau, "#1f5fbf", "DAU"),
        b = series(|r| r.wau, "#8a5a00", "WAU")
            .replace("<polyline ", r#"<polyline stroke-dasharray="6 3" "#),
        c = series(|r| r.mau, "#17693a", "MAU")
            .replace("<polyline ", r#"<polyline stroke-dasharray="2 3" "#),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_chart_names_its_range_and_dates() {
        let day_ms = 86_400_000;
        let svg = line(&[(0, 40), (30 * day_ms, 62)], "Health", 0, 100);
        assert!(
            svg.contains(">1 Jan 1970<") && svg.contains(">31 Jan 1970<"),
            "{svg}"
        );
        assert!(svg.contains(">100<") && svg.contains(">0<"), "{svg}");
        assert!(svg.contains("from 40 to 62"));
        assert_eq!(line(&[(0, 1)], "one point", 0, 100), "");
    }
}
