//! `Logs`: a service's log as a stream of lines.

use std::collections::VecDeque;

use futures::stream::{BoxStream, StreamExt};

use crate::client::{NodeClient, machine_api};
use crate::error::Error;
use crate::methods;
use crate::proto::common::{ContainerDriver, Data};
use crate::proto::machine::LogsRequest;
use crate::transport::{Failover, request};

impl NodeClient {
    /// The log of the Talos or extension service `service` (for example `ext-tailscale`)
    /// as lines without their line ending.
    ///
    /// A line longer than 1 MiB is delivered in pieces of at most that size (cut at a
    /// character boundary), so a node that never sends a line ending cannot make the
    /// client buffer without bound.
    ///
    /// `tail` limits the output to the last N lines (`None` = the whole log; note that
    /// `Some(0)` returns nothing). With `follow` the stream stays open for new lines.
    ///
    /// # Errors
    ///
    /// Opening fails with [`Error::Api`] for an unknown service; the stream yields
    /// transport errors (for example when the node reboots).
    pub async fn logs(
        &self,
        service: &str,
        follow: bool,
        tail: Option<u32>,
    ) -> Result<BoxStream<'static, Result<String, Error>>, Error> {
        let context = self.context(methods::LOGS);
        let message = LogsRequest {
            namespace: "system".to_owned(),
            id: service.to_owned(),
            driver: ContainerDriver::Containerd.into(),
            follow,
            tail_lines: tail.map_or(-1, |lines| i32::try_from(lines).unwrap_or(i32::MAX)),
        };
        let streaming = self
            .call(&context, Failover::OnUnavailable, |channel, node| {
                let message = message.clone();
                async move {
                    machine_api(channel)
                        .logs(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        Ok(lines(context.stream(streaming)))
    }
}

/// Splits a stream of arbitrarily cut chunks into lines.
fn lines(
    chunks: BoxStream<'static, Result<Data, Error>>,
) -> BoxStream<'static, Result<String, Error>> {
    let state = (chunks, LineSplitter::default(), false);
    futures::stream::unfold(state, |(mut chunks, mut splitter, mut ended)| async move {
        loop {
            if let Some(line) = splitter.next_line() {
                return Some((Ok(line), (chunks, splitter, ended)));
            }
            if ended {
                return None;
            }
            match chunks.next().await {
                Some(Ok(data)) => splitter.push(&data.bytes),
                Some(Err(error)) => return Some((Err(error), (chunks, splitter, true))),
                None => {
                    splitter.finish();
                    ended = true;
                }
            }
        }
    })
    .boxed()
}

/// Longest line the splitter buffers before handing it out in pieces.
const MAX_LINE_BYTES: usize = 1 << 20;

/// Buffers bytes and hands out complete lines (`\n` or `\r\n` terminated); a line
/// longer than [`MAX_LINE_BYTES`] comes out in pieces.
#[derive(Debug, Default)]
struct LineSplitter {
    partial: Vec<u8>,
    ready: VecDeque<String>,
}

impl LineSplitter {
    fn push(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte == b'\n' {
                let mut line = std::mem::take(&mut self.partial);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.ready
                    .push_back(String::from_utf8_lossy(&line).into_owned());
            } else {
                self.partial.push(byte);
                if self.partial.len() >= MAX_LINE_BYTES {
                    self.emit_overlong_piece();
                }
            }
        }
    }

    /// Hands out the buffered bytes up to the last character boundary, keeping the start
    /// of a character cut by the chunking for the next piece.
    fn emit_overlong_piece(&mut self) {
        let mut cut = self.partial.len();
        while cut > 0 && self.partial[cut - 1] & 0xC0 == 0x80 {
            cut -= 1;
        }
        // `cut - 1` is now the first byte of the last (possibly incomplete) character.
        let last_start = cut.saturating_sub(1);
        let complete = match self.partial.get(last_start) {
            Some(&lead) if utf8_len(lead) > self.partial.len() - last_start => last_start,
            _ => self.partial.len(),
        };
        let rest = self.partial.split_off(complete.max(1));
        let piece = std::mem::replace(&mut self.partial, rest);
        self.ready
            .push_back(String::from_utf8_lossy(&piece).into_owned());
    }

    /// Emits a final line that had no line ending.
    fn finish(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.ready
                .push_back(String::from_utf8_lossy(&line).into_owned());
        }
    }

    fn next_line(&mut self) -> Option<String> {
        self.ready.pop_front()
    }
}

/// Length of the UTF-8 sequence a lead byte starts (1 for ASCII and invalid bytes).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::default();
        let mut out = Vec::new();
        for chunk in chunks {
            splitter.push(chunk);
            out.extend(std::iter::from_fn(|| splitter.next_line()));
        }
        splitter.finish();
        out.extend(std::iter::from_fn(|| splitter.next_line()));
        out
    }

    #[test]
    fn lines_cut_across_chunks_are_joined() {
        assert_eq!(
            split(&[b"boot", b"ing\nrun", b"ning\r\n", b"\nlast"]),
            ["booting", "running", "", "last"]
        );
    }

    #[test]
    fn a_multibyte_character_split_between_chunks_survives() {
        let text = "grüezi\n".as_bytes();
        assert_eq!(split(&[&text[..3], &text[3..]]), ["grüezi"]);
    }

    #[test]
    fn an_endless_line_is_handed_out_in_bounded_pieces() {
        let chunk = vec![b'x'; 300 * 1024];
        let chunks: Vec<&[u8]> = std::iter::repeat_n(chunk.as_slice(), 8).collect();
        let pieces = split(&chunks);
        assert!(pieces.iter().all(|piece| piece.len() <= MAX_LINE_BYTES));
        assert_eq!(
            pieces.iter().map(String::len).sum::<usize>(),
            8 * 300 * 1024
        );
        assert_eq!(pieces.len(), 3);
    }

    #[test]
    fn a_piece_never_cuts_a_character_in_half() {
        let mut text = vec![b'a'; MAX_LINE_BYTES - 1];
        text.extend_from_slice("ü tail\n".as_bytes());
        let pieces = split(&[&text[..MAX_LINE_BYTES], &text[MAX_LINE_BYTES..]]);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].len(), MAX_LINE_BYTES - 1);
        assert_eq!(pieces[1], "ü tail");
    }
}
