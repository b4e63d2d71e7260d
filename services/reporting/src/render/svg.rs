//! Our own small SVG charts for the HTML report: a line (a weekly trend) or bars (categories), with axes, tick
//! labels, value labels, and a `<title>`, `role="img"` and `aria-label` for screen readers.
//!
//! The output is deterministic (coordinates with one decimal, points in the series' order) so that a report
//! renders to the same bytes every time, and self-contained: presentation attributes only, no CSS classes the
//! page must define, no fonts, no scripts. Every piece of text is escaped here, since the page inserts the SVG
//! as markup.

use super::{fixed, grouped};
use liaison_proto::reporting::v1::{ChartKind, Series};
use std::fmt::Write as _;

/// The size `chart` draws at; the page scales it down on narrow screens.
const WIDTH: u32 = 880;
const HEIGHT: u32 = 300;
const FONT_SIZE: f64 = 11.0;
/// A generous estimate of a character's width at `FONT_SIZE` in a sans-serif font: labels are fitted with it
/// (we cannot measure text without a font).
const CHAR_WIDTH: f64 = 6.6;
const MAX_LABEL_CHARS: usize = 24;
/// A label is cut to its slot only when at least this many characters fit; below, labels are thinned instead.
const MIN_CUT_CHARS: usize = 12;
/// Space kept between two neighbouring labels.
const LABEL_GAP: f64 = 6.0;
const INK: &str = "#1f2933";
const MUTED: &str = "#52606d";
const GRID: &str = "#e1e6ec";
const AXIS: &str = "#7b8794";
const ACCENT: &str = "#2f6db5";

/// Draws `series` as its `chart` kind says; a series with no kind is drawn as bars.
pub fn chart(series: &Series) -> String {
    match series.chart() {
        ChartKind::Line => line_chart(series, WIDTH, HEIGHT),
        ChartKind::Bar | ChartKind::Unspecified => bar_chart(series, WIDTH, HEIGHT),
    }
}

/// A line through the points, one slot per point from left to right (a trend over weeks).
pub fn line_chart(series: &Series, width: u32, height: u32) -> String {
    let frame = Frame::new(width, height);
    let mut out = open(series, "line", "Line chart", &frame);
    if series.points.is_empty() {
        no_data(&mut out, &frame);
        return close(out);
    }
    let values = values(series);
    let scale = Scale::new(&values, series.unit == "count");
    y_axis(&mut out, &frame, &scale, &series.unit);
    let slot = frame.plot_width / values.len() as f64;
    let centre = |i: usize| frame.left + slot * (i as f64 + 0.5);
    let points: Vec<String> =
        values.iter().enumerate().map(|(i, v)| format!("{},{}", f1(centre(i)), f1(scale.y(*v, &frame)))).collect();
    let _ = writeln!(
        out,
        r#"<polyline points="{}" fill="none" stroke="{ACCENT}" stroke-width="2" stroke-linejoin="round"/>"#,
        points.join(" ")
    );
    for (i, (point, value)) in series.points.iter().zip(&values).enumerate() {
        let _ = writeln!(
            out,
            r#"<circle cx="{}" cy="{}" r="3" fill="white" stroke="{ACCENT}" stroke-width="2"><title>{}: {}</title></circle>"#,
            f1(centre(i)),
            f1(scale.y(*value, &frame)),
            escape(&point.label),
            escape(&short_value(point.value, &series.unit)),
        );
    }
    value_labels(&mut out, series, &values, &scale, &frame, slot, centre);
    x_labels(&mut out, series, &frame, slot, centre);
    close(out)
}

/// One bar per point, from zero (categories such as stages or buckets of days).
pub fn bar_chart(series: &Series, width: u32, height: u32) -> String {
    let frame = Frame::new(width, height);
    let mut out = open(series, "bar", "Bar chart", &frame);
    if series.points.is_empty() {
        no_data(&mut out, &frame);
        return close(out);
    }
    let values = values(series);
    let scale = Scale::new(&values, series.unit == "count");
    y_axis(&mut out, &frame, &scale, &series.unit);
    let slot = frame.plot_width / values.len() as f64;
    let centre = |i: usize| frame.left + slot * (i as f64 + 0.5);
    let bar_width = (slot * 0.7).min(72.0);
    let zero = scale.y(0.0, &frame);
    for (i, (point, value)) in series.points.iter().zip(&values).enumerate() {
        let top = scale.y(*value, &frame);
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{ACCENT}"><title>{}: {}</title></rect>"#,
            f1(centre(i) - bar_width / 2.0),
            f1(top.min(zero)),
            f1(bar_width),
            f1((top - zero).abs()),
            escape(&point.label),
            escape(&short_value(point.value, &series.unit)),
        );
    }
    value_labels(&mut out, series, &values, &scale, &frame, slot, centre);
    x_labels(&mut out, series, &frame, slot, centre);
    close(out)
}

/// The plot area inside the margins that hold the tick labels.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    top: f64,
    plot_width: f64,
    plot_height: f64,
}

impl Frame {
    fn new(width: u32, height: u32) -> Frame {
        // Below this the margins would leave no plot area (and negative sizes); the SVG scales anyway.
        let width = f64::from(width.max(200));
        let height = f64::from(height.max(120));
        let (left, right, top, bottom) = (56.0, 16.0, 24.0, 36.0);
        Frame { width, height, left, top, plot_width: width - left - right, plot_height: height - top - bottom }
    }

    fn bottom(&self) -> f64 {
        self.top + self.plot_height
    }
}

/// The value axis: from a round number at or below zero to one at or above the largest value.
struct Scale {
    low: f64,
    high: f64,
    step: f64,
    ticks: usize,
    decimals: usize,
}

impl Scale {
    fn new(values: &[f64], integer: bool) -> Scale {
        let low = values.iter().copied().fold(0.0, f64::min);
        let high = values.iter().copied().fold(0.0, f64::max);
        let span = if high - low > 0.0 { high - low } else { 1.0 };
        let mut step = nice(span / 5.0);
        if integer && step < 1.0 {
            step = 1.0;
        }
        let low = (low / step).floor() * step;
        let mut high = (high / step).ceil() * step;
        if high <= low {
            high = low + step;
        }
        // Capped so that absurd values cannot make us draw (or loop over) thousands of grid lines.
        let ticks = (((high - low) / step).round() as usize).clamp(1, 20);
        let decimals = if step >= 1.0 { 0 } else { ((-step.log10()).ceil() as usize).min(6) };
        Scale { low, high, step, ticks, decimals }
    }

    fn y(&self, value: f64, frame: &Frame) -> f64 {
        frame.top + frame.plot_height * (self.high - value) / (self.high - self.low)
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// The points' values, with what is not a number drawn as zero (its label says `n/a`).
fn values(series: &Series) -> Vec<f64> {
    series.points.iter().map(|p| if p.value.is_finite() { p.value } else { 0.0 }).collect()
}

fn open(series: &Series, class: &str, kind: &str, frame: &Frame) -> String {
    let mut out = String::new();
    let title = if series.title.is_empty() { series.id.as_str() } else { series.title.as_str() };
    let count = series.points.len();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart {class}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{kind}: {label}, {count} {points}" font-family="sans-serif" font-size="{FONT_SIZE}" fill="{INK}">"#,
        w = frame.width,
        h = frame.height,
        label = escape(title),
        points = if count == 1 { "point" } else { "points" },
    );
    let _ = writeln!(out, "<title>{}</title>", escape(title));
    let description: Vec<String> =
        series.points.iter().map(|p| format!("{}: {}", p.label, short_value(p.value, &series.unit))).collect();
    let _ = writeln!(out, "<desc>{}</desc>", escape(&description.join("; ")));
    out
}

fn close(mut out: String) -> String {
    out.push_str("</svg>\n");
    out
}

fn no_data(out: &mut String, frame: &Frame) {
    let _ = writeln!(
        out,
        r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{GRID}"/>"#,
        f1(frame.left),
        f1(frame.top),
        f1(frame.plot_width),
        f1(frame.plot_height)
    );
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" fill="{MUTED}" font-size="14">No data</text>"#,
        f1(frame.left + frame.plot_width / 2.0),
        f1(frame.top + frame.plot_height / 2.0)
    );
}

fn y_axis(out: &mut String, frame: &Frame, scale: &Scale, unit: &str) {
    for i in 0..=scale.ticks {
        let value = scale.low + scale.step * i as f64;
        let y = f1(scale.y(value, frame));
        let colour = if value == 0.0 { AXIS } else { GRID };
        let _ = writeln!(
            out,
            r#"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="{colour}"/>"#,
            f1(frame.left),
            f1(frame.left + frame.plot_width)
        );
        let _ = writeln!(
            out,
            r#"<text class="y-label" x="{}" y="{y}" dy="0.32em" text-anchor="end" fill="{MUTED}">{}</text>"#,
            f1(frame.left - 6.0),
            escape(&grouped(value, scale.decimals))
        );
    }
    let _ = writeln!(
        out,
        r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="{AXIS}"/>"#,
        f1(frame.top),
        f1(frame.bottom()),
        x = f1(frame.left)
    );
    let caption = unit_caption(unit);
    if !caption.is_empty() {
        let _ = writeln!(
            out,
            r#"<text class="unit" x="4" y="{}" fill="{MUTED}">{}</text>"#,
            f1(frame.top - 10.0),
            escape(&truncate(caption, MAX_LABEL_CHARS))
        );
    }
}

/// Each point's value, above it (below it when negative); thinned out when they would overlap.
fn value_labels(
    out: &mut String,
    series: &Series,
    values: &[f64],
    scale: &Scale,
    frame: &Frame,
    slot: f64,
    centre: impl Fn(usize) -> f64,
) {
    let labels: Vec<String> = series.points.iter().map(|p| short_value(p.value, &series.unit)).collect();
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let every = spacing(widest, slot);
    for (i, (label, value)) in labels.iter().zip(values).enumerate() {
        if i % every != 0 {
            continue;
        }
        let y = scale.y(*value, frame);
        let y = if *value < 0.0 { y + FONT_SIZE + 4.0 } else { y - 6.0 };
        let _ = writeln!(
            out,
            r#"<text class="value-label" x="{}" y="{}" text-anchor="middle" font-weight="bold">{}</text>"#,
            f1(centre(i)),
            f1(y),
            escape(label)
        );
    }
}

/// The points' labels under the axis. Where slots are wide enough for a few words, a longer label is cut to its
/// slot (with an ellipsis, the whole label in a tooltip); where they are narrow (many weeks), labels are kept
/// whole and only every n-th is drawn, since `2026-…` under every point says nothing.
fn x_labels(out: &mut String, series: &Series, frame: &Frame, slot: f64, centre: impl Fn(usize) -> f64) {
    let fits = ((slot - LABEL_GAP) / CHAR_WIDTH).floor().max(0.0) as usize;
    let widest = series.points.iter().map(|p| p.label.chars().count()).max().unwrap_or(0);
    let max_chars = if fits >= MIN_CUT_CHARS { fits.min(MAX_LABEL_CHARS) } else { widest.min(MIN_CUT_CHARS) };
    let labels: Vec<String> = series.points.iter().map(|p| truncate(&p.label, max_chars.max(2))).collect();
    let every = spacing(labels.iter().map(|l| l.chars().count()).max().unwrap_or(0), slot);
    let y = f1(frame.bottom() + FONT_SIZE + 6.0);
    for (i, (label, point)) in labels.iter().zip(&series.points).enumerate() {
        if i % every != 0 {
            continue;
        }
        let tooltip =
            if *label == point.label { String::new() } else { format!("<title>{}</title>", escape(&point.label)) };
        let _ = writeln!(
            out,
            r#"<text class="x-label" x="{}" y="{y}" text-anchor="middle" fill="{MUTED}">{tooltip}{}</text>"#,
            f1(centre(i)),
            escape(label)
        );
    }
}

/// Draw every n-th of labels `chars` long so that they do not overlap in slots `slot` wide.
fn spacing(chars: usize, slot: f64) -> usize {
    let needed = chars as f64 * CHAR_WIDTH + LABEL_GAP;
    if slot > 0.0 { ((needed / slot).ceil() as usize).max(1) } else { 1 }
}

/// `label`, cut to `max` characters with an ellipsis (characters, not bytes: labels are not ASCII-only).
fn truncate(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        return label.to_owned();
    }
    let mut out: String = label.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn short_value(value: f64, unit: &str) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    match unit {
        "count" => grouped(value, 0),
        "percent" => format!("{}%", fixed(value, 1)),
        _ if unit.starts_with("currency:") => grouped(value, 0),
        _ => fixed(value, 1),
    }
}

fn unit_caption(unit: &str) -> &str {
    match unit {
        "percent" => "%",
        _ => unit.strip_prefix("currency:").unwrap_or(unit),
    }
}

/// A coordinate, to one decimal: enough for a screen, and stable across platforms.
fn f1(value: f64) -> String {
    fixed(value, 1)
}

/// Text for SVG content or an attribute value; characters XML does not allow at all become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c.is_control() && u32::from(c) < 0x20 => out.push('\u{FFFD}'),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::reporting::v1::SeriesPoint;

    fn series(chart: ChartKind, unit: &str, points: &[(&str, f64)]) -> Series {
        Series {
            id: "s".into(),
            title: "Cases by stage".into(),
            chart: chart.into(),
            points: points.iter().map(|(label, value)| SeriesPoint { label: (*label).into(), value: *value }).collect(),
            unit: unit.into(),
        }
    }

    /// Parses the SVG as XML (so tags balance and every entity is valid) and checks what screen readers need.
    fn well_formed(svg: &str) -> roxmltree::Document<'_> {
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{svg}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("role"), Some("img"));
        assert!(root.attribute("aria-label").is_some_and(|l| !l.is_empty()));
        assert_eq!(root.first_element_child().map(|e| e.tag_name().name()), Some("title"));
        for node in doc.descendants() {
            for attribute in node.attributes() {
                let value = attribute.value();
                assert!(!value.contains("NaN") && !value.contains("inf"), "{}={value} in\n{svg}", attribute.name());
            }
        }
        doc
    }

    fn both(s: &Series) -> [String; 2] {
        [line_chart(s, 640, 280), bar_chart(s, 640, 280)]
    }

    fn count(svg: &str, class: &str) -> usize {
        svg.matches(&format!("class=\"{class}\"")).count()
    }

    #[test]
    fn an_empty_series_draws_no_data() {
        for svg in both(&series(ChartKind::Line, "count", &[])) {
            well_formed(&svg);
            assert!(svg.contains(">No data</text>"));
        }
    }

    #[test]
    fn a_single_point_draws_one_labelled_point() {
        let [line, bar] = both(&series(ChartKind::Line, "count", &[("2026-W01", 3.0)]));
        well_formed(&line);
        well_formed(&bar);
        assert_eq!(line.matches("<circle").count(), 1);
        assert_eq!(bar.matches("<rect").count(), 1);
        assert_eq!(count(&bar, "value-label"), 1);
        assert_eq!(count(&bar, "x-label"), 1);
    }

    #[test]
    fn all_zeros_still_have_an_axis_with_whole_numbers() {
        for svg in both(&series(ChartKind::Bar, "count", &[("a", 0.0), ("b", 0.0)])) {
            well_formed(&svg);
            assert!(svg.contains(">0</text>") && svg.contains(">1</text>"), "{svg}");
        }
    }

    #[test]
    fn negative_and_non_numeric_values_do_not_panic() {
        let points = [("a", -3.5), ("b", f64::NAN), ("c", f64::INFINITY), ("d", 1e300), ("e", -1e300)];
        for svg in both(&series(ChartKind::Bar, "days", &points)) {
            well_formed(&svg);
            assert!(svg.contains(": n/a</title>"));
        }
        for svg in both(&series(ChartKind::Bar, "", &[("a", -2.0), ("b", -7.0)])) {
            well_formed(&svg);
            assert!(svg.contains(">-7.0</text>"));
        }
    }

    #[test]
    fn a_very_long_label_is_cut_with_an_ellipsis_and_kept_whole_in_a_tooltip() {
        let long = "Preparation of the joint agreement between all parties concerned";
        let svg = bar_chart(&series(ChartKind::Bar, "count", &[(long, 1.0), ("b", 2.0)]), 640, 280);
        let doc = well_formed(&svg);
        let label = doc.descendants().find(|n| n.attribute("class") == Some("x-label")).unwrap();
        let shown = label.children().filter(|n| n.is_text()).map(|n| n.text().unwrap()).collect::<String>();
        assert!(shown.ends_with('…') && shown.chars().count() <= MAX_LABEL_CHARS, "{shown}");
        assert!(svg.contains(&format!("<title>{long}</title>")));
    }

    #[test]
    fn many_points_thin_out_the_tick_labels() {
        let labels: Vec<String> = (1..=200).map(|i| format!("2026-W{i:03}")).collect();
        let points: Vec<(&str, f64)> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i as f64)).collect();
        for svg in both(&series(ChartKind::Line, "count", &points)) {
            well_formed(&svg);
            let shown = count(&svg, "x-label");
            assert!((2..=30).contains(&shown), "{shown} labels");
            assert!(count(&svg, "value-label") <= 60);
        }
    }

    #[test]
    fn thirteen_weeks_show_every_week_whole_at_the_default_size() {
        let labels: Vec<String> = (1..=13).map(|i| format!("2026-W{i:02}")).collect();
        let points: Vec<(&str, f64)> = labels.iter().map(|l| (l.as_str(), 12.0)).collect();
        let svg = chart(&series(ChartKind::Line, "count", &points));
        well_formed(&svg);
        assert_eq!(count(&svg, "x-label"), 13);
        assert!(svg.contains(">2026-W13</text>"));
    }

    #[test]
    fn a_label_with_markup_is_escaped_in_svg() {
        let mut s = series(ChartKind::Bar, "count", &[("<script>alert('x')</script>", 1.0), ("a & b", 2.0)]);
        s.title = "\"quoted\" <b>title</b>\u{1}".into();
        for svg in both(&s) {
            let doc = well_formed(&svg);
            assert!(!svg.contains("<script") && !svg.contains("<b>"));
            assert!(svg.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
            assert!(doc.descendants().all(|n| n.tag_name().name() != "script"));
            assert!(doc.root_element().attribute("aria-label").unwrap().contains("\"quoted\" <b>title</b>"));
        }
    }

    #[test]
    fn chart_dispatches_on_the_kind_and_draws_bars_when_unspecified() {
        let points = [("a", 1.0)];
        assert!(chart(&series(ChartKind::Line, "", &points)).contains(r#"class="chart line""#));
        assert!(chart(&series(ChartKind::Bar, "", &points)).contains(r#"class="chart bar""#));
        assert!(chart(&series(ChartKind::Unspecified, "", &points)).contains(r#"class="chart bar""#));
        let mut unknown = series(ChartKind::Line, "", &points);
        unknown.chart = 42;
        assert!(chart(&unknown).contains(r#"class="chart bar""#));
    }

    #[test]
    fn the_same_series_draws_the_same_bytes_and_tiny_sizes_do_not_panic() {
        let s = series(ChartKind::Line, "percent", &[("a", 12.25), ("b", 80.0), ("c", 33.3)]);
        assert_eq!(line_chart(&s, 640, 280), line_chart(&s, 640, 280));
        for (w, h) in [(0, 0), (1, 1), (u32::MAX, u32::MAX)] {
            well_formed(&line_chart(&s, w, h));
            well_formed(&bar_chart(&s, w, h));
        }
    }

    #[test]
    fn axis_steps_are_round_numbers() {
        let scale = Scale::new(&[0.0, 37.0], true);
        assert_eq!((scale.low, scale.high, scale.step, scale.ticks), (0.0, 40.0, 10.0, 4));
        let scale = Scale::new(&[0.3, 0.8], false);
        assert_eq!((scale.step, scale.decimals), (0.2, 1));
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(f64::NAN), 1.0);
    }
}
