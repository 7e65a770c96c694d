//! The built-in SVG drawing of a [`Scene`], laid out by [`super::layout`]: the lecture's style (circles for
//! ops, the forward value above each arrow and the gradient below in red) without Graphviz.
//!
//! Every label and unit carries its steps as data attributes (`data-f`, the forward step that computes it;
//! `data-b`, the backward step that produces it), which the HTML page's script uses to step through both
//! passes; a still frame of one backward step hides the later gradients itself.

use std::fmt::Write as _;

use super::layout::{layout, Request};
use super::scene::{Look, Scene};
use super::{html, GRADIENT_COLOUR};

/// The fill of the unit whose rule ran last.
pub(super) const HIGHLIGHT: &str = "#ffe08a";
const FONT_SIZE: f64 = 12.0;
/// Half the height of an arrow's two-line label.
const LABEL_SPACING: f64 = 17.0;
/// The size of the nodes' labels.
const NODE_FONT_SIZE: f64 = 14.0;
/// A white outline behind arrow labels, so that a line passing under one does not hide it.
const HALO: &str =
    " paint-order=\"stroke\" stroke=\"white\" stroke-width=\"4\" stroke-linejoin=\"round\"";
const LEGEND_HEIGHT: f64 = 24.0;

/// A rough width of `text` in the drawing's font (Helvetica's average glyph is about 0.56 em).
fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * FONT_SIZE * 0.56
}

/// The size of a unit's shape, and whether it is round.
fn shape(look: Look, label: &str) -> (f64, f64, bool) {
    let w = text_width(label) * NODE_FONT_SIZE / FONT_SIZE;
    match look {
        Look::Op => {
            let d = (w + 16.0).max(40.0);
            (d, d, true)
        }
        Look::Value => (w + 16.0, 26.0, false),
        Look::Group => (w + 28.0, 36.0, false),
        Look::Name | Look::Output => ((w + 10.0).max(12.0), 22.0, false),
    }
}

/// The point where an arrow leaves (`side` 1) or enters (`side` −1) a shape centred at `c`, `dy` below
/// its centre.
fn boundary(c: (f64, f64), size: (f64, f64, bool), side: f64, dy: f64) -> (f64, f64) {
    let (w, h, round) = size;
    let dy = dy.clamp(-h / 2.0 + 2.0, h / 2.0 - 2.0);
    let dx = match round {
        true => ((w / 2.0).powi(2) - dy * dy).sqrt(),
        false => w / 2.0,
    };
    (c.0 + side * dx, c.1 + dy)
}

/// The SVG of `scene`. With `step`, a still frame of that backward step: later gradients hidden, the
/// newest in bold on red arrows, their unit highlighted.
pub(super) fn draw(scene: &Scene, step: Option<usize>) -> String {
    let shapes: Vec<(f64, f64, bool)> = scene
        .units
        .iter()
        .map(|u| shape(u.look, &u.label))
        .collect();
    let request = Request {
        sizes: shapes.iter().map(|&(w, h, _)| (w, h)).collect(),
        edges: scene.edges.iter().map(|e| (e.from, e.to, e.slot)).collect(),
        label_widths: scene
            .edges
            .iter()
            .map(|e| text_width(&e.value).max(e.gradient.as_deref().map_or(0.0, text_width)))
            .collect(),
    };
    let placed = layout(&request);
    let (width, height) = (placed.width.ceil(), (placed.height + LEGEND_HEIGHT).ceil());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"backprop-graph\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"{FONT_SIZE}\">"
    );
    out.push_str(
        "<defs>\
         <marker id=\"arrowhead\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
         orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker>\
         <marker id=\"arrowhead-newest\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"red\"/></marker>\
         </defs>\n",
    );
    for (e, edge) in scene.edges.iter().enumerate() {
        let route = &placed.routes[e];
        let entering = scene.edges.iter().filter(|d| d.to == edge.to).count();
        let port = (edge.slot as f64 - (entering as f64 - 1.0) / 2.0) * 14.0;
        let mut points = route.clone();
        let last = points.len() - 1;
        points[0] = boundary(route[0], shapes[edge.from], 1.0, 0.0);
        points[last] = boundary(route[last], shapes[edge.to], -1.0, port);
        // Arrows between the same two units (`x * x`) bow apart, each label at the middle of its bow.
        let twins: Vec<usize> = (0..scene.edges.len())
            .filter(|&t| scene.edges[t].from == edge.from && scene.edges[t].to == edge.to)
            .collect();
        let bow = match twins.len() {
            1 => 0.0,
            n => {
                let i = twins.iter().position(|&t| t == e).unwrap_or(0);
                (i as f64 - (n as f64 - 1.0) / 2.0) * 2.0 * LABEL_SPACING
            }
        };
        let mut d = format!("M{:.1},{:.1}", points[0].0, points[0].1);
        for (k, &(x, y)) in points.iter().enumerate().skip(1) {
            let (px, py) = points[k - 1];
            match k == last && bow != 0.0 {
                // A quadratic curve through the middle, `bow` off the straight line.
                true => {
                    let (cx, cy) = ((px + x) / 2.0, (py + y) / 2.0 + 2.0 * bow);
                    let _ = write!(d, " Q{cx:.1},{cy:.1} {x:.1},{y:.1}");
                }
                false => {
                    let _ = write!(d, " L{x:.1},{y:.1}");
                }
            }
        }
        let newest = step == Some(edge.backward) && edge.gradient.is_some();
        let (stroke, marker, weight) = match newest {
            true => ("red", "arrowhead-newest", "2"),
            false => ("#333", "arrowhead", "1.2"),
        };
        let (lx, ly) = (
            (points[last - 1].0 + points[last].0) / 2.0,
            (points[last - 1].1 + points[last].1) / 2.0 + bow,
        );
        let _ = writeln!(
            out,
            "<g class=\"arrow\" data-f=\"{}\" data-b=\"{}\"><path d=\"{d}\" fill=\"none\" stroke=\"{stroke}\" \
             stroke-width=\"{weight}\" marker-end=\"url(#{marker})\"/>\
             <text class=\"value\" data-f=\"{}\" x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"middle\"{HALO}>{}</text>",
            edge.forward,
            edge.backward,
            edge.forward,
            ly - 6.0,
            html(&edge.value)
        );
        if let Some(g) = &edge.gradient {
            let hidden = match step {
                Some(k) if edge.backward > k => " visibility=\"hidden\"",
                _ => "",
            };
            let bold = if newest { " font-weight=\"bold\"" } else { "" };
            let _ = write!(
                out,
                "<text class=\"gradient\" data-b=\"{}\" x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                 fill=\"{GRADIENT_COLOUR}\"{HALO}{hidden}{bold}>{}</text>",
                edge.backward,
                ly + FONT_SIZE + 3.0,
                html(g)
            );
        }
        out.push_str("</g>\n");
    }
    for (u, unit) in scene.units.iter().enumerate() {
        let (x, y) = placed.centres[u];
        let (w, h, _) = shapes[u];
        let newest = step.is_some() && unit.backward == step;
        let data_b = unit
            .backward
            .map(|b| format!(" data-b=\"{b}\""))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<g class=\"unit\" data-key=\"{}\" data-f=\"{}\"{data_b}>",
            unit.key, unit.forward
        );
        let fill = |normal: &'static str| if newest { HIGHLIGHT } else { normal };
        match unit.look {
            Look::Op => {
                let _ = write!(
                    out,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{:.1}\" fill=\"{}\" stroke=\"#333\" stroke-width=\"1.2\"/>",
                    w / 2.0,
                    fill("white")
                );
            }
            Look::Value | Look::Group => {
                let _ = write!(
                    out,
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"6\" fill=\"{}\" \
                     stroke=\"#333\" stroke-width=\"1.2\"/>",
                    x - w / 2.0,
                    y - h / 2.0,
                    fill(if unit.look == Look::Group { "#eeeeee" } else { "white" })
                );
            }
            Look::Name | Look::Output => {}
        }
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"{NODE_FONT_SIZE}\">{}</text>",
            y + NODE_FONT_SIZE * 0.35,
            html(&unit.label)
        );
        if let Some(name) = &unit.xlabel {
            let _ = write!(
                out,
                "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
                y - h / 2.0 - 4.0,
                html(name)
            );
        }
        out.push_str("</g>\n");
    }
    let step_note = match step {
        Some(k) => format!(" (backward step {k} of {})", scene.backward_steps),
        None => String::new(),
    };
    if scene.edges.iter().all(|e| e.gradient.is_none()) {
        out.push_str("</svg>\n");
        return out;
    }
    let _ = writeln!(
        out,
        "<text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">forward value \
         above each arrow, <tspan fill=\"{GRADIENT_COLOUR}\">gradient</tspan> below{step_note}</text>",
        width / 2.0,
        height - 8.0
    );
    out.push_str("</svg>\n");
    out
}
