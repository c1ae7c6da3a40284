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

/// Buffers bytes and hands out complete lines (`\n` or `\r\n` terminated).
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
            }
        }
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
}
