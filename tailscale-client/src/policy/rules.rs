//! Checks and additions for the policy entries a rollout needs: tag owners, route
//! auto-approvers, and an ACL rule letting an admin tag reach the nodes.

use ipnet::IpNet;
use serde_json::{Value, json};

use super::Policy;
use super::hujson::EditError;
use crate::error::{Error, Result};

fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn edit_error(e: EditError) -> Error {
    Error::InvalidInput {
        field: "policy file",
        reason: format!("{e}; fix the policy file's structure first"),
    }
}

impl Policy {
    /// The owners listed for `tag` in `tagOwners`, or `None` when the tag is not defined.
    pub fn tag_owners(&self, tag: &str) -> Option<Vec<String>> {
        self.value()
            .get("tagOwners")?
            .get(tag)
            .map(|owners| strings(Some(owners)).map(str::to_owned).collect())
    }

    /// The tags among `tags` that an auth key could not carry: tags missing from
    /// `tagOwners`, and, when `owner` is given (an OAuth client's tag), tags that are
    /// neither `owner` itself nor owned by it.
    pub fn unowned_tags<S: AsRef<str>>(&self, tags: &[S], owner: Option<&str>) -> Vec<String> {
        tags.iter()
            .map(AsRef::as_ref)
            .filter(|tag| match (self.tag_owners(tag), owner) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(owners), Some(owner)) => *tag != owner && !owners.iter().any(|o| o == owner),
            })
            .map(str::to_owned)
            .collect()
    }

    /// Makes `owner` an owner of `tag` (adding the tag to `tagOwners` if needed).
    /// Returns whether the policy changed.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `tagOwners` has an unexpected shape or `tag` is not
    /// `tag:<name>`.
    pub fn ensure_tag_owner(&mut self, tag: &str, owner: &str) -> Result<bool> {
        crate::tags::validate_tag(tag)?;
        match self.tag_owners(tag) {
            Some(owners) if owners.iter().any(|o| o == owner) => Ok(false),
            Some(_) => self.apply(|doc| doc.append_element(&["tagOwners", tag], &json!(owner))),
            None => self.apply(|doc| doc.insert_member(&["tagOwners"], tag, &json!([owner]))),
        }
    }

    /// True when routes inside `route` advertised by a device tagged `tag` are approved
    /// automatically: some `autoApprovers.routes` prefix containing `route` lists `tag`
    /// (for `0.0.0.0/0` and `::/0`, `autoApprovers.exitNode` lists it).
    pub fn route_auto_approved(&self, route: &IpNet, tag: &str) -> bool {
        let approvers = self.value().get("autoApprovers");
        if route.prefix_len() == 0 {
            return strings(approvers.and_then(|a| a.get("exitNode"))).any(|t| t == tag);
        }
        approvers
            .and_then(|a| a.get("routes"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(prefix, _)| {
                prefix
                    .parse::<IpNet>()
                    .is_ok_and(|p| p.contains(&route.trunc()))
            })
            .any(|(_, tags)| strings(Some(tags)).any(|t| t == tag))
    }

    /// Adds `tag` as auto-approver of `route` unless it already is one. Returns whether the
    /// policy changed.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `autoApprovers` has an unexpected shape or `tag` is not
    /// `tag:<name>`.
    pub fn ensure_route_auto_approver(&mut self, route: &IpNet, tag: &str) -> Result<bool> {
        crate::tags::validate_tag(tag)?;
        if self.route_auto_approved(route, tag) {
            return Ok(false);
        }
        if route.prefix_len() == 0 {
            return self
                .apply(|doc| doc.append_element(&["autoApprovers", "exitNode"], &json!(tag)));
        }
        let key = route.trunc().to_string();
        let exists = self
            .value()
            .pointer("/autoApprovers/routes")
            .and_then(|r| r.get(&key))
            .is_some();
        if exists {
            self.apply(|doc| doc.append_element(&["autoApprovers", "routes", &key], &json!(tag)))
        } else {
            self.apply(|doc| doc.insert_member(&["autoApprovers", "routes"], &key, &json!([tag])))
        }
    }

    /// True when an `acls` rule (`action: accept`) or a `grants` entry (`ip: ["*"]`) lets
    /// devices tagged `src_tag` reach devices tagged `dst_tag` on every port. Wildcards
    /// (`*`, `*:*`) count; groups, hosts and autogroups are not expanded.
    pub fn allows_access(&self, src_tag: &str, dst_tag: &str) -> bool {
        let value = self.value();
        let src_ok = |rule: &Value| strings(rule.get("src")).any(|s| s == src_tag || s == "*");
        let acl = value
            .get("acls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|rule| rule.get("action").and_then(Value::as_str) == Some("accept"))
            .filter(|rule| src_ok(rule))
            .any(|rule| {
                strings(rule.get("dst")).any(|d| {
                    d.rsplit_once(':').is_some_and(|(host, ports)| {
                        (host == dst_tag || host == "*") && ports == "*"
                    })
                })
            });
        let grant = value
            .get("grants")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|rule| src_ok(rule))
            .filter(|rule| strings(rule.get("ip")).any(|p| p == "*"))
            .any(|rule| strings(rule.get("dst")).any(|d| d == dst_tag || d == "*"));
        acl || grant
    }

    /// Adds `{"action": "accept", "src": [src_tag], "dst": ["<dst_tag>:*"]}` to `acls`
    /// unless access is already allowed. Returns whether the policy changed.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `acls` is not an array or a tag is not `tag:<name>`.
    pub fn ensure_access(&mut self, src_tag: &str, dst_tag: &str) -> Result<bool> {
        crate::tags::validate_tag(src_tag)?;
        crate::tags::validate_tag(dst_tag)?;
        if self.allows_access(src_tag, dst_tag) {
            return Ok(false);
        }
        let rule = json!({"action": "accept", "src": [src_tag], "dst": [format!("{dst_tag}:*")]});
        self.apply(|doc| doc.append_element(&["acls"], &rule))
    }

    fn apply(
        &mut self,
        edit: impl FnOnce(&super::hujson::Document) -> Result<String, EditError>,
    ) -> Result<bool> {
        let text = edit(self.document()).map_err(edit_error)?;
        self.replace_text(text)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const DEFAULT_LIKE: &str = r#"// Example policy
{
	// Who may use which tag.
	"tagOwners": {
		"tag:talos": ["autogroup:admin"],
	},
	"acls": [
		{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]},
	],
}
"#;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn unowned_tags_lists_undefined_and_foreign_tags() {
        let policy = Policy::parse(DEFAULT_LIKE).unwrap();
        assert_eq!(
            policy.unowned_tags(&["tag:talos", "tag:x"], None),
            vec!["tag:x"]
        );
        assert_eq!(
            policy.unowned_tags(&["tag:talos"], Some("tag:ci")),
            vec!["tag:talos"]
        );
        assert!(
            policy
                .unowned_tags(&["tag:talos"], Some("autogroup:admin"))
                .is_empty()
        );
    }

    #[test]
    fn ensure_tag_owner_edits_the_text_in_place() {
        let mut policy = Policy::parse(DEFAULT_LIKE).unwrap();
        assert!(policy.ensure_tag_owner("tag:talos", "tag:ci").unwrap());
        assert!(policy.ensure_tag_owner("tag:router", "tag:ci").unwrap());
        assert!(!policy.ensure_tag_owner("tag:router", "tag:ci").unwrap());
        assert!(policy.text().contains("// Who may use which tag."));
        assert!(
            policy
                .text()
                .contains("\t\t\"tag:router\": [\"tag:ci\"],\n"),
            "{}",
            policy.text()
        );
        assert_eq!(
            policy.tag_owners("tag:talos").unwrap(),
            vec!["autogroup:admin", "tag:ci"]
        );
    }

    #[test]
    fn auto_approval_by_containing_prefix() {
        let policy = Policy::parse(
            r#"{"autoApprovers": {"routes": {"10.0.0.0/8": ["tag:talos"]}, "exitNode": ["tag:exit"]}}"#,
        )
        .unwrap();
        assert!(policy.route_auto_approved(&net("10.96.0.0/12"), "tag:talos"));
        assert!(!policy.route_auto_approved(&net("192.168.0.0/16"), "tag:talos"));
        assert!(policy.route_auto_approved(&net("0.0.0.0/0"), "tag:exit"));
    }

    #[test]
    fn ensure_route_auto_approver_creates_the_section() {
        let mut policy = Policy::parse(DEFAULT_LIKE).unwrap();
        assert!(
            policy
                .ensure_route_auto_approver(&net("10.96.0.0/12"), "tag:talos")
                .unwrap()
        );
        assert!(policy.route_auto_approved(&net("10.96.0.0/12"), "tag:talos"));
        assert!(
            !policy
                .ensure_route_auto_approver(&net("10.96.0.0/12"), "tag:talos")
                .unwrap()
        );
        assert!(
            policy
                .ensure_route_auto_approver(&net("10.96.0.0/12"), "tag:other")
                .unwrap()
        );
        assert_eq!(
            policy.value()["autoApprovers"]["routes"]["10.96.0.0/12"],
            json!(["tag:talos", "tag:other"])
        );
    }

    #[test]
    fn ensure_access_appends_an_acl_rule_once() {
        let mut policy = Policy::parse(DEFAULT_LIKE).unwrap();
        assert!(!policy.allows_access("tag:admin", "tag:talos"));
        assert!(policy.ensure_access("tag:admin", "tag:talos").unwrap());
        assert!(policy.allows_access("tag:admin", "tag:talos"));
        assert!(!policy.ensure_access("tag:admin", "tag:talos").unwrap());
        assert_eq!(policy.value()["acls"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn grants_with_all_ip_access_count() {
        let policy = Policy::parse(
            r#"{"grants": [{"src": ["tag:admin"], "dst": ["tag:talos"], "ip": ["*"]}]}"#,
        )
        .unwrap();
        assert!(policy.allows_access("tag:admin", "tag:talos"));
    }

    #[test]
    fn a_misshapen_section_is_reported_not_overwritten() {
        let mut policy = Policy::parse(r#"{"acls": {"oops": true}}"#).unwrap();
        let err = policy.ensure_access("tag:a", "tag:b").unwrap_err();
        assert!(err.to_string().contains("`acls` is not an array"), "{err}");
        assert_eq!(policy.text(), r#"{"acls": {"oops": true}}"#);
    }
}
