fn main() -> std::process::ExitCode {
    qiao::cli::run()
}
