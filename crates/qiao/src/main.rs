/// mimalloc instead of the system allocator: under callback load glibc's malloc/free took
/// about 15 % of the CPU (perf, `scripts/bench-callbacks.sh`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    qiao::cli::run()
}
