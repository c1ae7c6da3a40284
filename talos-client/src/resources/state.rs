//! The COSI `State` calls (Get, List, Watch) on a [`NodeClient`], raw and typed.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use super::{RawResource, Resource, ResourceKind, WatchEvent};
use crate::client::{NodeClient, state_api};
use crate::error::Error;
use crate::identity::required_roles_to_read;
use crate::methods;
use crate::proto::cosi::resource::{
    EventType, GetRequest, ListRequest, WatchOptions, WatchRequest, WatchResponse,
};
use crate::transport::{CallContext, Failover, request};

/// Watch API version 1: bootstrapped and errored events are sent.
const WATCH_API_VERSION: i32 = 1;

impl NodeClient {
    /// The resource `namespace`/`resource_type`/`id`, or `None` when it does not exist.
    ///
    /// `resource_type` must be canonical (`MachineStatuses.runtime.talos.dev`).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] for a sensitive type without `os:admin`, and for types
    /// the node does not register (older Talos versions); transport errors.
    pub async fn get_raw(
        &self,
        namespace: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<RawResource>, Error> {
        let context = self.state_context(methods::RESOURCE_GET, resource_type);
        let message = GetRequest {
            namespace: namespace.to_owned(),
            r#type: resource_type.to_owned(),
            id: id.to_owned(),
            options: None,
        };
        let result = self
            .call(&context, Failover::OnUnavailable, |channel, node| {
                let message = message.clone();
                async move {
                    state_api(channel)
                        .get(request(message, node.as_ref()))
                        .await
                }
            })
            .await;
        match result {
            Ok(response) => Ok(response.resource.map(RawResource::from_wire)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every resource of `namespace`/`resource_type`.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::get_raw`].
    pub async fn list_raw(
        &self,
        namespace: &str,
        resource_type: &str,
    ) -> Result<Vec<RawResource>, Error> {
        let context = self.state_context(methods::RESOURCE_LIST, resource_type);
        let message = ListRequest {
            namespace: namespace.to_owned(),
            r#type: resource_type.to_owned(),
            options: None,
        };
        let streaming = self
            .call(&context, Failover::OnUnavailable, |channel, node| {
                let message = message.clone();
                async move {
                    state_api(channel)
                        .list(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        context
            .stream(streaming)
            .try_filter_map(
                |response| async move { Ok(response.resource.map(RawResource::from_wire)) },
            )
            .try_collect()
            .await
    }

    /// Watches one resource (`id`) or every resource of the type (`None`; the current ones
    /// are sent first as `Created`, then `Bootstrapped`).
    ///
    /// # Errors
    ///
    /// As [`NodeClient::get_raw`]; the stream yields transport errors when the node goes away.
    pub async fn watch_raw(
        &self,
        namespace: &str,
        resource_type: &str,
        id: Option<&str>,
    ) -> Result<BoxStream<'static, Result<WatchEvent<RawResource>, Error>>, Error> {
        let context = self.state_context(methods::RESOURCE_WATCH, resource_type);
        let message = WatchRequest {
            namespace: namespace.to_owned(),
            r#type: resource_type.to_owned(),
            id: id.map(str::to_owned),
            options: Some(WatchOptions {
                bootstrap_contents: id.is_none(),
                ..WatchOptions::default()
            }),
            api_version: WATCH_API_VERSION,
        };
        let streaming = self
            .call(&context, Failover::OnUnavailable, |channel, node| {
                let message = message.clone();
                async move {
                    state_api(channel)
                        .watch(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        Ok(context
            .stream(streaming)
            .map_ok(|response| stream::iter(watch_events(response).into_iter().map(Ok)))
            .try_flatten()
            .boxed())
    }

    /// The resource of kind `K` with `id`, or `None` when it does not exist.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::get_raw`], plus [`Error::DecodeSpec`].
    pub async fn get<K: ResourceKind>(&self, id: &str) -> Result<Option<Resource<K>>, Error> {
        self.get_raw(K::NAMESPACE, K::TYPE, id)
            .await?
            .map(Resource::from_raw)
            .transpose()
    }

    /// Every resource of kind `K`.
    ///
    /// # Errors
    ///
    /// As [`NodeClient::list_raw`], plus [`Error::DecodeSpec`].
    pub async fn list<K: ResourceKind>(&self) -> Result<Vec<Resource<K>>, Error> {
        self.list_raw(K::NAMESPACE, K::TYPE)
            .await?
            .into_iter()
            .map(Resource::from_raw)
            .collect()
    }

    /// Watches one resource of kind `K` (`id`) or all of them (`None`).
    ///
    /// # Errors
    ///
    /// As [`NodeClient::watch_raw`]; the stream yields [`Error::DecodeSpec`] for a spec
    /// that does not decode.
    pub async fn watch<K: ResourceKind>(
        &self,
        id: Option<&str>,
    ) -> Result<BoxStream<'static, Result<WatchEvent<Resource<K>>, Error>>, Error> {
        let raw = self.watch_raw(K::NAMESPACE, K::TYPE, id).await?;
        Ok(raw
            .map(|event| event.and_then(|event| event.try_map(Resource::from_raw)))
            .boxed())
    }

    fn state_context(&self, method: &'static str, resource_type: &str) -> CallContext {
        self.context_requiring(method, required_roles_to_read(resource_type))
    }
}

/// The events of one watch response (the first, empty response yields none).
fn watch_events(response: WatchResponse) -> Vec<WatchEvent<RawResource>> {
    response
        .event
        .into_iter()
        .filter_map(|event| {
            let resource = event.resource.map(RawResource::from_wire);
            let old = event.old.map(RawResource::from_wire);
            match EventType::try_from(event.event_type) {
                Ok(EventType::Created) => resource.map(WatchEvent::Created),
                Ok(EventType::Updated) => resource.map(|new| WatchEvent::Updated { old, new }),
                Ok(EventType::Destroyed) => resource.map(WatchEvent::Destroyed),
                Ok(EventType::Bootstrapped) => Some(WatchEvent::Bootstrapped),
                Ok(EventType::Errored) => {
                    Some(WatchEvent::Errored(event.error.unwrap_or_default()))
                }
                Ok(EventType::Noop) | Err(_) => None,
            }
        })
        .collect()
}
