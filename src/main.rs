//! `backprop draw FORMULA NAME=VALUE… [--dot FILE] [--svg FILE] [--steps DIR] [--html FILE]`: the value and
//! gradients of any formula, and its computational graph in the lecture's style.

use std::process::ExitCode;

use backprop::draw::{draw, DrawArgs};
use clap::{Parser, Subcommand};

/// The backpropagation lecture's pictures, for any formula.
#[derive(Parser)]
#[command(name = "backprop", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a formula's value and gradients, and draw its computational graph
    Draw(DrawArgs),
}

fn main() -> ExitCode {
    let Command::Draw(args) = Cli::parse().command;
    match draw(&args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
