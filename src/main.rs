fn main() -> std::process::ExitCode {
    zoho_auth::cli::main()
}
