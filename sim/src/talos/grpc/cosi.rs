//! `cosi.resource.State`: Get, List and Watch over the node's rendered resources, with
//! Talos's access rules (unregistered types and sensitive types without admin are denied).

use std::collections::BTreeMap;
use std::sync::Arc;

use talos_client::methods;
use talos_client::proto::cosi::resource::state_server::State;
use talos_client::proto::cosi::resource::{
    self as cosi, EventType, GetRequest, GetResponse, ListRequest, ListResponse, WatchRequest,
    WatchResponse,
};
use tonic::{Request, Response, Status};

use super::{Apid, Call};
use crate::talos::node::Node;
use crate::talos::rbac::{self, Access};
use crate::talos::resources::{self, ResourceType};
use crate::talos::streams::{GrpcStream, finite, produced};

impl Apid {
    fn readable_type(
        &self,
        call: &Call,
        namespace: &str,
        type_name: &str,
    ) -> Result<ResourceType, Status> {
        let resource_type = resources::resource_type(type_name, &call.version())
            .filter(|t| t.namespace == namespace)
            .ok_or_else(|| {
                Status::permission_denied(format!(
                    "resource type {type_name:?} in namespace {namespace:?} is not registered"
                ))
            })?;
        if resource_type.sensitive {
            rbac::check(Access::Admin, &call.roles)?;
        }
        Ok(resource_type)
    }

    fn render(&self, node: &Node, resource_type: ResourceType) -> Vec<cosi::Resource> {
        let now = self.cluster.ctx.clock.now();
        node.update_quietly(|state| resources::list(&node.spec, state, resource_type, now))
    }
}

fn resource_id(resource: &cosi::Resource) -> &str {
    resource.metadata.as_ref().map_or("", |m| m.id.as_str())
}

fn resource_version(resource: &cosi::Resource) -> &str {
    resource
        .metadata
        .as_ref()
        .map_or("", |m| m.version.as_str())
}

fn event(
    event_type: EventType,
    resource: Option<cosi::Resource>,
    old: Option<cosi::Resource>,
) -> WatchResponse {
    WatchResponse {
        event: vec![cosi::Event {
            resource,
            event_type: event_type.into(),
            old,
            error: None,
            bookmark: None,
        }],
    }
}

#[tonic::async_trait]
impl State for Apid {
    async fn get(&self, request: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        let type_name = request.get_ref().r#type.clone();
        let call = self.accept_for(
            &request,
            methods::RESOURCE_GET,
            Access::Read,
            Some(&type_name),
        )?;
        let message = request.into_inner();
        let resource_type = self.readable_type(&call, &message.namespace, &message.r#type)?;
        let resource = self
            .render(&call.node, resource_type)
            .into_iter()
            .find(|r| resource_id(r) == message.id)
            .ok_or_else(|| {
                Status::not_found(format!(
                    "resource {}({}/{}@undefined) doesn't exist",
                    message.r#type, message.namespace, message.id
                ))
            })?;
        Ok(Response::new(GetResponse {
            resource: Some(resource),
        }))
    }

    type ListStream = GrpcStream<ListResponse>;

    async fn list(
        &self,
        request: Request<ListRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        let type_name = request.get_ref().r#type.clone();
        let call = self.accept_for(
            &request,
            methods::RESOURCE_LIST,
            Access::Read,
            Some(&type_name),
        )?;
        let message = request.into_inner();
        let resource_type = self.readable_type(&call, &message.namespace, &message.r#type)?;
        let items = self
            .render(&call.node, resource_type)
            .into_iter()
            .map(|resource| ListResponse {
                resource: Some(resource),
            })
            .collect();
        Ok(Response::new(finite(items)))
    }

    type WatchStream = GrpcStream<WatchResponse>;

    async fn watch(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let type_name = request.get_ref().r#type.clone();
        let call = self.accept_for(
            &request,
            methods::RESOURCE_WATCH,
            Access::Read,
            Some(&type_name),
        )?;
        let message = request.into_inner();
        let resource_type = self.readable_type(&call, &message.namespace, &message.r#type)?;
        let bootstrap = message
            .options
            .as_ref()
            .is_some_and(|o| o.bootstrap_contents);
        if bootstrap && message.id.is_some() {
            return Err(Status::invalid_argument(
                "bootstrap_contents is only supported for kind watches (no id)",
            ));
        }
        let apid = self.clone();
        let node = Arc::clone(&call.node);
        let watches_one = message.id.is_some();
        let only_id = message.id;
        let boot = node.read(|s| s.boot.clone());
        let mut changes = node.changes();
        let snapshot = move || -> BTreeMap<String, cosi::Resource> {
            apid.render(&node, resource_type)
                .into_iter()
                .filter(|r| only_id.as_deref().is_none_or(|id| resource_id(r) == id))
                .map(|r| (resource_id(&r).to_owned(), r))
                .collect()
        };
        let mut known = snapshot();
        let initial_is_creation = bootstrap || watches_one;
        Ok(Response::new(produced(boot, move |tx| async move {
            if tx.send(Ok(WatchResponse::default())).await.is_err() {
                return;
            }
            if initial_is_creation {
                for resource in known.values() {
                    if tx
                        .send(Ok(event(EventType::Created, Some(resource.clone()), None)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                if bootstrap
                    && tx
                        .send(Ok(event(EventType::Bootstrapped, None, None)))
                        .await
                        .is_err()
                {
                    return;
                }
            }
            while changes.changed().await.is_ok() {
                let current = snapshot();
                let mut updates = Vec::new();
                for (id, resource) in &current {
                    match known.get(id) {
                        None => {
                            updates.push(event(EventType::Created, Some(resource.clone()), None))
                        }
                        Some(old) if resource_version(old) != resource_version(resource) => updates
                            .push(event(
                                EventType::Updated,
                                Some(resource.clone()),
                                Some(old.clone()),
                            )),
                        Some(_) => {}
                    }
                }
                for (id, old) in &known {
                    if !current.contains_key(id) {
                        updates.push(event(EventType::Destroyed, Some(old.clone()), None));
                    }
                }
                known = current;
                for update in updates {
                    if tx.send(Ok(update)).await.is_err() {
                        return;
                    }
                }
            }
        })))
    }
}
