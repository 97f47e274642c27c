//! The listener: accepts connections on a thread of its own, bounds the
//! associations served at once, and runs each on a thread of its own.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason,
    AssociationRJSource, Pdu,
};
use pacs_app::Ports;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::association::{Shared, serve};
use crate::directory::Directory;
use crate::settings::ListenerSettings;

/// A running listener. [`Listener::stop`] ends it.
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    active: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
}

impl Listener {
    /// The bound address (the port chosen when `bind` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Associations open now (a metric).
    pub fn active(&self) -> Arc<AtomicUsize> {
        self.active.clone()
    }

    /// Stops accepting, aborts associations waiting for their next request,
    /// and waits at most `grace` for those in the middle of one. Blocks.
    pub fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let deadline = Instant::now() + grace;
        while self.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Counts an association while it lives.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Binds `settings.bind` and starts accepting associations for the tenants of
/// `directory`, served by the use cases on `ports`.
pub fn start(
    settings: ListenerSettings,
    ports: Ports,
    directory: Directory,
) -> io::Result<Listener> {
    let std_listener = std::net::TcpListener::bind(&settings.bind)?;
    std_listener.set_nonblocking(true)?;
    let addr = std_listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let active = Arc::new(AtomicUsize::new(0));
    let shared = Arc::new(Shared {
        ports,
        directory: Arc::new(directory),
        settings,
    });
    let counter = active.clone();
    let accept = std::thread::Builder::new()
        .name("dimse-accept".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    log::error!("DICOM listener: no runtime: {e}");
                    return;
                }
            };
            runtime.block_on(accept_loop(std_listener, shared, counter, stopped));
        })?;
    Ok(Listener {
        addr,
        stop,
        active,
        accept: Some(accept),
    })
}

async fn accept_loop(
    std_listener: std::net::TcpListener,
    shared: Arc<Shared>,
    active: Arc<AtomicUsize>,
    mut stopped: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(std_listener) {
        Ok(l) => l,
        Err(e) => {
            log::error!("DICOM listener: {e}");
            return;
        }
    };
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    log::warn!("DICOM listener: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        // dicom-ul never sets it; without it every small PDU waits for the
        // peer's delayed ACK.
        if let Err(e) = socket.set_nodelay(true) {
            log::warn!("TCP_NODELAY: {e}");
        }
        if active.fetch_add(1, Ordering::SeqCst) >= shared.settings.max_associations {
            active.fetch_sub(1, Ordering::SeqCst);
            log::warn!(
                "association from {peer} rejected: {} associations are open (dimse.max_associations)",
                shared.settings.max_associations
            );
            tokio::spawn(refuse_busy(socket));
            continue;
        }
        let slot = Slot(active.clone());
        let (shared, stopped) = (shared.clone(), stopped.clone());
        let socket = match socket.into_std() {
            Ok(s) => s,
            Err(e) => {
                log::warn!("association from {peer}: {e}");
                continue;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("dimse-association".into())
            .spawn(move || {
                let _slot = slot;
                // The ingest use case's futures are not Send: each association
                // runs on a current-thread runtime of its own.
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        log::error!("association from {peer}: no runtime: {e}");
                        return;
                    }
                };
                runtime.block_on(async move {
                    match TcpStream::from_std(socket) {
                        Ok(socket) => serve(socket, shared, stopped).await,
                        Err(e) => log::warn!("association from {peer}: {e}"),
                    }
                });
            });
        if let Err(e) = spawned {
            log::error!("association from {peer}: no thread: {e}");
        }
    }
}

/// Answers an association request over the limit with a transient rejection
/// (local limit exceeded): the peer may try again later.
async fn refuse_busy(mut socket: TcpStream) {
    let mut header = [0u8; 6];
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read_exact(&mut header)).await;
    if !matches!(read, Ok(Ok(_))) || header[0] != 0x01 {
        return;
    }
    // Read the request (bounded) so the peer is not reset before it reads the answer.
    let len = u32::from_be_bytes([header[2], header[3], header[4], header[5]]).min(64 * 1024);
    let mut rest = vec![0u8; len as usize];
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_exact(&mut rest)).await;
    let mut out = Vec::new();
    let rj = Pdu::AssociationRJ(AssociationRJ {
        result: AssociationRJResult::Transient,
        source: AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
    });
    if dicom_ul::write_pdu(&mut out, &rj).is_ok() {
        let _ = socket.write_all(&out).await;
        let _ = socket.shutdown().await;
    }
}
