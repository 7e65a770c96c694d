//! A layered, left-to-right layout for the small graphs of a lecture, so that drawings need no Graphviz.
//!
//! The classic recipe (Sugiyama's) in its simplest form: nodes get ranks (longest path from the inputs,
//! with inputs pulled right next to their first use), arrows that skip ranks get invisible waypoints, the
//! order inside each rank comes from a few barycentre sweeps (an arrow's end is the input slot it enters,
//! so `a × b` keeps `a` above `b`), and heights are relaxed towards the neighbours' while keeping the
//! order and a minimum gap. The gap between two ranks is as wide as the widest arrow label ending there.

/// What to lay out: node boxes, and arrows from node to node entering an input slot.
pub(crate) struct Request {
    /// Width and height of each node.
    pub sizes: Vec<(f64, f64)>,
    /// Arrows `(from, to, slot)`, where `slot` orders the arrows entering `to` from top to bottom.
    pub edges: Vec<(usize, usize, usize)>,
    /// Width of each arrow's label, which sits on its last leg.
    pub label_widths: Vec<f64>,
}

/// Where everything goes: node centres and, per arrow, the points it passes through (the first at its
/// source's centre, the last at its target's centre; the drawing clips them to the shapes).
pub(crate) struct Placement {
    pub centres: Vec<(f64, f64)>,
    pub routes: Vec<Vec<(f64, f64)>>,
    pub width: f64,
    pub height: f64,
}

const MARGIN: f64 = 16.0;
/// The vertical room an arrow's two-line label needs.
const LABEL_ROOM: f64 = 36.0;
const MIN_RANK_GAP: f64 = 70.0;

/// A vertex of the layered graph: a node, or a waypoint of an arrow that skips ranks.
struct Vertex {
    size: (f64, f64),
    rank: usize,
    /// Neighbours in the previous and next rank, each with how far (in slots) this vertex should sit below
    /// it so that the arrow between them runs straight: the slot offset of the arrow's end.
    preds: Vec<(usize, f64)>,
    succs: Vec<(usize, f64)>,
}

/// Lays out `request` (whose arrows must not form a cycle).
pub(crate) fn layout(request: &Request) -> Placement {
    let n = request.sizes.len();
    let ranks = ranks(n, &request.edges);
    let in_count = {
        let mut c = vec![0usize; n];
        for &(_, to, _) in &request.edges {
            c[to] += 1;
        }
        c
    };
    let mut vertices: Vec<Vertex> = (0..n)
        .map(|v| Vertex {
            size: request.sizes[v],
            rank: ranks[v],
            preds: Vec::new(),
            succs: Vec::new(),
        })
        .collect();
    // Each arrow as a chain of vertices, one per rank it crosses.
    let mut chains: Vec<Vec<usize>> = Vec::new();
    let rank_count = ranks.iter().max().map_or(0, |r| r + 1);
    let mut band = vec![0.0f64; rank_count];
    for (e, &(from, to, slot)) in request.edges.iter().enumerate() {
        let mut chain = vec![from];
        for rank in ranks[from] + 1..ranks[to] {
            vertices.push(Vertex {
                size: (0.0, 8.0),
                rank,
                preds: Vec::new(),
                succs: Vec::new(),
            });
            chain.push(vertices.len() - 1);
        }
        chain.push(to);
        let port = slot as f64 - (in_count[to] as f64 - 1.0) / 2.0;
        for pair in chain.windows(2) {
            let offset = if pair[1] == to { port } else { 0.0 };
            vertices[pair[0]].succs.push((pair[1], offset));
            vertices[pair[1]].preds.push((pair[0], -offset));
        }
        band[ranks[to]] = band[ranks[to]].max(request.label_widths[e]);
        chains.push(chain);
    }
    let layers = order(&vertices, rank_count);
    let ys = heights(&vertices, &layers);

    // Columns: each rank as wide as its widest node, after a gap that fits its incoming labels.
    let mut xs = vec![0.0; rank_count];
    let mut right = MARGIN;
    for r in 0..rank_count {
        let widest = layers[r]
            .iter()
            .map(|&v| vertices[v].size.0)
            .fold(0.0, f64::max);
        if r > 0 {
            right += (band[r] + 40.0).max(MIN_RANK_GAP);
        }
        xs[r] = right + widest / 2.0;
        right += widest;
    }
    let centre = |v: usize| (xs[vertices[v].rank], ys[v]);
    let height = (0..vertices.len())
        .map(|v| ys[v] + vertices[v].size.1 / 2.0)
        .fold(0.0, f64::max);
    Placement {
        centres: (0..n).map(centre).collect(),
        routes: chains
            .iter()
            .map(|chain| chain.iter().map(|&v| centre(v)).collect())
            .collect(),
        width: right + MARGIN,
        height: height + LABEL_ROOM / 2.0 + MARGIN,
    }
}

/// Ranks: the longest path from an input, except that inputs sit one rank before their first use.
fn ranks(n: usize, edges: &[(usize, usize, usize)]) -> Vec<usize> {
    let mut rank = vec![0usize; n];
    // Relaxing every arrow `n` times reaches the longest paths of an acyclic graph; the graphs are small.
    for _ in 0..n {
        let mut changed = false;
        for &(from, to, _) in edges {
            if rank[to] < rank[from] + 1 {
                rank[to] = rank[from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let has_input: Vec<bool> = (0..n).map(|v| edges.iter().any(|e| e.1 == v)).collect();
    for v in (0..n).filter(|&v| !has_input[v]) {
        if let Some(first_use) = edges.iter().filter(|e| e.0 == v).map(|e| rank[e.1]).min() {
            rank[v] = first_use - 1;
        }
    }
    rank
}

/// The vertices of each rank, top to bottom: creation order, then barycentre sweeps ending on a sweep
/// towards the inputs, so that inputs line up with the slots they enter.
fn order(vertices: &[Vertex], rank_count: usize) -> Vec<Vec<usize>> {
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); rank_count];
    for (v, vertex) in vertices.iter().enumerate() {
        layers[vertex.rank].push(v);
    }
    let mut position = vec![0.0f64; vertices.len()];
    let index = |layers: &[Vec<usize>], position: &mut [f64]| {
        for layer in layers {
            for (i, &v) in layer.iter().enumerate() {
                position[v] = i as f64;
            }
        }
    };
    index(&layers, &mut position);
    for _ in 0..6 {
        for r in 1..rank_count {
            sort_layer(&mut layers[r], &position, |v| &vertices[v].preds);
            index(&layers, &mut position);
        }
        for r in (0..rank_count.saturating_sub(1)).rev() {
            sort_layer(&mut layers[r], &position, |v| &vertices[v].succs);
            index(&layers, &mut position);
        }
    }
    layers
}

/// Sorts one rank by the mean position of each vertex's neighbours (ports a fraction of a place apart);
/// a vertex without neighbours there keeps its place.
fn sort_layer<'v>(
    layer: &mut [usize],
    position: &[f64],
    neighbours: impl Fn(usize) -> &'v Vec<(usize, f64)>,
) {
    let key = |v: usize| {
        let ns = neighbours(v);
        match ns.is_empty() {
            true => position[v],
            false => {
                ns.iter()
                    .map(|&(u, port)| position[u] + port * 0.2)
                    .sum::<f64>()
                    / ns.len() as f64
            }
        }
    };
    let mut keyed: Vec<(f64, usize)> = layer.iter().map(|&v| (key(v), v)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (slot, (_, v)) in layer.iter_mut().zip(keyed) {
        *slot = v;
    }
}

/// Vertical centres: stacked, then pulled towards the neighbours' heights (ports 14 px apart) a few times,
/// keeping each rank's order and gaps.
fn heights(vertices: &[Vertex], layers: &[Vec<usize>]) -> Vec<f64> {
    let gap = |a: usize, b: usize| {
        let room = if vertices[a].size.0 == 0.0 && vertices[b].size.0 == 0.0 {
            LABEL_ROOM / 2.0
        } else {
            LABEL_ROOM
        };
        (vertices[a].size.1 + vertices[b].size.1) / 2.0 + room
    };
    let mut y = vec![0.0f64; vertices.len()];
    for layer in layers {
        for i in 1..layer.len() {
            y[layer[i]] = y[layer[i - 1]] + gap(layer[i - 1], layer[i]);
        }
    }
    for _ in 0..8 {
        for layer in layers.iter().chain(layers.iter().rev()) {
            let wanted: Vec<f64> = layer
                .iter()
                .map(|&v| {
                    let ns: Vec<(usize, f64)> = vertices[v]
                        .preds
                        .iter()
                        .chain(&vertices[v].succs)
                        .copied()
                        .collect();
                    match ns.is_empty() {
                        true => y[v],
                        false => {
                            ns.iter().map(|&(u, port)| y[u] + port * 14.0).sum::<f64>()
                                / ns.len() as f64
                        }
                    }
                })
                .collect();
            // The placement pushed down from the top and the one pushed up from the bottom, averaged.
            let k = layer.len();
            let mut down = wanted.clone();
            for i in 1..k {
                down[i] = down[i].max(down[i - 1] + gap(layer[i - 1], layer[i]));
            }
            let mut up = wanted;
            for i in (0..k.saturating_sub(1)).rev() {
                up[i] = up[i].min(up[i + 1] - gap(layer[i], layer[i + 1]));
            }
            for i in 0..k {
                y[layer[i]] = (down[i] + up[i]) / 2.0;
            }
        }
    }
    let top = (0..vertices.len())
        .map(|v| y[v] - vertices[v].size.1 / 2.0)
        .fold(f64::INFINITY, f64::min);
    for v in &mut y {
        *v += MARGIN + LABEL_ROOM / 2.0 - top;
    }
    y
}
