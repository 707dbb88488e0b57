//! `zoho-auth completions SHELL`: prints a completion script for bash, zsh, fish, elvish or
//! PowerShell on stdout, generated from the same clap definition the binary parses with.

use clap_complete::Shell;

use super::CompletionsArgs;

/// The script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut super::command(), "zoho-auth", &mut out);
    out
}

pub fn run(args: &CompletionsArgs) -> u8 {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(&script(args.shell))
        .and_then(|()| stdout.flush())
    {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("zoho-auth: could not write the completion script to stdout: {e}.");
            1
        }
    }
}
