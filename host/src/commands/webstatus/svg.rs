//! The graph by name as an SVG drawing, made here rather than in the page so that the page
//! needs no layout library: a layered layout, a column per layer (a name's layer is the
//! longest path to it from a name nothing feeds), names in definition order within a column,
//! and each node coloured by the state of its tasks with a bar of their five counts.

use std::collections::BTreeSet;
use std::fmt::Write as _;

const WIDTH: usize = 210;
const HEIGHT: usize = 54;
const GAP_X: usize = 60;
const GAP_Y: usize = 18;
const MARGIN: usize = 10;
/// Characters of a name shown in a node; the full name is its tooltip.
const MAX_LABEL: usize = 28;

/// Colours of Failed, Waiting, Ready, Complete, Active (the order of `counts`), shared with
/// the page's stylesheet.
const COLOURS: [&str; 5] = ["#d9534f", "#b0b7bf", "#f0ad4e", "#5cb85c", "#337ab7"];

/// `counts(name)`: its tasks in each state, in the order of [`COLOURS`].
pub fn render(names: &[String], edges: &BTreeSet<(&str, &str)>, counts: impl Fn(&str) -> [u64; 5]) -> String {
    if names.is_empty() {
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"dag\" width=\"0\" height=\"0\"></svg>"
            .into();
    }
    let layers = layers(names, edges);
    let mut rows = vec![0usize; names.len().max(1)];
    let mut position = Vec::with_capacity(names.len());
    for &layer in &layers {
        position.push((layer, rows[layer]));
        rows[layer] += 1;
    }
    let columns = layers.iter().max().map_or(0, |l| l + 1);
    let tallest = rows.iter().max().copied().unwrap_or(0);
    let x = |layer: usize| MARGIN + layer * (WIDTH + GAP_X);
    let y = |row: usize| MARGIN + row * (HEIGHT + GAP_Y);
    let (width, height) = (x(columns) - GAP_X + MARGIN, y(tallest) - GAP_Y + MARGIN);

    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"dag\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#666\"/></marker></defs>"
    );
    let index = |name: &str| names.iter().position(|n| n == name);
    for (from, to) in edges {
        let (Some(a), Some(b)) = (index(from), index(to)) else { continue };
        let ((la, ra), (lb, rb)) = (position[a], position[b]);
        let (x1, y1) = (x(la) + WIDTH, y(ra) + HEIGHT / 2);
        let (x2, y2) = (x(lb), y(rb) + HEIGHT / 2);
        let bend = GAP_X / 2;
        let _ = write!(
            svg,
            "<path class=\"edge\" d=\"M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}\" fill=\"none\" \
             stroke=\"#666\" stroke-width=\"1.3\" marker-end=\"url(#arrow)\"/>",
            x1 + bend,
            x2.saturating_sub(bend)
        );
    }
    for (i, name) in names.iter().enumerate() {
        let (layer, row) = position[i];
        let (left, top) = (x(layer), y(row));
        let counts = counts(name);
        let total: u64 = counts.iter().sum();
        let state = dominant(&counts);
        let label: String = match name.chars().count() > MAX_LABEL {
            true => name.chars().take(MAX_LABEL - 1).chain(['…']).collect(),
            false => name.clone(),
        };
        let _ = write!(
            svg,
            "<g class=\"node {state}\" data-name=\"{n}\" data-state=\"{state}\"><title>{n}</title>\
             <rect x=\"{left}\" y=\"{top}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" rx=\"6\" fill=\"#fff\" \
             stroke=\"{stroke}\" stroke-width=\"2.5\"/>\
             <text x=\"{tx}\" y=\"{ty}\" font-weight=\"bold\">{label}</text>\
             <text x=\"{tx}\" y=\"{ty2}\" fill=\"#444\">{done}/{total} complete</text>",
            n = escape(name),
            stroke = COLOURS[state_index(state)],
            tx = left + 8,
            ty = top + 17,
            ty2 = top + 33,
            label = escape(&label),
            done = counts[3],
        );
        // The bar: each state's share of the node's tasks, in the table's column order.
        let (bar_left, bar_width) = (left + 8, WIDTH - 16);
        let mut offset = 0;
        for (k, &n) in counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let w = ((n as usize) * bar_width).div_ceil(total.max(1) as usize).min(bar_width - offset);
            let _ = write!(
                svg,
                "<rect x=\"{}\" y=\"{}\" width=\"{w}\" height=\"8\" fill=\"{}\"/>",
                bar_left + offset,
                top + HEIGHT - 15,
                COLOURS[k]
            );
            offset += w;
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// Each name's layer: the longest path to it from a name nothing feeds. Names feed each
/// other in cycles when tasks alternate between them (negate(add(negate(…)))), so the
/// relaxation stops after as many rounds as there are names.
fn layers(names: &[String], edges: &BTreeSet<(&str, &str)>) -> Vec<usize> {
    let index = |name: &str| names.iter().position(|n| n == name);
    let edges: Vec<(usize, usize)> = edges.iter().filter_map(|(a, b)| Some((index(a)?, index(b)?))).collect();
    let mut layer = vec![0usize; names.len()];
    for _ in 0..names.len() {
        let mut changed = false;
        for &(a, b) in &edges {
            if layer[b] < layer[a] + 1 && layer[a] + 1 < names.len() {
                layer[b] = layer[a] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    layer
}

/// The state a node is coloured by: a failure first, then work under way, then done.
fn dominant(counts: &[u64; 5]) -> &'static str {
    let [failed, waiting, ready, _complete, active] = *counts;
    if failed > 0 {
        "failed"
    } else if active > 0 {
        "active"
    } else if waiting + ready == 0 {
        "complete"
    } else if ready > 0 {
        "ready"
    } else {
        "waiting"
    }
}

fn state_index(state: &str) -> usize {
    ["failed", "waiting", "ready", "complete", "active"].iter().position(|s| *s == state).unwrap_or(1)
}

/// Text for XML: names come from the graph builder and may hold anything.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_follow_the_longest_path_and_survive_cycles() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let edges: BTreeSet<(&str, &str)> = [("a", "b"), ("b", "c"), ("a", "c")].into_iter().collect();
        assert_eq!(layers(&names, &edges), [0, 1, 2, 0]);
        let cycle: BTreeSet<(&str, &str)> = [("a", "b"), ("b", "a")].into_iter().collect();
        assert!(layers(&names, &cycle).iter().all(|&l| l < names.len()));
    }

    #[test]
    fn one_node_per_name_and_names_are_escaped() {
        let names: Vec<String> = ["x.<b>", "x.y"].map(String::from).to_vec();
        let edges: BTreeSet<(&str, &str)> = [("x.<b>", "x.y")].into_iter().collect();
        let svg = render(&names, &edges, |_| [0, 1, 0, 1, 0]);
        assert_eq!(svg.matches("<g class=\"node").count(), 2);
        assert!(svg.contains("x.&lt;b&gt;") && !svg.contains("<b>"), "{svg}");
    }
}
