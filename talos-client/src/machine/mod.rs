//! Typed calls of the Talos machine, image, lifecycle and cluster APIs on a [`NodeClient`](crate::NodeClient).

mod apply;
mod etcd;
mod event_feed;
mod events;
mod files;
mod final_stream;
mod health;
mod install;
mod logs;
mod power;
mod services;
mod version;

pub use apply::{AppliedMode, ApplyMode, ApplyOutcome};
pub use etcd::{EtcdMember, EtcdStatus};
pub use event_feed::{EventFeed, FeedItem};
pub use events::{EventPayload, EventsTail, MachineEvent, MachineStage};
pub use health::ClusterNodes;
pub use install::{ContainerdNamespace, LegacyUpgrade, PullProgress};
pub use power::RebootMode;
pub use services::{ServiceHealth, ServiceStatus};
pub use version::Version;
