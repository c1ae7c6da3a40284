//! `Read` (a file from the node) and `Kubeconfig`.

use futures::stream::{BoxStream, StreamExt};

use crate::client::{NodeClient, machine_api};
use crate::error::Error;
use crate::methods;
use crate::proto::common::Data;
use crate::proto::machine::ReadRequest;
use crate::transport::{Failover, request};

impl NodeClient {
    /// The contents of the file at `path` on the node (for example
    /// `/proc/sys/kernel/random/boot_id`).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without `os:admin`; [`Error::Api`] when the file does
    /// not exist or cannot be read.
    pub async fn read(&self, path: &str) -> Result<Vec<u8>, Error> {
        let context = self.context(methods::READ);
        let message = ReadRequest {
            path: path.to_owned(),
        };
        let streaming = self
            .call(&context, Failover::OnUnavailable, |channel, node| {
                let message = message.clone();
                async move {
                    machine_api(channel)
                        .read(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        concatenate(context.stream(streaming)).await
    }

    /// The cluster admin kubeconfig as the node sends it: a gzip-compressed tar archive
    /// holding one file, `kubeconfig` (control-plane nodes only).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without `os:admin`; [`Error::Api`] on worker nodes.
    pub async fn kubeconfig(&self) -> Result<Vec<u8>, Error> {
        let context = self.context(methods::KUBECONFIG);
        let streaming = self
            .call(
                &context,
                Failover::OnUnavailable,
                |channel, node| async move {
                    machine_api(channel)
                        .kubeconfig(request((), node.as_ref()))
                        .await
                },
            )
            .await?;
        concatenate(context.stream(streaming)).await
    }
}

async fn concatenate(
    mut chunks: BoxStream<'static, Result<Data, Error>>,
) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.next().await {
        bytes.extend_from_slice(&chunk?.bytes);
    }
    Ok(bytes)
}
