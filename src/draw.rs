//! `backprop draw`: a formula's value and gradients, and its graph in the lecture's style.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use autograd::dot::{Dot, GroupStyle, Layout};
use autograd::{format_number as num, Tape, Var};

use crate::expr::{self, Expr, ExprError, Kind};
use crate::Error;

/// The arguments of `backprop draw`.
#[derive(clap::Args, Debug)]
pub struct DrawArgs {
    /// The formula, e.g. "1/(1+exp(-x))" or "price = apple*apple_num*tax"
    #[arg(allow_hyphen_values = true)]
    pub formula: String,
    /// The inputs' values as NAME=VALUE; a value may be arithmetic on numbers, e.g. x=pi/4
    #[arg(value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// Write the graph in Graphviz's DOT language
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
    /// Write the graph as SVG
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Write one SVG per backward step, step_0.svg (the seed) to step_N.svg (all gradients), into DIR
    #[arg(long, value_name = "DIR")]
    pub steps: Option<PathBuf>,
    /// Write one self-contained HTML page that steps through the forward and the backward pass
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Draw functions such as sigmoid as their primitive nodes (framed) instead of one box
    #[arg(long)]
    pub expand: bool,
    /// Differentiate N times (by differentiating the gradient's graph) and draw the graph of the N-th derivative
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub order: usize,
    /// The input to differentiate by with --order above 1 (needed when there are several)
    #[arg(long, value_name = "NAME")]
    pub wrt: Option<String>,
    /// Who lays out SVG files: Graphviz's `dot` when installed (auto), or the built-in layout
    #[arg(long, value_enum, default_value_t = LayoutChoice::Auto)]
    pub layout: LayoutChoice,
}

/// The `--layout` choices.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutChoice {
    /// Graphviz when `dot` is on the PATH, else the built-in layout
    Auto,
    /// Graphviz's `dot` (an error when it is missing)
    Graphviz,
    /// The built-in layered layout
    Builtin,
}

/// Runs `backprop draw`, printing the results to `out`.
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cli { #[command(flatten)] args: backprop::draw::DrawArgs }
/// let cli = Cli::parse_from(["draw", "price = apple*apple_num*tax", "apple=100", "apple_num=2", "tax=1.1"]);
/// let mut out = Vec::new();
/// backprop::draw::draw(&cli.args, &mut out)?;
/// let out = String::from_utf8(out).unwrap();
/// assert!(out.starts_with("price = 220\ndprice/dapple = 2.2\ndprice/dapple_num = 110\ndprice/dtax = 200\n"));
/// # Ok::<(), backprop::Error>(())
/// ```
///
/// # Errors
/// When the formula or an input does not parse or evaluate (with its column), an argument does not fit,
/// or a file cannot be written.
pub fn draw(args: &DrawArgs, out: &mut dyn Write) -> Result<(), Error> {
    let at_formula = |error: ExprError| Error::Expr {
        source: args.formula.clone(),
        error,
    };
    if args.order == 0 {
        return Err(Error::Arg(
            "--order 0: the order of a derivative is 1 or more".into(),
        ));
    }
    if args.order > 1 && args.steps.is_some() {
        return Err(Error::Arg(
            "--steps draws the backward pass, which --order above 1 does not draw".into(),
        ));
    }
    let formula = expr::parse(&args.formula).map_err(at_formula)?;
    let inputs = inputs(&args.inputs, &formula.body)?;
    let tape = Tape::<f64>::new();
    let built = expr::build(&tape, &formula, &inputs).map_err(at_formula)?;
    let name = formula.name.as_deref().unwrap_or("f");
    let print = |out: &mut dyn Write, line: String| {
        writeln!(out, "{line}").map_err(|error| Error::File {
            path: "standard output".into(),
            error,
        })
    };
    print(out, format!("{name} = {}", num(built.output.scalar())))?;
    let style = match args.expand {
        true => GroupStyle::Cluster,
        false => GroupStyle::Collapse,
    };
    if args.order == 1 {
        tape.set_anomaly_detection(true);
        let grads = built.output.try_backward().map_err(|a| {
            at_formula(ExprError::new(
                built.columns[a.node],
                format!("the backward pass of `{}` gives {} here", a.op, a.found),
            ))
        })?;
        for (input, v) in &built.inputs {
            let g = grads.value(*v).and_then(|g| g.only()).unwrap_or(0.0);
            print(out, format!("d{name}/d{input} = {}", num(g)))?;
        }
        let dot = Dot::new(&tape)
            .output(built.output)
            .gradients(&grads)
            .groups(style);
        return write_files(args, &dot, out);
    }
    let (wrt, x) = wrt(args, &built.inputs)?;
    let mut y: Option<Var<'_, f64>> = Some(built.output);
    for k in 1..=args.order {
        let dk = y.and_then(|y| y.backward_graph().get(x));
        let label = match k {
            1 => format!("d{name}/d{wrt}"),
            k => format!("d{k}{name}/d{wrt}{k}"),
        };
        print(
            out,
            format!("{label} = {}", num(dk.map_or(0.0, Var::scalar))),
        )?;
        y = dk.map(|d| d.set_name(&label));
    }
    let drawing_asked = args.dot.is_some() || args.svg.is_some() || args.html.is_some();
    match y {
        Some(y) => write_files(args, &Dot::new(&tape).output(y).groups(style), out),
        None if drawing_asked => Err(Error::Arg(format!(
            "the derivative of order {} is 0 for every {wrt}: there is no graph to draw",
            args.order
        ))),
        None => Ok(()),
    }
}

/// The inputs as (name, value), from `NAME=VALUE` arguments; each must be a name of the formula.
fn inputs(args: &[String], body: &Expr) -> Result<Vec<(String, f64)>, Error> {
    let mut names = HashSet::new();
    collect_names(body, &mut names);
    let mut inputs: Vec<(String, f64)> = Vec::new();
    for arg in args {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(Error::Arg(format!(
                "`{arg}` is not an input: write NAME=VALUE, e.g. x=0.5"
            )));
        };
        let name = name.trim();
        let is_name = name.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !is_name {
            return Err(Error::Arg(format!("`{name}` in `{arg}` is not a name")));
        }
        if !names.contains(name) {
            return Err(Error::Arg(format!(
                "input `{name}` does not appear in the formula"
            )));
        }
        if inputs.iter().any(|(n, _)| n == name) {
            return Err(Error::Arg(format!("input `{name}` is given twice")));
        }
        let offset = arg.len() - value.len();
        let at_value = |e: ExprError| Error::Expr {
            source: arg.clone(),
            error: ExprError::new(e.column + offset, e.message),
        };
        let value = expr::parse(value).map_err(at_value)?;
        let x = match value.name {
            Some(_) => Err(ExprError::new(1, "a value cannot be named")),
            None => expr::constant(&value.body),
        }
        .map_err(at_value)?;
        inputs.push((name.to_owned(), x));
    }
    Ok(inputs)
}

fn collect_names(e: &Expr, names: &mut HashSet<String>) {
    match &e.kind {
        Kind::Number(_) => {}
        Kind::Name(n) => {
            names.insert(n.clone());
        }
        Kind::Neg(a) => collect_names(a, names),
        Kind::Binary(_, a, b) => {
            collect_names(a, names);
            collect_names(b, names);
        }
        Kind::Call(_, args) => args.iter().for_each(|a| collect_names(a, names)),
    }
}

/// The input that `--order` differentiates by.
fn wrt<'t>(
    args: &DrawArgs,
    inputs: &[(String, Var<'t, f64>)],
) -> Result<(String, Var<'t, f64>), Error> {
    let found = match &args.wrt {
        Some(name) => inputs.iter().find(|(n, _)| n == name),
        None if inputs.len() == 1 => inputs.first(),
        None => {
            return Err(Error::Arg(
                "--order above 1 differentiates by one input: name it with --wrt".into(),
            ))
        }
    };
    found.cloned().ok_or_else(|| {
        Error::Arg(format!(
            "--wrt {}: not one of the inputs",
            args.wrt.as_deref().unwrap_or_default()
        ))
    })
}

/// Writes the files asked for, printing each path.
fn write_files(args: &DrawArgs, dot: &Dot<'_, f64>, out: &mut dyn Write) -> Result<(), Error> {
    let layout = match args.layout {
        LayoutChoice::Auto => Layout::detect(),
        LayoutChoice::Graphviz => Layout::Graphviz,
        LayoutChoice::Builtin => Layout::Builtin,
    };
    let file = |path: &Path| {
        let path = path.to_owned();
        move |error| Error::File { path, error }
    };
    let mut wrote: Vec<PathBuf> = Vec::new();
    if let Some(path) = &args.dot {
        dot.write(path).map_err(file(path))?;
        wrote.push(path.clone());
    }
    if let Some(path) = &args.svg {
        dot.write_svg_with(path, layout).map_err(file(path))?;
        wrote.push(path.clone());
    }
    if let Some(dir) = &args.steps {
        wrote.extend(dot.write_steps(dir, layout).map_err(file(dir))?);
    }
    if let Some(path) = &args.html {
        dot.write_html(path, &args.formula).map_err(file(path))?;
        wrote.push(path.clone());
    }
    for path in wrote {
        writeln!(out, "wrote {}", path.display()).map_err(file(Path::new("standard output")))?;
    }
    Ok(())
}
