//! The tailnet's state and every operation on it, free of HTTP.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::api_error::ApiError;
use super::devices::{
    ControlConnection, Device, DeviceAddresses, matches_filters, tailnet_addresses,
};
use super::ids;
use super::keys::{AuthKey, Caller, CreateKeyRequest, KeyUnusable};
use super::policy::Policy;
use super::registration::{Registration, RegistrationError};
use crate::clock::SimClock;

/// Mutable state of the simulated tailnet.
#[derive(Debug)]
pub(crate) struct TailnetState {
    pub(crate) clock: SimClock,
    pub(crate) dns_suffix: String,
    pub(crate) device_approval: bool,
    pub(crate) appear_delay: Duration,
    keys: Vec<AuthKey>,
    devices: Vec<Device>,
    policy: Policy,
    next_device_number: u32,
}

impl TailnetState {
    pub(crate) fn new(
        clock: SimClock,
        dns_suffix: String,
        device_approval: bool,
        appear_delay: Duration,
        policy: Policy,
    ) -> Self {
        Self {
            clock,
            dns_suffix,
            device_approval,
            appear_delay,
            keys: Vec::new(),
            devices: Vec::new(),
            policy,
            next_device_number: 1,
        }
    }

    fn now(&self) -> Instant {
        self.clock.instant()
    }

    pub(crate) fn create_key(
        &mut self,
        request: CreateKeyRequest,
        caller: &Caller,
    ) -> Result<Value, ApiError> {
        let key = AuthKey::create(request, caller, self.policy.rules(), &self.clock)?;
        let json = key.to_json(self.now(), true);
        self.keys.push(key);
        Ok(json)
    }

    pub(crate) fn list_keys(&self) -> Vec<Value> {
        let now = self.now();
        self.keys
            .iter()
            .filter(|key| key.is_listed())
            .map(|key| key.to_json(now, false))
            .collect()
    }

    fn listed_key(&mut self, id: &str) -> Result<&mut AuthKey, ApiError> {
        self.keys
            .iter_mut()
            .find(|key| key.id == id && key.is_listed())
            .ok_or_else(|| ApiError::not_found("key not found"))
    }

    pub(crate) fn get_key(&mut self, id: &str) -> Result<Value, ApiError> {
        let now = self.now();
        Ok(self.listed_key(id)?.to_json(now, false))
    }

    pub(crate) fn delete_key(&mut self, id: &str) -> Result<(), ApiError> {
        let at = self.clock.now();
        self.listed_key(id)?.revoke(at);
        Ok(())
    }

    fn prune_ephemeral(&mut self) {
        let now = self.now();
        self.devices.retain(|device| !device.is_cleaned_up(now));
    }

    pub(crate) fn list_devices(
        &mut self,
        all_fields: bool,
        filters: &[(String, String)],
    ) -> Vec<Value> {
        self.prune_ephemeral();
        let now = self.now();
        self.devices
            .iter()
            .filter(|device| device.is_visible(now))
            .filter(|device| {
                filters.is_empty() || matches_filters(&device.to_json(now, true), filters)
            })
            .map(|device| device.to_json(now, all_fields))
            .collect()
    }

    fn visible_device(&mut self, id: &str) -> Result<&mut Device, ApiError> {
        self.prune_ephemeral();
        let now = self.now();
        self.devices
            .iter_mut()
            .find(|device| device.has_id(id) && device.is_visible(now))
            .ok_or_else(|| ApiError::not_found("device not found"))
    }

    pub(crate) fn get_device(&mut self, id: &str, all_fields: bool) -> Result<Value, ApiError> {
        let now = self.now();
        Ok(self.visible_device(id)?.to_json(now, all_fields))
    }

    pub(crate) fn delete_device(&mut self, id: &str) -> Result<(), ApiError> {
        let node_id = self.visible_device(id)?.node_id.clone();
        self.devices.retain(|device| device.node_id != node_id);
        Ok(())
    }

    pub(crate) fn device_routes(&mut self, id: &str) -> Result<Value, ApiError> {
        let device = self.visible_device(id)?;
        Ok(routes_json(device))
    }

    pub(crate) fn set_enabled_routes(
        &mut self,
        id: &str,
        routes: Vec<String>,
    ) -> Result<Value, ApiError> {
        for route in &routes {
            if route.parse::<ipnet::IpNet>().is_err() {
                return Err(ApiError::bad_request(format!("invalid route {route:?}")));
            }
        }
        let device = self.visible_device(id)?;
        device.enabled_routes = routes;
        Ok(routes_json(device))
    }

    pub(crate) fn set_device_tags(
        &mut self,
        id: &str,
        tags: Vec<String>,
        caller: &Caller,
    ) -> Result<(), ApiError> {
        let caller_tags = match caller {
            Caller::Admin => None,
            Caller::OAuthClient { tags } => Some(tags.clone()),
        };
        let unpermitted = self
            .policy
            .rules()
            .unpermitted_tags(&tags, caller_tags.as_deref());
        if !unpermitted.is_empty() {
            return Err(ApiError::tags_not_permitted(&unpermitted));
        }
        let device = self.visible_device(id)?;
        device.key_expiry_disabled = !tags.is_empty() || device.key_expiry_disabled;
        device.tags = tags;
        Ok(())
    }

    pub(crate) fn authorize_device(&mut self, id: &str, authorized: bool) -> Result<(), ApiError> {
        self.visible_device(id)?.authorized = authorized;
        Ok(())
    }

    pub(crate) fn set_key_expiry_disabled(
        &mut self,
        id: &str,
        disabled: bool,
    ) -> Result<(), ApiError> {
        self.visible_device(id)?.key_expiry_disabled = disabled;
        Ok(())
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn replace_policy(
        &mut self,
        text: &str,
        if_match: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(if_match) = if_match
            && !self.policy.matches(if_match)
        {
            return Err(ApiError::new(
                axum::http::StatusCode::PRECONDITION_FAILED,
                "precondition failed, invalid old hash",
            ));
        }
        self.policy = Policy::parse(text).map_err(ApiError::bad_request)?;
        Ok(())
    }

    /// Mints the auth key `tailscale up` creates from an OAuth client secret; returns its secret.
    pub(crate) fn mint_login_key(
        &mut self,
        caller: &Caller,
        tags: &[String],
        ephemeral: bool,
        preauthorized: bool,
    ) -> Result<String, RegistrationError> {
        let request = CreateKeyRequest::for_oauth_login(tags, ephemeral, preauthorized);
        let key = AuthKey::create(request, caller, self.policy.rules(), &self.clock)
            .map_err(|error| RegistrationError::new(error.message()))?;
        let secret = key.secret().to_owned();
        self.keys.push(key);
        Ok(secret)
    }

    /// A node's `tailscale up --authkey=…`: validates the key and creates or re-attaches the device.
    pub(crate) fn register(
        &mut self,
        registration: &Registration,
        never_connects: bool,
        routes_never_advertised: bool,
    ) -> Result<String, RegistrationError> {
        self.prune_ephemeral();
        let now = self.now();
        let key_index = self
            .keys
            .iter()
            .position(|key| key.has_secret(registration.auth_key()))
            .ok_or_else(RegistrationError::key_does_not_exist)?;
        // A node with tailscaled state logs in again as its device, whatever valid key it is
        // given (key rotation keeps the device); an expired or revoked key fails even then.
        let known = registration
            .known_device
            .as_deref()
            .and_then(|id| self.devices.iter().position(|d| d.node_id == id));
        let key = &self.keys[key_index];
        let usable = match key.unusable(now) {
            None => true,
            Some(KeyUnusable::Consumed) => {
                known.is_some_and(|index| self.devices[index].auth_key_id == key.id)
            }
            Some(_) => false,
        };
        if !usable {
            return Err(RegistrationError::key_does_not_exist());
        }
        let advertised = if routes_never_advertised {
            Vec::new()
        } else {
            registration.advertise_routes.clone()
        };
        let connects = if never_connects {
            ControlConnection::Never
        } else {
            ControlConnection::ConnectsAt(now + self.appear_delay)
        };
        if let Some(index) = known {
            let device = &mut self.devices[index];
            device.advertised_routes = advertised;
            device.connection = connects;
            return Ok(device.node_id.clone());
        }
        let key = &self.keys[key_index];
        let tags = if registration.advertise_tags.is_empty() {
            key.tags().to_vec()
        } else {
            let owner_tags = (!key.tags().is_empty()).then(|| key.tags().to_vec());
            let unpermitted = self
                .policy
                .rules()
                .unpermitted_tags(&registration.advertise_tags, owner_tags.as_deref());
            if !unpermitted.is_empty() {
                return Err(RegistrationError::tags_not_permitted(&unpermitted));
            }
            registration.advertise_tags.clone()
        };
        let enabled = self.policy.rules().auto_approved(&advertised, &tags);
        let (ipv4, ipv6) = tailnet_addresses(self.next_device_number);
        let device = Device {
            node_id: ids::node_id(),
            numeric_id: 1_000_000_000_000 + u64::from(self.next_device_number),
            hostname: registration.hostname.clone(),
            base_name: self.unique_name(&registration.hostname),
            dns_suffix: self.dns_suffix.clone(),
            ipv4,
            ipv6,
            created: self.clock.now(),
            key_expiry_disabled: !tags.is_empty(),
            tags,
            ephemeral: key.is_ephemeral(),
            authorized: key.is_preauthorized() || !self.device_approval,
            advertised_routes: advertised,
            enabled_routes: enabled,
            visible_from: now + self.appear_delay,
            connection: connects,
            auth_key_id: key.id.clone(),
            machine_key: ids::public_key("mkey"),
            node_key: ids::public_key("nodekey"),
        };
        self.next_device_number += 1;
        self.keys[key_index].record_use();
        let node_id = device.node_id.clone();
        self.devices.push(device);
        Ok(node_id)
    }

    /// The MagicDNS name and tailnet addresses of the device `node_id`, once it is visible.
    pub(crate) fn device_addresses(&self, node_id: &str) -> Option<DeviceAddresses> {
        let now = self.now();
        self.devices
            .iter()
            .find(|device| device.node_id == node_id && device.is_visible(now))
            .map(Device::addresses)
    }

    /// The subnet routes approved for the device `node_id`, once it has appeared.
    pub(crate) fn approved_routes(&self, node_id: &str) -> Vec<String> {
        let now = self.now();
        self.devices
            .iter()
            .find(|device| device.node_id == node_id && device.is_visible(now))
            .map(|device| device.enabled_routes.clone())
            .unwrap_or_default()
    }

    /// The node's tailscaled stopped (reboot, service stop): its device goes offline.
    pub(crate) fn disconnect(&mut self, node_id: &str) {
        let now = self.now();
        let wall = self.clock.now();
        if let Some(device) = self.devices.iter_mut().find(|d| d.node_id == node_id) {
            device.go_offline(now, wall);
        }
    }

    /// `hostname`, or `hostname-1`, `hostname-2`, … when another device already has the name.
    fn unique_name(&self, hostname: &str) -> String {
        let base = hostname.to_ascii_lowercase();
        let taken = |name: &str| self.devices.iter().any(|d| d.base_name == name);
        if !taken(&base) {
            return base;
        }
        (1..)
            .map(|n| format!("{base}-{n}"))
            .find(|candidate| !taken(candidate))
            .unwrap_or(base)
    }
}

fn routes_json(device: &Device) -> Value {
    serde_json::json!({
        "advertisedRoutes": device.advertised_routes,
        "enabledRoutes": device.enabled_routes,
    })
}
