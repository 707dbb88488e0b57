//! `zoho-auth completions SHELL`: every shell gets a non-empty script on stdout that names the
//! binary and its subcommands; the bash script parses (`bash -n`).

mod support;

use support::World;

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

#[tokio::test(flavor = "multi_thread")]
async fn each_shell_gets_a_script_naming_the_binary_and_its_commands() {
    let w = World::start().await;
    for shell in SHELLS {
        let run = w.run(&["completions", shell]).await;
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{shell}: {}", run.stderr);
        assert!(run.stdout.contains("zoho-auth"), "{shell}");
        for sub in ["serve", "run", "token", "completions"] {
            assert!(run.stdout.contains(sub), "{shell} names no {sub}");
        }
    }
    let run = w.run(&["completions", "tcsh"]).await;
    assert_eq!(run.code, 2, "an unknown shell is a usage error");
    assert!(run.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bash_script_parses() {
    let w = World::start().await;
    let run = w.run(&["completions", "bash"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file = w.dir.path().join("zoho-auth.bash");
    std::fs::write(&file, &run.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("bash is installed");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(run.stdout.contains("complete -F"), "registers a completion");
}
