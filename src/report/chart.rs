//! Charts as inline SVG, drawn here rather than by a plotting crate: the report must
//! open offline in any browser, text is laid out by the browser (so no font files are
//! needed), and every chart is a few dozen elements a test can count.
//!
//! Every chart has a title, labelled axes with units, and `class="chart"`; each drawn
//! data mark (band, line, bar, cell) has `class="mark"`, which the report's self-check
//! counts.

use std::fmt::Write;

/// One x position of a fan: the P05–P95 band and the median.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// Position on the x axis.
    pub x: f64,
    /// Lower edge (P05, or a CI's low end).
    pub low: f64,
    /// The line (median, or a mean).
    pub mid: f64,
    /// Upper edge (P95, or a CI's high end).
    pub high: f64,
}

/// A named series of bands, drawn in one colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Points in x order; non-finite values are skipped.
    pub points: Vec<Band>,
}

/// A horizontal bar of a tornado chart: the change of a measure from a key's low to its
/// high value, with its confidence interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The key, as `KEY.PATH (low → high)`.
    pub label: String,
    /// The change.
    pub value: f64,
    /// Its 95% interval.
    pub low: f64,
    /// Its 95% interval.
    pub high: f64,
}

/// Axis titles, with units in them (`"week"`, `"utilization (%)"`).
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// Chart title.
    pub title: &'a str,
    /// x axis title.
    pub x: &'a str,
    /// y axis title.
    pub y: &'a str,
}

/// Series colours, distinguishable in colour-blind palettes (Okabe–Ito).
const COLOURS: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
];

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 340.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 52.0;

/// A linear map from data to pixels over "nice" tick values.
struct Scale {
    ticks: Vec<f64>,
    from: (f64, f64),
    to: (f64, f64),
}

impl Scale {
    /// Covers `low..=high` (widened when empty) with about `count` round ticks.
    fn new(low: f64, high: f64, count: usize, to: (f64, f64)) -> Scale {
        let (low, high) = if (high - low).abs() < 1e-12 * high.abs().max(1.0) {
            (low - 0.5, high + 0.5)
        } else {
            (low, high)
        };
        Scale::with_step(low, high, nice_step((high - low) / count.max(1) as f64), to)
    }

    /// Covers `low..=high` with ticks `step` apart.
    fn with_step(low: f64, high: f64, step: f64, to: (f64, f64)) -> Scale {
        let (low, high) = if (high - low).abs() < 1e-12 * high.abs().max(1.0) {
            (low - step, high + step)
        } else {
            (low, high)
        };
        let first = (low / step).floor() * step;
        let last = (high / step).ceil() * step;
        let n = ((last - first) / step).round() as usize;
        let ticks = (0..=n).map(|k| first + step * k as f64).collect();
        Scale {
            ticks,
            from: (first, last),
            to,
        }
    }

    fn at(&self, value: f64) -> f64 {
        let (a, b) = self.from;
        self.to.0 + (value - a) / (b - a) * (self.to.1 - self.to.0)
    }

    fn step(&self) -> f64 {
        if self.ticks.len() > 1 {
            self.ticks[1] - self.ticks[0]
        } else {
            1.0
        }
    }
}

/// 1, 2, 2.5 or 5 × a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let fraction = raw / power;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&f| fraction <= f + 1e-9)
        .unwrap_or(10.0);
    nice * power
}

/// A tick label with as many decimals as the step needs, and k/M/B for large values.
pub fn tick_text(value: f64, step: f64) -> String {
    let magnitude = value.abs().max(step.abs());
    let (scaled, scaled_step, suffix) = match magnitude {
        m if m >= 1e9 => (value / 1e9, step / 1e9, "B"),
        m if m >= 1e6 => (value / 1e6, step / 1e6, "M"),
        m if m >= 1e4 => (value / 1e3, step / 1e3, "k"),
        _ => (value, step, ""),
    };
    let decimals = if scaled_step >= 1.0 {
        0
    } else {
        (-scaled_step.log10()).ceil().clamp(0.0, 6.0) as usize
    };
    let text = format!("{scaled:.decimals$}");
    // "-0" reads as a different number from "0".
    let text = if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    };
    format!("{text}{suffix}")
}

/// Escapes text for XML content and attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The opening of a chart `height` pixels tall: frame, title and axis titles.
fn open(svg: &mut String, id: &str, labels: Labels<'_>, height: f64) {
    let _ = write!(
        svg,
        r#"<svg class="chart" id="{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{title}" font-family="sans-serif" font-size="12">"#,
        id = escape(id),
        title = escape(labels.title)
    );
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="20" font-size="15" font-weight="bold">{}</text>"#,
        escape(labels.title)
    );
    let plot_middle = LEFT + (WIDTH - LEFT - RIGHT) / 2.0;
    let _ = write!(
        svg,
        r#"<text x="{plot_middle}" y="{}" text-anchor="middle">{}</text>"#,
        height - 10.0,
        escape(labels.x)
    );
    let y_middle = TOP + (height - TOP - BOTTOM) / 2.0;
    let _ = write!(
        svg,
        r#"<text transform="translate(16 {y_middle}) rotate(-90)" text-anchor="middle">{}</text>"#,
        escape(labels.y)
    );
}

/// Grid lines and tick labels of both axes.
fn axes(svg: &mut String, x: &Scale, y: &Scale, x_text: &dyn Fn(f64) -> String) {
    let (bottom, top) = (HEIGHT - BOTTOM, TOP);
    for &tick in &y.ticks {
        let py = y.at(tick);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{py:.1}" y2="{py:.1}" stroke="#ddd"/>"##,
            WIDTH - RIGHT
        );
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            py + 4.0,
            tick_text(tick, y.step())
        );
    }
    for &tick in &x.ticks {
        let px = x.at(tick);
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{bottom}" y2="{}" stroke="#444"/>"##,
            bottom + 5.0
        );
        let _ = write!(
            svg,
            r#"<text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"#,
            bottom + 18.0,
            escape(&x_text(tick))
        );
    }
    let _ = write!(
        svg,
        r##"<path d="M{LEFT} {top} V{bottom} H{}" fill="none" stroke="#444"/>"##,
        WIDTH - RIGHT
    );
}

/// A legend entry at row `index` of the right margin.
fn legend(svg: &mut String, index: usize, colour: &str, label: &str) {
    let x = WIDTH - RIGHT + 14.0;
    let y = TOP + 8.0 + 20.0 * index as f64;
    let _ = write!(
        svg,
        r#"<rect x="{x}" y="{}" width="14" height="10" fill="{colour}" fill-opacity="0.35" stroke="{colour}"/>"#,
        y - 9.0
    );
    let _ = write!(
        svg,
        r#"<text x="{}" y="{y}">{}</text>"#,
        x + 20.0,
        escape(label)
    );
}

/// Fan chart: each series' P05–P95 band shaded and its median drawn as a line (or, for
/// a sweep, a mean and its confidence interval).
pub fn fan(id: &str, labels: Labels<'_>, series: &[Series]) -> String {
    let finite =
        |b: &&Band| b.x.is_finite() && b.low.is_finite() && b.mid.is_finite() && b.high.is_finite();
    let all: Vec<&Band> = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(finite)
        .collect();
    let mut svg = String::new();
    open(&mut svg, id, labels, HEIGHT);
    let (x_low, x_high) = bounds(all.iter().map(|b| b.x));
    let (y_low, y_high) = bounds(all.iter().flat_map(|b| [b.low, b.high, b.mid]));
    let mut x = Scale::new(x_low, x_high, 8, (LEFT, WIDTH - RIGHT));
    // Years and weeks are whole numbers: no tick between two of them.
    if all.iter().all(|b| b.x.fract() == 0.0) && x.step() < 1.0 {
        x = Scale::with_step(x_low, x_high, 1.0, (LEFT, WIDTH - RIGHT));
    }
    let y = Scale::new(y_low, y_high, 5, (HEIGHT - BOTTOM, TOP));
    let step = x.step();
    axes(&mut svg, &x, &y, &|v| tick_text(v, step));
    for (index, one) in series.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let points: Vec<&Band> = one.points.iter().filter(finite).collect();
        if points.is_empty() {
            continue;
        }
        if points.len() == 1 {
            // A single x: a whisker and a dot.
            let b = points[0];
            let px = x.at(b.x);
            let _ = write!(
                svg,
                r#"<line class="mark" x1="{px:.1}" x2="{px:.1}" y1="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="3" stroke-opacity="0.5"/><circle class="mark" cx="{px:.1}" cy="{:.1}" r="4" fill="{colour}"/>"#,
                y.at(b.low),
                y.at(b.high),
                y.at(b.mid)
            );
        } else {
            let upper = points
                .iter()
                .map(|b| format!("{:.1},{:.1}", x.at(b.x), y.at(b.high)));
            let lower = points
                .iter()
                .rev()
                .map(|b| format!("{:.1},{:.1}", x.at(b.x), y.at(b.low)));
            let outline: Vec<String> = upper.chain(lower).collect();
            let _ = write!(
                svg,
                r#"<polygon class="mark" points="{}" fill="{colour}" fill-opacity="0.25" stroke="none"/>"#,
                outline.join(" ")
            );
            let line: Vec<String> = points
                .iter()
                .map(|b| format!("{:.1},{:.1}", x.at(b.x), y.at(b.mid)))
                .collect();
            let _ = write!(
                svg,
                r#"<polyline class="mark" points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                line.join(" ")
            );
        }
        legend(&mut svg, index, colour, &one.label);
    }
    svg.push_str("</svg>");
    svg
}

/// Histogram of `values` (non-finite ones left out) in about √n bins, with the mean
/// marked.
pub fn histogram(id: &str, labels: Labels<'_>, values: &[f64]) -> String {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let mut svg = String::new();
    open(&mut svg, id, labels, HEIGHT);
    let (low, high) = bounds(values.iter().copied());
    let x = Scale::new(low, high, 8, (LEFT, WIDTH - RIGHT));
    let bins = ((values.len() as f64).sqrt().ceil() as usize).clamp(1, 40);
    let (first, last) = x.from;
    let width = (last - first) / bins as f64;
    let mut counts = vec![0u64; bins];
    for v in &values {
        let bin = (((v - first) / width).floor().max(0.0) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0) as f64;
    let y = Scale::new(0.0, most.max(1.0), 5, (HEIGHT - BOTTOM, TOP));
    let step = x.step();
    axes(&mut svg, &x, &y, &|v| tick_text(v, step));
    for (bin, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let left = x.at(first + width * bin as f64);
        let right = x.at(first + width * (bin + 1) as f64);
        let top = y.at(count as f64);
        let _ = write!(
            svg,
            r##"<rect class="mark" x="{left:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.6" stroke="#fff"/>"##,
            (right - left).max(1.0),
            (HEIGHT - BOTTOM - top).max(0.5),
            COLOURS[2]
        );
    }
    if !values.is_empty() {
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let px = x.at(mean);
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{}" stroke="#000" stroke-dasharray="4 3"/>"##,
            HEIGHT - BOTTOM
        );
        legend(
            &mut svg,
            0,
            COLOURS[2],
            &format!("{} replications", values.len()),
        );
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}">mean {}</text>"#,
            WIDTH - RIGHT + 14.0,
            TOP + 32.0,
            tick_text(mean, step / 100.0)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Tornado: one horizontal bar per key from 0 to its effect, largest first, with the
/// effect's confidence interval as a whisker.
pub fn tornado(id: &str, labels: Labels<'_>, bars: &[Bar]) -> String {
    let mut svg = String::new();
    // Taller than the other charts: one row per key.
    let height = TOP + BOTTOM + 28.0 * bars.len().max(1) as f64;
    open(&mut svg, id, labels, height);
    let left = 290.0;
    let (low, high) = bounds(bars.iter().flat_map(|b| [b.low, b.high, b.value, 0.0]));
    let x = Scale::new(low, high, 6, (left, WIDTH - 30.0));
    let bottom = height - BOTTOM;
    for &tick in &x.ticks {
        let px = x.at(tick);
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{TOP}" y2="{bottom}" stroke="#ddd"/>"##
        );
        let _ = write!(
            svg,
            r#"<text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"#,
            bottom + 18.0,
            tick_text(tick, x.step())
        );
    }
    let zero = x.at(0.0);
    let _ = write!(
        svg,
        r##"<line x1="{zero:.1}" x2="{zero:.1}" y1="{TOP}" y2="{bottom}" stroke="#444"/>"##
    );
    for (row, bar) in bars.iter().enumerate() {
        let y = TOP + 6.0 + 28.0 * row as f64;
        let colour = if bar.value >= 0.0 {
            COLOURS[0]
        } else {
            COLOURS[1]
        };
        let (from, to) = (zero.min(x.at(bar.value)), zero.max(x.at(bar.value)));
        let _ = write!(
            svg,
            r#"<text x="6" y="{:.1}" font-size="11">{}</text>"#,
            y + 13.0,
            escape(&shortened(&bar.label, 48))
        );
        let _ = write!(
            svg,
            r#"<rect class="mark" x="{from:.1}" y="{y:.1}" width="{:.1}" height="18" fill="{colour}" fill-opacity="0.7"/>"#,
            (to - from).max(1.0)
        );
        if bar.low.is_finite() && bar.high.is_finite() {
            let _ = write!(
                svg,
                r##"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#000"/>"##,
                x.at(bar.low),
                x.at(bar.high),
                y + 9.0,
                y + 9.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// `text` cut to its last `most` characters behind an ellipsis: the end of a key path
/// names the key.
fn shortened(text: &str, most: usize) -> String {
    let count = text.chars().count();
    if count <= most {
        text.to_string()
    } else {
        format!(
            "…{}",
            text.chars().skip(count - most + 1).collect::<String>()
        )
    }
}

/// Heat map of a value over two axes' values (a two-key sweep), each cell labelled.
pub fn heatmap(
    id: &str,
    labels: Labels<'_>,
    xs: &[String],
    ys: &[String],
    cells: &[(usize, usize, f64)],
) -> String {
    let mut svg = String::new();
    open(&mut svg, id, labels, HEIGHT);
    let (low, high) = bounds(cells.iter().map(|c| c.2));
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let (cell_w, cell_h) = (
        plot_width / xs.len().max(1) as f64,
        plot_height / ys.len().max(1) as f64,
    );
    for (i, label) in xs.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            LEFT + cell_w * (i as f64 + 0.5),
            HEIGHT - BOTTOM + 16.0,
            escape(label)
        );
    }
    for (j, label) in ys.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            HEIGHT - BOTTOM - cell_h * (j as f64 + 0.5) + 4.0,
            escape(label)
        );
    }
    let step = nice_step((high - low).abs() / 5.0);
    for &(i, j, value) in cells {
        let share = if high > low {
            (value - low) / (high - low)
        } else {
            0.5
        };
        let (x, y) = (
            LEFT + cell_w * i as f64,
            HEIGHT - BOTTOM - cell_h * (j as f64 + 1.0),
        );
        let fill = if value.is_finite() {
            blend(share)
        } else {
            "#eee".to_string()
        };
        let _ = write!(
            svg,
            r##"<rect class="mark" x="{x:.1}" y="{y:.1}" width="{cell_w:.1}" height="{cell_h:.1}" fill="{fill}" stroke="#fff"/>"##
        );
        let ink = if share > 0.6 { "#fff" } else { "#000" };
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{ink}">{}</text>"#,
            x + cell_w / 2.0,
            y + cell_h / 2.0 + 4.0,
            tick_text(value, step / 10.0)
        );
    }
    legend(
        &mut svg,
        0,
        &blend(0.0),
        &format!("low {}", tick_text(low, step / 10.0)),
    );
    legend(
        &mut svg,
        1,
        &blend(1.0),
        &format!("high {}", tick_text(high, step / 10.0)),
    );
    svg.push_str("</svg>");
    svg
}

/// Light yellow (0) to dark blue (1).
fn blend(share: f64) -> String {
    let share = share.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * share).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(255.0, 8.0),
        mix(247.0, 48.0),
        mix(188.0, 107.0)
    )
}

/// The finite range of `values`, (0, 1) when there is none.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if low.is_finite() {
        (low, high)
    } else {
        (0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round_numbers() {
        assert_eq!(nice_step(0.13), 0.2);
        assert_eq!(nice_step(2.3), 2.5);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(1.0), 1.0);
        assert_eq!(nice_step(420.0), 500.0);
    }

    #[test]
    fn scales_cover_the_data_with_ticks_at_the_ends() {
        let scale = Scale::new(3.2, 97.0, 5, (0.0, 100.0));
        assert_eq!(scale.ticks.first(), Some(&0.0));
        assert_eq!(scale.ticks.last(), Some(&100.0));
        assert_eq!(scale.at(50.0), 50.0);
        // A flat series still gets an axis.
        assert!(Scale::new(4.0, 4.0, 5, (0.0, 1.0)).ticks.len() >= 2);
    }

    #[test]
    fn tick_labels_read_well() {
        assert_eq!(tick_text(0.25, 0.05), "0.25");
        assert_eq!(tick_text(20_000.0, 5_000.0), "20k");
        assert_eq!(tick_text(2_500_000.0, 500_000.0), "2.5M");
        assert_eq!(tick_text(-0.0, 0.1), "0.0");
        assert_eq!(tick_text(40.0, 10.0), "40");
    }

    #[test]
    fn a_fan_draws_a_band_and_a_line_per_series() {
        let series = vec![
            Series {
                label: "a".into(),
                points: (0..5)
                    .map(|i| Band {
                        x: f64::from(i),
                        low: 0.0,
                        mid: 1.0,
                        high: 2.0,
                    })
                    .collect(),
            },
            Series {
                label: "b <&>".into(),
                points: vec![
                    Band {
                        x: 1.0,
                        low: f64::NAN,
                        mid: 1.0,
                        high: 2.0,
                    },
                    Band {
                        x: 2.0,
                        low: 0.5,
                        mid: 1.0,
                        high: 1.5,
                    },
                ],
            },
        ];
        let svg = fan(
            "f",
            Labels {
                title: "t",
                x: "week",
                y: "GPUs",
            },
            &series,
        );
        // a: band and line; b: its one finite point as a whisker and a dot.
        assert_eq!(
            svg.matches(r#"class="mark""#).count(),
            4,
            "the NaN point is skipped: {svg}"
        );
        assert!(svg.contains("b &lt;&amp;&gt;"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn a_histogram_counts_every_value() {
        let values: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
        let svg = histogram(
            "h",
            Labels {
                title: "t",
                x: "x",
                y: "replications",
            },
            &values,
        );
        assert_eq!(svg.matches(r#"class="mark""#).count(), 10);
        assert!(svg.contains("100 replications"));
    }
}
