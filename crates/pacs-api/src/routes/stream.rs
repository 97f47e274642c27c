//! Response bodies that are more than one stored object: multipart answers of
//! instances (each streamed from its medium), frames and zips (written by
//! synchronous code on a blocking task into a small bounded channel that the
//! response drains). Nothing is held in memory whole.

use std::io::{self, Write};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use pacs_app::AppError;
use pacs_app::Ports;
use pacs_app::frames::{FramePart, FrameReader};
use pacs_app::retrieve::{InstanceBytes, open};
use pacs_domain::model::StoredInstance;
use pacs_storage::slices::Slices;
use tokio::sync::mpsc;

const SLICE: usize = 1024 * 1024;

/// Instances opened ahead of the one being sent (each holds one slice).
const READ_AHEAD: usize = 3;

type Chunk = Result<Bytes, io::Error>;

fn receiver_stream(rx: mpsc::Receiver<Chunk>) -> impl Stream<Item = Chunk> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

fn part_head(boundary: &str, inst: &StoredInstance, len: u64) -> String {
    format!(
        "--{boundary}\r\nContent-Type: application/dicom; transfer-syntax={}\r\nContent-Length: {len}\r\n\r\n",
        inst.transfer_syntax
    )
}

fn closing(boundary: &str) -> String {
    format!("--{boundary}--\r\n")
}

/// The length of the multipart body, known in advance when every instance is
/// returned as stored (the usual case): the response then needs no chunking.
pub fn multipart_length(instances: &[StoredInstance], boundary: &str) -> Option<u64> {
    let mut total = closing(boundary).len() as u64;
    for inst in instances {
        if !inst.uncorrected() {
            return None;
        }
        total += part_head(boundary, inst, inst.blob.size).len() as u64 + inst.blob.size + 2;
    }
    Some(total)
}

/// One application/dicom part: its head, the object's bytes, the CRLF.
fn part(
    boundary: &str,
    inst: &StoredInstance,
    bytes: InstanceBytes,
) -> impl Stream<Item = Chunk> + use<> {
    let head = Bytes::from(part_head(boundary, inst, bytes.len));
    futures_util::stream::once(std::future::ready(Ok(head)))
        .chain(bytes.stream)
        .chain(futures_util::stream::once(std::future::ready(Ok(
            Bytes::from_static(b"\r\n"),
        ))))
}

/// A multipart/related body of `instances` (application/dicom parts), each
/// streamed from its medium. The first is opened before the answer starts, so
/// that a medium that is down is a status (503), not a cut answer; the others
/// are opened as the ones before them are sent.
pub async fn multipart_body(
    ports: Ports,
    instances: Vec<StoredInstance>,
    boundary: String,
) -> Result<impl Stream<Item = Chunk>, AppError> {
    let mut instances = instances.into_iter();
    let first = match instances.next() {
        Some(inst) => {
            let bytes = open(&ports, &inst).await?;
            Some(part(&boundary, &inst, bytes))
        }
        None => None,
    };
    let end = Bytes::from(closing(&boundary));
    let rest = futures_util::stream::iter(instances)
        .map(move |inst| {
            let (ports, boundary) = (ports.clone(), boundary.clone());
            async move {
                match open(&ports, &inst).await {
                    Ok(bytes) => part(&boundary, &inst, bytes).left_stream(),
                    Err(e) => {
                        log::error!("retrieval stopped: {e}");
                        let failed = Err(io::Error::other(e.to_string()));
                        futures_util::stream::once(std::future::ready(failed)).right_stream()
                    }
                }
            }
        })
        // The next instances are opened (and their first slice read) while
        // one is sent: disk and network overlap, as they did with one reader.
        .buffered(READ_AHEAD)
        .flatten();
    Ok(futures_util::stream::iter(first)
        .flatten()
        .chain(rest)
        .chain(futures_util::stream::once(std::future::ready(Ok(end)))))
}

/// A multipart/related body of frames: `first`, read already (so that its
/// failure is a status, not a cut answer), then the rest, read one at a time as
/// the client takes them.
pub fn frames_body(
    first: FramePart,
    rest: FrameReader,
    boundary: String,
) -> impl Stream<Item = Chunk> {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    tokio::task::spawn_blocking(move || {
        for part in std::iter::once(Ok(first)).chain(rest) {
            let part = match part {
                Ok(p) => p,
                Err(e) => {
                    log::error!("frame retrieval stopped: {e}");
                    let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
                    return;
                }
            };
            let head = format!(
                "--{boundary}\r\nContent-Type: {}; transfer-syntax={}\r\nContent-Length: {}\r\n\r\n",
                part.media_type,
                part.transfer_syntax,
                part.bytes.len()
            );
            if tx.blocking_send(Ok(Bytes::from(head))).is_err()
                || tx.blocking_send(Ok(Bytes::from(part.bytes))).is_err()
                || tx.blocking_send(Ok(Bytes::from_static(b"\r\n"))).is_err()
            {
                return;
            }
        }
        let _ = tx.blocking_send(Ok(Bytes::from(closing(&boundary))));
    });
    receiver_stream(rx)
}

/// A multipart/related body of one part: Pixel Data as one bulk value, the
/// frames one after the other (`first` read already), read as the client
/// takes them.
pub fn pixel_data_body(
    first: FramePart,
    rest: FrameReader,
    boundary: String,
) -> impl Stream<Item = Chunk> {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    let head = format!(
        "--{boundary}\r\nContent-Type: {}; transfer-syntax={}\r\n\r\n",
        first.media_type, first.transfer_syntax
    );
    tokio::task::spawn_blocking(move || {
        if tx.blocking_send(Ok(Bytes::from(head))).is_err() {
            return;
        }
        for part in std::iter::once(Ok(first)).chain(rest) {
            match part {
                Ok(p) => {
                    if tx.blocking_send(Ok(Bytes::from(p.bytes))).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    log::error!("pixel data retrieval stopped: {e}");
                    let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
                    return;
                }
            }
        }
        let _ = tx.blocking_send(Ok(Bytes::from(format!("\r\n{}", closing(&boundary)))));
    });
    receiver_stream(rx)
}

/// A `Write` that sends what is written to a response, in slices.
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
    pool: Slices,
}

impl ChannelWriter {
    fn new(tx: mpsc::Sender<Chunk>) -> Self {
        let pool = Slices::new();
        Self {
            tx,
            buf: pool.take_empty(SLICE),
            pool,
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, self.pool.take_empty(SLICE));
        let len = full.len();
        self.tx
            .blocking_send(Ok(self.pool.lend(full, len)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= SLICE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// A zip of instances (`<SOP Instance UID>.dcm` each), written as it is sent.
pub fn zip_body(ports: Ports, instances: Vec<StoredInstance>) -> impl Stream<Item = Chunk> {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter::new(tx.clone());
        let written = pacs_app::pathology::write_instances_zip(&ports, &instances, &mut out)
            .and_then(|()| out.flush());
        if let Err(e) = written
            && e.kind() != io::ErrorKind::BrokenPipe
        {
            log::error!("whole slide zip stopped: {e}");
            let _ = tx.blocking_send(Err(e));
        }
    });
    receiver_stream(rx)
}
