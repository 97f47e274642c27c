//! `pacs`: the archive's command line (RUNNING.md).

mod audit;
mod auth;
mod config;
mod cors;
mod error;
mod media;
mod metrics;
mod notify;
mod openapi;
mod routes;
mod server;
mod state;
mod tolerance;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Many small allocations per instance and per query row: mimalloc handles them
// much better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "pacs",
    version,
    about = "A medical image archive: DICOMweb, the vendor PACS APIs, pathology slides"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply migrations and run the HTTP API until SIGTERM/SIGINT.
    Serve {
        #[arg(long, env = "PACS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        #[arg(long, env = "PACS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate the configuration and exit (non-zero, naming the bad key, on error).
    CheckConfig {
        #[arg(long, env = "PACS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Print the audit log (changes made through the management APIs: who,
    /// what, when, tenant) as JSON lines, oldest first.
    Audit {
        #[arg(long, env = "PACS_CONFIG")]
        config: Option<PathBuf>,
        /// Only this tenant's records (default: every tenant).
        #[arg(long)]
        tenant: Option<String>,
        /// Records after this id (the last `id` printed by a previous call).
        #[arg(long, default_value_t = 0)]
        since_id: i64,
        /// At most this many records (at most 100000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Also print patient IDs (patient data: only where the reader may see it).
        #[arg(long)]
        with_patient_ids: bool,
    },
    /// API keys.
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
}

#[derive(Subcommand, Debug)]
enum KeyAction {
    /// Print a new random API key and the SHA-256 to put in `api_key_sha256`.
    Generate,
}

fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
}

/// Keeps the heap in small pages. With transparent huge pages the allocator's
/// 2 MiB regions become resident whole, and a server streaming gigabytes
/// would hold much more memory than it uses (measured: docs/benchmarks.md).
/// STOW throughput showed no difference either way.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_thp_disable(true) {
        log::warn!("could not turn transparent huge pages off: {e}");
    }
}

#[allow(clippy::print_stdout)]
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Key {
            action: KeyAction::Generate,
        } => {
            let key = auth::generate_key();
            println!("api_key = \"{key}\"");
            println!("api_key_sha256 = \"{}\"", hex::encode(auth::sha256(&key)));
            ExitCode::SUCCESS
        }
        Command::CheckConfig { config } => match config::Settings::load(config.as_deref()) {
            Ok(_) => {
                println!("configuration is valid");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Audit {
            config,
            tenant,
            since_id,
            limit,
            with_patient_ids,
        } => {
            let settings = match config::Settings::load(config.as_deref()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let query = audit::AuditQuery {
                tenant,
                since_id,
                limit,
            };
            match audit::read(&settings, &query) {
                Ok(records) => {
                    for r in &records {
                        println!("{}", audit::line(r, with_patient_ids));
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("pacs audit: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Migrate { config } => {
            init_logging();
            let result = config::Settings::load(config.as_deref())
                .map_err(|e| e.to_string())
                .and_then(|s| server::open_database(&s).map_err(|e| e.to_string()));
            match result {
                Ok(_) => {
                    println!("database is up to date");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve { config } => {
            let settings = match config::Settings::load(config.as_deref()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            init_logging();
            no_huge_pages();
            let result = actix_web::rt::System::new().block_on(server::serve(settings));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    log::error!("{e}");
                    eprintln!("pacs: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
