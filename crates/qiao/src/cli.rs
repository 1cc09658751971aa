//! The `qiao` command line: `serve`, `demo`, `migrate`, `admin …`, `config check`.
//!
//! Secrets never go to the terminal: passwords are read from stdin or a file, and the demo
//! writes its credentials to `<data-dir>/demo.json` (mode 0600). The one exception is a new
//! API key, shown once (see [`crate::secrets::reveal`]).

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::app::{RunningServer, open_state};
use crate::audit::{self, Actor};
use crate::auth::api_keys::{self, parse_scopes};
use crate::auth::{Role, users};
use crate::config::{Config, Overrides, redact_url};
use crate::secrets::rotate_master_key;
use crate::store::{Store, TenantId};
use crate::{clock, demo, telemetry};

#[derive(Parser, Debug)]
#[command(
    name = "qiao",
    version,
    about = "Qiao (桥): a bridge between business systems and WeChat / WeCom"
)]
struct Cli {
    /// A TOML configuration file (optional: the defaults work without one).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Default, Clone)]
struct ServerFlags {
    /// The data directory (database, master key, demo.json).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, global = true, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the bridge.
    Serve(ServerFlags),
    /// Run the bridge with the WeChat simulator on the embedded database, seeded, ready to click.
    Demo(ServerFlags),
    /// Bring the database schema up to date and exit.
    Migrate(ServerFlags),
    /// Administer users, API keys and the master key.
    Admin {
        #[command(flatten)]
        flags: ServerFlags,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Inspect the configuration.
    Config {
        #[command(flatten)]
        flags: ServerFlags,
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Validate the configuration and the database connection, and print the result.
    Check,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create an admin user. The password is read from stdin or a file, never from arguments.
    CreateUser {
        username: String,
        #[arg(long, default_value = "admin", value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        password: PasswordInput,
    },
    /// Set a new password for a user (this unlocks the account and ends its sessions).
    ResetPassword {
        username: String,
        #[command(flatten)]
        password: PasswordInput,
    },
    /// List admin users.
    ListUsers,
    /// Create an API key; it is printed once.
    CreateApiKey {
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: admin, read.
        #[arg(long, default_value = "read")]
        scopes: String,
        /// Write the key to this new file (mode 0600) instead of printing it.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List API keys (never the keys themselves).
    ListApiKeys,
    /// Revoke an API key by id.
    RevokeApiKey { id: i64 },
    /// Re-seal every stored secret with a new master key.
    RotateMasterKey {
        /// Where to write the new key when the current one comes from QIAO_MASTER_KEY.
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
struct PasswordInput {
    /// Read the password from standard input (one line).
    #[arg(long)]
    password_stdin: bool,
    /// Read the password from a file (first line).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "expected super_admin, admin or auditor".to_string())
}

impl PasswordInput {
    fn read(&self) -> anyhow::Result<String> {
        let text = if self.password_stdin {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the password from stdin")?;
            text
        } else if let Some(path) = &self.password_file {
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?
        } else {
            bail!("give --password-stdin or --password-file");
        };
        Ok(text.lines().next().unwrap_or("").to_string())
    }
}

/// Parses arguments, runs the command, and turns errors into a message and an exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(file: Option<&Path>, flags: &ServerFlags) -> anyhow::Result<Config> {
    let overrides = Overrides {
        data_dir: flags.data_dir.clone(),
        listen: flags.listen,
    };
    Ok(Config::load(file, &overrides)?)
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve(flags) => {
            let config = load_config(file, &flags)?;
            telemetry::init_logging(config.log_format, &config.log_level);
            let (state, _) = open_state(config).await?;
            let server = RunningServer::start(state).await?;
            tracing::info!(url = %server.url(), "qiao is serving");
            server.run_until_signal().await
        }
        Command::Demo(flags) => {
            let config = load_config(file, &flags)?;
            telemetry::init_logging(config.log_format, &config.log_level);
            demo::run(config).await
        }
        Command::Migrate(flags) => {
            let config = load_config(file, &flags)?;
            Store::open(&config.database_url)
                .await
                .with_context(|| format!("cannot migrate {}", redact_url(&config.database_url)))?;
            println!(
                "database schema is up to date ({})",
                redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::Config {
            flags,
            command: ConfigCommand::Check,
        } => {
            let config = load_config(file, &flags)?;
            let database = check_database(&config).await?;
            println!("configuration is valid");
            println!("  data directory: {}", config.data_dir.display());
            println!(
                "  database:       {} ({database})",
                redact_url(&config.database_url)
            );
            println!("  listen:         {}", config.listen);
            println!("  external URL:   {}", config.effective_external_url());
            println!(
                "  egress IP:      {}",
                config
                    .public_egress_ip
                    .map(|ip| ip.to_string())
                    .unwrap_or_else(|| "(not set)".into())
            );
            println!(
                "  master key:     {}",
                if config.master_key.is_some() {
                    "from configuration"
                } else {
                    "key file in the data directory"
                }
            );
            Ok(())
        }
        Command::Admin { flags, command } => {
            let config = load_config(file, &flags)?;
            admin(config, command).await
        }
    }
}

/// Reaches the database without changing anything; a SQLite file that does not exist yet is
/// fine (the first start creates it).
async fn check_database(config: &Config) -> anyhow::Result<&'static str> {
    if let Some(path) = config.database_url.strip_prefix("sqlite://")
        && !Path::new(path.split('?').next().unwrap_or(path)).exists()
    {
        return Ok("will be created at first start");
    }
    let store = Store::connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot reach the database {}",
                redact_url(&config.database_url)
            )
        })?;
    store.ping().await?;
    store.close().await;
    Ok("reachable")
}

async fn admin(config: Config, command: AdminCommand) -> anyhow::Result<()> {
    let (state, source) = open_state(config).await?;
    let store = &state.store;
    let tenant = TenantId::DEFAULT;
    let now = clock::now_ms();
    let actor = Actor::cli();
    match command {
        AdminCommand::CreateUser {
            username,
            role,
            display_name,
            password,
        } => {
            let password = password.read()?;
            let mut tx = store.begin_write().await?;
            let display = display_name.unwrap_or_else(|| username.clone());
            let id = users::create_user(&mut tx, tenant, &username, &display, role, &password, now)
                .await?;
            let after = serde_json::json!({ "username": username, "role": role });
            audit::record(
                &mut tx,
                tenant,
                &actor,
                "admin_user.create",
                &username,
                None,
                Some(&after),
                now,
            )
            .await?;
            tx.commit().await?;
            println!("created user {username} (id {id}, role {})", role.as_str());
        }
        AdminCommand::ResetPassword { username, password } => {
            let password = password.read()?;
            let user = users::find_by_username(store, tenant, &username)
                .await?
                .with_context(|| format!("no user named {username}"))?;
            let mut tx = store.begin_write().await?;
            users::set_password(&mut tx, tenant, user.id, &password, now).await?;
            audit::record(
                &mut tx,
                tenant,
                &actor,
                "admin_user.reset_password",
                &username,
                None,
                None,
                now,
            )
            .await?;
            tx.commit().await?;
            println!("password of {username} was reset; its sessions were ended");
        }
        AdminCommand::ListUsers => {
            for user in users::list_users(store, tenant).await? {
                println!(
                    "{:>4}  {:<24} {:<12} {}",
                    user.id,
                    user.username,
                    user.role.as_str(),
                    if user.disabled { "disabled" } else { "active" }
                );
            }
        }
        AdminCommand::CreateApiKey {
            name,
            scopes,
            output,
        } => {
            let scopes = parse_scopes(scopes.split(','))?;
            let mut tx = store.begin_write().await?;
            let (record, key) =
                api_keys::create_key(&mut tx, tenant, &name, &scopes, &actor.name, None, now)
                    .await?;
            let after = serde_json::json!({ "name": record.name, "prefix": record.prefix, "scopes": record.scopes });
            audit::record(
                &mut tx,
                tenant,
                &actor,
                "api_key.create",
                &record.id.to_string(),
                None,
                Some(&after),
                now,
            )
            .await?;
            tx.commit().await?;
            match output {
                Some(path) => {
                    demo::write_private_file(&path, key.as_bytes())?;
                    println!(
                        "created API key {} (id {}); the key is in {}",
                        record.prefix,
                        record.id,
                        path.display()
                    );
                }
                None => {
                    // Reveal-once exception: see secrets::reveal.
                    println!("created API key id {}; it is shown once:\n{key}", record.id);
                }
            }
        }
        AdminCommand::ListApiKeys => {
            for key in api_keys::list_keys(store, tenant).await? {
                let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{:>4}  {:<24} {}…  {:<12} {}",
                    key.id,
                    key.name,
                    key.prefix,
                    scopes.join(","),
                    if key.revoked_ms.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        AdminCommand::RevokeApiKey { id } => {
            let mut tx = store.begin_write().await?;
            api_keys::revoke_key(&mut tx, tenant, id, now).await?;
            audit::record(
                &mut tx,
                tenant,
                &actor,
                "api_key.revoke",
                &id.to_string(),
                None,
                None,
                now,
            )
            .await?;
            tx.commit().await?;
            println!("API key {id} revoked");
        }
        AdminCommand::RotateMasterKey { new_key_file } => {
            let report =
                rotate_master_key(store, &state.sealer, &source, new_key_file.as_deref()).await?;
            let mut tx = store.begin_write().await?;
            let after = serde_json::json!({ "old_key_id": report.old_key_id, "new_key_id": report.new_key_id });
            audit::record(
                &mut tx,
                tenant,
                &actor,
                "master_key.rotate",
                "master_key",
                None,
                Some(&after),
                now,
            )
            .await?;
            tx.commit().await?;
            println!(
                "master key rotated: {} -> {}; {} sealed values re-sealed",
                report.old_key_id, report.new_key_id, report.resealed
            );
            if let Some(path) = new_key_file {
                println!(
                    "the new key is in {}: set QIAO_MASTER_KEY to its content on every node, then restart them",
                    path.display()
                );
            }
        }
    }
    store.close().await;
    Ok(())
}
