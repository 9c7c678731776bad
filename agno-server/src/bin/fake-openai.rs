//! `fake-openai --port N [--delay-ms N] [--answer TEXT] [--record]`: the fake
//! OpenAI API (`/v1/responses`, `/v1/chat/completions`; with `--record`,
//! `GET /v1/_requests` lists what it received) on 127.0.0.1, for
//! manual runs and benchmarks. Logs through `tracing` (`RUST_LOG` sets the
//! level, default `info`); stops on Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use agno_server::fake_openai::{FakeConfig, FakeOpenAi};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: fake-openai --port N [--delay-ms N] [--answer TEXT] [--record]";

/// The command line.
struct Args {
    port: u16,
    config: FakeConfig,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut port = None;
    // Recording is off by default: the binary is for load, not assertions.
    let mut config = FakeConfig::default().with_record_requests(false);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => {
                let v = value("--port")?;
                port = Some(v.parse().map_err(|_| format!("invalid port: {v}"))?);
            }
            "--delay-ms" => {
                let v = value("--delay-ms")?;
                let ms: u64 = v.parse().map_err(|_| format!("invalid delay: {v}"))?;
                config = config.with_delay(Duration::from_millis(ms));
            }
            "--answer" => config = config.with_answer(value("--answer")?),
            "--record" => config = config.with_record_requests(true),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}; {USAGE}")),
        }
    }
    let port = port.ok_or_else(|| format!("--port is required; {USAGE}"))?;
    Ok(Args { port, config })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colours only on a terminal: a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    if std::env::args().skip(1).any(|a| a == "-h" || a == "--help") {
        // Asked for: the usage on standard output, success.
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let delay_ms = args.config.delay.as_millis() as u64;
    let fake = match FakeOpenAi::start_on(addr, args.config).await {
        Ok(fake) => fake,
        Err(e) => {
            tracing::error!(%addr, error = %e, "could not start the fake OpenAI server");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(base_url = %fake.base_url(), delay_ms, "fake OpenAI server listening");

    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %e, "could not wait for Ctrl-C");
    }
    tracing::info!(requests = fake.request_count(), "shutting down");
    fake.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_port_and_delay() {
        let args = parse(&["--port", "8081", "--delay-ms", "25"]).unwrap();
        assert_eq!(args.port, 8081);
        assert_eq!(args.config.delay, Duration::from_millis(25));
        assert!(!args.config.record_requests);
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "x"]).is_err());
        assert!(parse(&["--port", "1", "--bogus"]).is_err());
    }
}
