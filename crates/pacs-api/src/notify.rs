//! systemd integration (`Type=notify`, sd_notify(3)): `READY=1` once migrations
//! ran and the sockets are bound, `STOPPING=1` as soon as a stop signal arrives,
//! `WATCHDOG=1` at half the interval systemd asks for (`WatchdogSec=`). Without
//! `NOTIFY_SOCKET` (not under systemd) every notification is a no-op.
//!
//! The server's own signal handling is off (`HttpServer::disable_signals`): this
//! module owns it, so that `STOPPING=1` is sent before the graceful stop begins.
//! SIGTERM or SIGINT: stop accepting, let in-flight requests finish (at most
//! `server.shutdown_grace_secs`), exit 0. A second signal, or SIGQUIT: stop now.

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        log::warn!("sd_notify failed: {e}");
    }
}

/// Tells the service manager the archive serves.
pub fn ready(addrs: &[SocketAddr]) {
    let listening: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let status = format!("listening on {}", listening.join(", "));
    send(&[NotifyState::Ready, NotifyState::Status(&status)]);
}

/// Tells the service manager the archive is stopping.
pub fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: finishing in-flight requests"),
    ]);
}

/// Pings the watchdog while the server's control loop runs, when systemd
/// enabled it (`WATCHDOG_USEC` for this process).
pub fn spawn_watchdog() {
    let Some(interval) = sd_notify::watchdog_enabled() else {
        return;
    };
    let period = (interval / 2).max(std::time::Duration::from_millis(100));
    log::info!("systemd watchdog enabled: pinging every {period:?}");
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    });
}

/// Stops the server on SIGTERM/SIGINT (graceful) or SIGQUIT (immediate).
pub async fn stop_on_signals(server: ServerHandle, grace_secs: u64) {
    let (Ok(mut term), Ok(mut int), Ok(mut quit)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::quit()),
    ) else {
        log::error!("cannot install signal handlers; stop the process with SIGKILL");
        return;
    };
    let graceful = tokio::select! {
        _ = term.recv() => { log::info!("SIGTERM received"); true }
        _ = int.recv() => { log::info!("SIGINT received"); true }
        _ = quit.recv() => { log::info!("SIGQUIT received"); false }
    };
    stopping();
    if !graceful {
        server.stop(false).await;
        return;
    }
    log::info!("finishing in-flight requests (at most {grace_secs} s)");
    let stop = server.stop(true);
    tokio::pin!(stop);
    tokio::select! {
        _ = &mut stop => {}
        _ = term.recv() => { log::warn!("second stop signal: stopping now"); server.stop(false).await; }
        _ = int.recv() => { log::warn!("second stop signal: stopping now"); server.stop(false).await; }
        _ = quit.recv() => { log::warn!("SIGQUIT: stopping now"); server.stop(false).await; }
    }
}
