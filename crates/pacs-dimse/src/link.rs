//! Messages over an established association: command sets gathered from
//! Command PDVs, data sets streamed from Data PDVs as they arrive, and whole
//! PDUs written for what the archive sends.

use std::collections::VecDeque;
use std::io;

use bytes::Bytes;
use dicom_ul::association::server::AsyncServerAssociation;
use dicom_ul::association::{Association, AsyncAssociation};
use dicom_ul::pdu::{
    PDataValue, PDataValueType, Pdu, PresentationContextNegotiated, PresentationContextResultReason,
};
use futures_util::Stream;
use pacs_dicom_ops::dimse::{DimseCommand, MAX_COMMAND_BYTES, read_command, write_command};
use tokio::net::TcpStream;

/// Why an association ends other than by an orderly release.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// The peer aborted, closed the connection or went silent past the idle timeout.
    Lost(String),
    /// The peer broke the protocol: the association is aborted.
    Protocol(String),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Lost(m) => write!(f, "association lost: {m}"),
            LinkError::Protocol(m) => write!(f, "protocol error: {m}"),
        }
    }
}

/// A command received, with the presentation context it came on.
#[derive(Debug)]
pub(crate) struct Received {
    pub context: u8,
    pub command: DimseCommand,
}

/// Either end of an association: the archive's as acceptor (a request it
/// serves) or as requestor (a C-MOVE destination it sends to).
pub(crate) trait Peer: AsyncAssociation<TcpStream> + Association + Send {}

impl<A: AsyncAssociation<TcpStream> + Association + Send> Peer for A {}

pub(crate) struct Link<A: Peer = AsyncServerAssociation<TcpStream>> {
    assoc: A,
    /// PDVs of a P-DATA PDU not consumed yet (one PDU may carry several).
    pending: VecDeque<PDataValue>,
    /// A data set announced by the last command has PDVs still to come.
    data_open: bool,
    /// A data set being sent: its context and the bytes not sent yet.
    outgoing: Option<(u8, Vec<u8>)>,
}

impl<A: Peer> Link<A> {
    pub fn new(assoc: A) -> Self {
        Self {
            assoc,
            pending: VecDeque::new(),
            data_open: false,
            outgoing: None,
        }
    }

    /// An accepted presentation context for sending `sop_class` in `ts`.
    pub fn context_for(&self, sop_class: &str, ts: &str) -> Option<u8> {
        self.contexts()
            .iter()
            .find(|pc| {
                pc.reason == PresentationContextResultReason::Acceptance
                    && pc.abstract_syntax.trim_end_matches(['\0', ' ']) == sop_class
                    && pc.transfer_syntax.trim_end_matches(['\0', ' ']) == ts
            })
            .map(|pc| pc.id)
    }

    /// The presentation contexts negotiated.
    pub fn contexts(&self) -> &[PresentationContextNegotiated] {
        Association::presentation_contexts(&self.assoc)
    }

    /// The next PDV; `None` when the peer released the association (answered).
    async fn next_pdv(&mut self) -> Result<Option<PDataValue>, LinkError> {
        loop {
            if let Some(pdv) = self.pending.pop_front() {
                return Ok(Some(pdv));
            }
            match AsyncAssociation::receive(&mut self.assoc).await {
                Ok(Pdu::PData { data }) => self.pending.extend(data),
                Ok(Pdu::ReleaseRQ) => {
                    AsyncAssociation::send(&mut self.assoc, &Pdu::ReleaseRP)
                        .await
                        .map_err(|e| LinkError::Lost(e.to_string()))?;
                    return Ok(None);
                }
                Ok(Pdu::AbortRQ { source }) => {
                    return Err(LinkError::Lost(format!("aborted by the peer ({source:?})")));
                }
                Ok(other) => {
                    return Err(LinkError::Protocol(format!(
                        "unexpected {}",
                        other.short_description()
                    )));
                }
                Err(e) => return Err(LinkError::Lost(e.to_string())),
            }
        }
    }

    /// The next command; `None` when the peer released the association.
    pub async fn next_command(&mut self) -> Result<Option<Received>, LinkError> {
        let mut bytes = Vec::new();
        let mut context = None;
        loop {
            let Some(pdv) = self.next_pdv().await? else {
                return match context {
                    None => Ok(None),
                    Some(_) => Err(LinkError::Protocol("released within a command".into())),
                };
            };
            if pdv.value_type != PDataValueType::Command {
                return Err(LinkError::Protocol(
                    "a data fragment where a command was expected".into(),
                ));
            }
            if *context.get_or_insert(pdv.presentation_context_id) != pdv.presentation_context_id {
                return Err(LinkError::Protocol(
                    "a command spread over two presentation contexts".into(),
                ));
            }
            if bytes.len() + pdv.data.len() > MAX_COMMAND_BYTES {
                return Err(LinkError::Protocol("a command set too large".into()));
            }
            bytes.extend_from_slice(&pdv.data);
            if pdv.is_last {
                break;
            }
        }
        let command = read_command(&bytes).map_err(|e| LinkError::Protocol(e.to_string()))?;
        self.data_open = command.has_data_set;
        Ok(Some(Received {
            context: context.unwrap_or_default(),
            command,
        }))
    }

    /// The data set of the last command, fragment by fragment as it arrives.
    /// A broken transfer ends the stream with an error.
    pub fn data(&mut self) -> impl Stream<Item = io::Result<Bytes>> + '_ {
        futures_util::stream::unfold(self, |link| async move {
            if !link.data_open {
                return None;
            }
            let item = match link.next_pdv().await {
                Ok(Some(pdv)) if pdv.value_type == PDataValueType::Data => {
                    link.data_open = !pdv.is_last;
                    Ok(Bytes::from(pdv.data))
                }
                Ok(Some(_)) => {
                    link.data_open = false;
                    Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a command fragment within a data set",
                    ))
                }
                Ok(None) => {
                    link.data_open = false;
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "released within a data set",
                    ))
                }
                Err(e) => {
                    link.data_open = false;
                    Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        e.to_string(),
                    ))
                }
            };
            Some((item, link))
        })
    }

    /// The whole data set of the last command when it holds at most `max`
    /// bytes (a query); `None` when it is larger (the rest is drained).
    pub async fn small_data(&mut self, max: usize) -> Result<Option<Vec<u8>>, LinkError> {
        let mut out = Vec::new();
        while self.data_open {
            match self.next_pdv().await? {
                Some(pdv) if pdv.value_type == PDataValueType::Data => {
                    self.data_open = !pdv.is_last;
                    if out.len() + pdv.data.len() > max {
                        self.drain_data().await?;
                        return Ok(None);
                    }
                    out.extend_from_slice(&pdv.data);
                }
                Some(_) => return Err(LinkError::Protocol("a command within a data set".into())),
                None => return Err(LinkError::Protocol("released within a data set".into())),
            }
        }
        Ok(Some(out))
    }

    /// Reads and drops what is left of the last command's data set (after a
    /// refusal, the peer still sends it before it reads the response).
    pub async fn drain_data(&mut self) -> Result<(), LinkError> {
        while self.data_open {
            match self.next_pdv().await? {
                Some(pdv) if pdv.value_type == PDataValueType::Data => {
                    self.data_open = !pdv.is_last;
                }
                Some(_) => return Err(LinkError::Protocol("a command within a data set".into())),
                None => return Err(LinkError::Protocol("released within a data set".into())),
            }
        }
        Ok(())
    }

    /// Sends a command set in one PDU (command sets are far below any PDU size).
    pub async fn send_command(
        &mut self,
        context: u8,
        command: &DimseCommand,
    ) -> Result<(), LinkError> {
        let data = write_command(command).map_err(|e| LinkError::Protocol(e.to_string()))?;
        AsyncAssociation::send(
            &mut self.assoc,
            &Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: context,
                    value_type: PDataValueType::Command,
                    is_last: true,
                    data,
                }],
            },
        )
        .await
        .map_err(|e| LinkError::Lost(e.to_string()))
    }

    /// Sends a data set in PDUs no larger than the peer accepts.
    pub async fn send_data(&mut self, context: u8, data: &[u8]) -> Result<(), LinkError> {
        // The PDU's variable field holds one PDV: 4 bytes of length, the
        // context id and the control header before the fragment.
        let piece = (Association::peer_max_pdu_length(&self.assoc) as usize)
            .saturating_sub(12)
            .max(1024);
        let mut chunks = data.chunks(piece).peekable();
        if chunks.peek().is_none() {
            return self.send_fragment(context, Vec::new(), true).await;
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            self.send_fragment(context, chunk.to_vec(), last).await?;
        }
        Ok(())
    }

    /// The largest fragment one PDU to the peer carries: the PDU's variable
    /// field holds one PDV of 4 bytes of length, the context id and the
    /// control header before the fragment.
    fn piece(&self) -> usize {
        (Association::peer_max_pdu_length(&self.assoc) as usize)
            .saturating_sub(12)
            .max(1024)
    }

    /// Starts sending a data set on `context`, streamed with `push_data`.
    pub fn start_data(&mut self, context: u8) {
        self.outgoing = Some((context, Vec::new()));
    }

    /// Sends the bytes of the data set that fill whole PDUs, keeps the rest.
    pub async fn push_data(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let piece = self.piece();
        let Some((context, mut buf)) = self.outgoing.take() else {
            return Err(LinkError::Protocol("data pushed before start_data".into()));
        };
        buf.extend_from_slice(bytes);
        // Keep at least one byte back: the last fragment carries the last flag.
        let mut sent = 0;
        while buf.len() - sent > piece {
            self.send_fragment(context, buf[sent..sent + piece].to_vec(), false)
                .await?;
            sent += piece;
        }
        buf.drain(..sent);
        self.outgoing = Some((context, buf));
        Ok(())
    }

    /// Sends what is left of the data set as its last fragment.
    pub async fn finish_data(&mut self) -> Result<(), LinkError> {
        let Some((context, buf)) = self.outgoing.take() else {
            return Err(LinkError::Protocol("finish_data before start_data".into()));
        };
        self.send_fragment(context, buf, true).await
    }

    async fn send_fragment(
        &mut self,
        context: u8,
        data: Vec<u8>,
        last: bool,
    ) -> Result<(), LinkError> {
        AsyncAssociation::send(
            &mut self.assoc,
            &Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: context,
                    value_type: PDataValueType::Data,
                    is_last: last,
                    data,
                }],
            },
        )
        .await
        .map_err(|e| LinkError::Lost(e.to_string()))
    }

    /// Aborts the association (A-ABORT from the service provider) and closes it.
    pub async fn abort(self) {
        let _ = AsyncAssociation::abort(self.assoc).await;
    }

    /// Releases an association this archive requested.
    pub async fn release(self) -> Result<(), LinkError> {
        AsyncAssociation::release(self.assoc)
            .await
            .map_err(|e| LinkError::Lost(e.to_string()))
    }
}
