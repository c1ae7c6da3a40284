//! `EtcdStatus` and `EtcdMemberList` (control-plane nodes only).

use crate::client::{NodeClient, machine_api, single};
use crate::error::Error;
use crate::methods;
use crate::proto::machine::EtcdMemberListRequest;
use crate::transport::{Failover, request};

/// The etcd member status of one control-plane node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdStatus {
    /// This member's id.
    pub member_id: u64,
    /// The current leader's member id.
    pub leader_id: u64,
    /// Database size in bytes.
    pub db_size: i64,
    /// Raft index.
    pub raft_index: u64,
    /// Raft term.
    pub raft_term: u64,
    /// Whether this member is a learner.
    pub is_learner: bool,
    /// Errors etcd reports (alarms and the like).
    pub errors: Vec<String>,
}

impl EtcdStatus {
    /// True when this member is the etcd leader.
    pub fn is_leader(&self) -> bool {
        self.member_id == self.leader_id
    }
}

/// One etcd cluster member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdMember {
    /// Member id.
    pub id: u64,
    /// Member host name.
    pub hostname: String,
    /// Peer URLs.
    pub peer_urls: Vec<String>,
    /// Client URLs.
    pub client_urls: Vec<String>,
    /// Whether the member is a learner.
    pub is_learner: bool,
}

impl NodeClient {
    /// The etcd status of this control-plane node, including the leader's member id.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] on worker nodes or when etcd is down.
    pub async fn etcd_status(&self) -> Result<EtcdStatus, Error> {
        let context = self.context(methods::ETCD_STATUS);
        let response = self
            .call(
                &context,
                Failover::OnUnavailable,
                |channel, node| async move {
                    machine_api(channel)
                        .etcd_status(request((), node.as_ref()))
                        .await
                },
            )
            .await?;
        let status = single(&context, response.messages)?
            .member_status
            .ok_or_else(|| context.protocol_error("the etcd status has no member status"))?;
        Ok(EtcdStatus {
            member_id: status.member_id,
            leader_id: status.leader,
            db_size: status.db_size,
            raft_index: status.raft_index,
            raft_term: status.raft_term,
            is_learner: status.is_learner,
            errors: status.errors,
        })
    }

    /// The etcd cluster members as seen by this control-plane node.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] on worker nodes or when etcd is down.
    pub async fn etcd_member_list(&self) -> Result<Vec<EtcdMember>, Error> {
        let context = self.context(methods::ETCD_MEMBER_LIST);
        let response = self
            .call(
                &context,
                Failover::OnUnavailable,
                |channel, node| async move {
                    machine_api(channel)
                        .etcd_member_list(request(
                            EtcdMemberListRequest { query_local: false },
                            node.as_ref(),
                        ))
                        .await
                },
            )
            .await?;
        Ok(single(&context, response.messages)?
            .members
            .into_iter()
            .map(|member| EtcdMember {
                id: member.id,
                hostname: member.hostname,
                peer_urls: member.peer_urls,
                client_urls: member.client_urls,
                is_learner: member.is_learner,
            })
            .collect())
    }

    /// The current etcd leader, as seen by this control-plane node (status + member list).
    ///
    /// # Errors
    ///
    /// As [`NodeClient::etcd_status`]; [`Error::Protocol`] when the leader is not among
    /// the members (an election in progress: retry).
    pub async fn etcd_leader(&self) -> Result<EtcdMember, Error> {
        let leader_id = self.etcd_status().await?.leader_id;
        self.etcd_member_list()
            .await?
            .into_iter()
            .find(|member| member.id == leader_id)
            .ok_or_else(|| {
                self.context(methods::ETCD_MEMBER_LIST).protocol_error(format!(
                    "the leader {leader_id:x} is not in the member list; retry once the election settles"
                ))
            })
    }
}
