//! The `wxsim` binary: serves the simulator until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use wxsim::{GenerateSpec, LimitsConfig, Role, Seed, SimConfig, SimState, Simulator};

/// A simulator of the WeChat and WeCom servers.
#[derive(Debug, Parser)]
#[command(name = "wxsim", version, about)]
struct Cli {
    /// Address to listen on (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:9999")]
    listen: SocketAddr,
    /// Seed file (TOML, or JSON when it ends in .json).
    #[arg(long, conflicts_with_all = ["demo", "generate"])]
    seed: Option<PathBuf>,
    /// The built-in demo organisation (default).
    #[arg(long, conflicts_with = "generate")]
    demo: bool,
    /// A generated world: members=N,departments=M,fans=F,seed=S.
    #[arg(long, value_name = "SPEC")]
    generate: Option<GenerateSpec>,
    /// Disable frequency limits.
    #[arg(long)]
    no_limits: bool,
    /// Print the seed as TOML and exit.
    #[arg(long)]
    dump_seed: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let started = Instant::now();
    let seed = match (&cli.seed, cli.generate) {
        (Some(path), _) => {
            Seed::from_file(path).with_context(|| format!("loading {}", path.display()))?
        }
        (None, Some(spec)) => Seed::from_spec(spec),
        (None, None) => Seed::demo(),
    };
    if cli.dump_seed {
        print!("{}", seed.to_toml().context("serializing the seed")?);
        return Ok(());
    }
    let limits = if cli.no_limits {
        LimitsConfig::off()
    } else {
        LimitsConfig::realistic()
    };
    let config = SimConfig {
        listen: cli.listen,
        seed,
        limits,
        ..SimConfig::default()
    };
    let state =
        SimState::new(config.seed, config.limits, config.options).context("building the world")?;
    let seeded = started.elapsed();
    let sim = Simulator::start_with_state(config.listen, std::sync::Arc::new(state)).await?;
    let summary = sim.state().summary();
    println!("wxsim listening on {}", sim.url());
    for role in Role::ALL {
        println!(
            "  {:<6} {}   (Host: {})",
            role.as_str(),
            sim.role_url(role),
            role.host()
        );
    }
    println!(
        "  control {}/sim/state   inboxes {}/sim/inbox.html",
        sim.url(),
        sim.url()
    );
    println!("seeded in {} ms: {}", seeded.as_millis(), summary);
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sim.shutdown().await?;
    Ok(())
}
