//! `Version`: the Talos version a node runs.

use crate::client::{NodeClient, machine_api, single};
use crate::error::Error;
use crate::methods;
use crate::transport::{Failover, request};

/// The Talos build a node runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Release tag, for example `v1.13.2`.
    pub tag: String,
    /// Git commit of the build.
    pub sha: String,
    /// Build timestamp as reported.
    pub built: String,
    /// Go toolchain version.
    pub go_version: String,
    /// Operating system (`linux`).
    pub os: String,
    /// CPU architecture (`amd64`, `arm64`).
    pub arch: String,
    /// Platform name (`metal`, `aws`, …), when reported.
    pub platform: Option<String>,
}

impl Version {
    /// The tag as a semantic version (`v1.13.2` → 1.13.2), when it parses.
    pub fn semver(&self) -> Option<semver::Version> {
        semver::Version::parse(self.tag.trim_start_matches('v')).ok()
    }
}

impl NodeClient {
    /// The Talos version the node runs.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] from the node, [`Error::Connect`]/[`Error::Timeout`] from the transport.
    pub async fn version(&self) -> Result<Version, Error> {
        let context = self.context(methods::VERSION);
        let response = self
            .call(
                &context,
                Failover::OnUnavailable,
                |channel, node| async move {
                    machine_api(channel)
                        .version(request((), node.as_ref()))
                        .await
                },
            )
            .await?;
        let message = single(&context, response.messages)?;
        let info = message
            .version
            .ok_or_else(|| context.protocol_error("the version message has no version info"))?;
        Ok(Version {
            tag: info.tag,
            sha: info.sha,
            built: info.built,
            go_version: info.go_version,
            os: info.os,
            arch: info.arch,
            platform: message.platform.map(|platform| platform.name),
        })
    }
}
