//! The tailnet policy file: stored text, its ETag, and the rules the sim enforces (tag owners, route auto-approvers).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use ipnet::IpNet;
use serde::Deserialize;

/// The ETag value that matches only the untouched default policy.
pub(crate) const DEFAULT_POLICY_ETAG: &str = "ts-default";

/// A policy file as the tailnet stores it.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    text: String,
    rules: PolicyRules,
    is_default: bool,
}

/// The parts of a policy the sim acts on.
#[derive(Debug, Clone, Default)]
pub(crate) struct PolicyRules {
    tag_owners: BTreeMap<String, Vec<String>>,
    route_approvers: Vec<(IpNet, Vec<String>)>,
    exit_node_approvers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyDocument {
    #[serde(default)]
    tag_owners: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    auto_approvers: AutoApprovers,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct AutoApprovers {
    #[serde(default)]
    routes: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    exit_node: Vec<String>,
}

impl Policy {
    /// The tailnet's initial policy (it answers `If-Match: "ts-default"`).
    pub(crate) fn initial(text: &str) -> Result<Self, String> {
        let mut policy = Self::parse(text)?;
        policy.is_default = true;
        Ok(policy)
    }

    /// Parses a policy in JSON or HuJSON (comments, trailing commas).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let document: PolicyDocument = serde_json::from_str(&standardize_hujson(text))
            .map_err(|error| format!("parsing policy: {error}"))?;
        let mut route_approvers = Vec::new();
        for (prefix, approvers) in document.auto_approvers.routes {
            let net: IpNet = prefix
                .parse()
                .map_err(|_| format!("autoApprovers: invalid route prefix {prefix:?}"))?;
            route_approvers.push((net, approvers));
        }
        Ok(Self {
            text: text.to_owned(),
            rules: PolicyRules {
                tag_owners: document.tag_owners,
                route_approvers,
                exit_node_approvers: document.auto_approvers.exit_node,
            },
            is_default: false,
        })
    }

    /// The stored text, byte for byte.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The policy as plain JSON (what `Accept: application/json` gets).
    pub(crate) fn to_json_text(&self) -> String {
        let standard = standardize_hujson(&self.text);
        serde_json::from_str::<serde_json::Value>(&standard)
            .and_then(|value| serde_json::to_string_pretty(&value))
            .unwrap_or(standard)
    }

    /// The ETag of the stored text (without quotes).
    pub(crate) fn etag(&self) -> String {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.text.hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }

    /// Whether `if_match` (quoted or not) names this policy.
    pub(crate) fn matches(&self, if_match: &str) -> bool {
        let wanted = if_match.trim().trim_matches('"');
        wanted == self.etag() || (self.is_default && wanted == DEFAULT_POLICY_ETAG)
    }

    /// The enforced rules.
    pub(crate) fn rules(&self) -> &PolicyRules {
        &self.rules
    }
}

impl PolicyRules {
    /// The requested tags a caller owning `caller_tags` (None = a tailnet admin) may not use.
    pub(crate) fn unpermitted_tags(
        &self,
        requested: &[String],
        caller_tags: Option<&[String]>,
    ) -> Vec<String> {
        requested
            .iter()
            .filter(|tag| !self.may_use(tag, caller_tags))
            .cloned()
            .collect()
    }

    fn may_use(&self, tag: &str, caller_tags: Option<&[String]>) -> bool {
        let Some(owners) = self.tag_owners.get(tag) else {
            return false;
        };
        match caller_tags {
            None => true,
            Some(own) => own.iter().any(|t| t == tag || owners.contains(t)),
        }
    }

    /// The subset of `advertised` routes that the policy auto-approves for a device with `tags`.
    pub(crate) fn auto_approved(&self, advertised: &[String], tags: &[String]) -> Vec<String> {
        let approves = |approvers: &[String]| approvers.iter().any(|a| tags.contains(a));
        advertised
            .iter()
            .filter(|route| {
                let Ok(net) = route.parse::<IpNet>() else {
                    return false;
                };
                if net.prefix_len() == 0 {
                    return approves(&self.exit_node_approvers);
                }
                self.route_approvers
                    .iter()
                    .any(|(prefix, approvers)| prefix.contains(&net) && approves(approvers))
            })
            .cloned()
            .collect()
    }
}

/// Turns HuJSON into JSON: drops `//` and `/* */` comments and trailing commas, outside strings.
fn standardize_hujson(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut previous = ' ';
                for skipped in chars.by_ref() {
                    if previous == '*' && skipped == '/' {
                        break;
                    }
                    previous = skipped;
                }
            }
            (']' | '}', _) => {
                let trimmed = out.trim_end().len();
                if out[..trimmed].ends_with(',') {
                    out.truncate(trimmed - 1);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HUJSON: &str = r#"{
        // who may apply the node tag
        "tagOwners": { "tag:k8s": ["autogroup:admin", "tag:ci",], },
        /* subnet routes of the nodes are approved automatically */
        "autoApprovers": { "routes": { "10.43.0.0/16": ["tag:k8s"] } },
        "acls": [ {"action": "accept", "src": ["*"], "dst": ["http://x//*:*"]}, ],
    }"#;

    #[test]
    fn hujson_comments_and_trailing_commas_are_accepted_and_strings_kept() {
        let policy = Policy::parse(HUJSON).unwrap();
        assert_eq!(policy.text(), HUJSON);
        assert!(standardize_hujson(HUJSON).contains("http://x//*:*"));
    }

    #[test]
    fn only_owned_tags_are_permitted() {
        let policy = Policy::parse(HUJSON).unwrap();
        let rules = policy.rules();
        let wanted = vec!["tag:k8s".to_owned(), "tag:madeup".to_owned()];
        assert_eq!(rules.unpermitted_tags(&wanted, None), ["tag:madeup"]);
        let ci = vec!["tag:ci".to_owned()];
        assert!(rules.unpermitted_tags(&wanted[..1], Some(&ci)).is_empty());
        let other = vec!["tag:other".to_owned()];
        assert_eq!(
            rules.unpermitted_tags(&wanted[..1], Some(&other)),
            ["tag:k8s"]
        );
    }

    #[test]
    fn routes_inside_an_approved_prefix_are_auto_approved_for_the_approver_tag() {
        let policy = Policy::parse(HUJSON).unwrap();
        let routes = vec!["10.43.0.0/16".to_owned(), "10.44.0.0/16".to_owned()];
        let k8s = vec!["tag:k8s".to_owned()];
        assert_eq!(
            policy.rules().auto_approved(&routes, &k8s),
            ["10.43.0.0/16"]
        );
        assert!(policy.rules().auto_approved(&routes, &[]).is_empty());
    }

    #[test]
    fn if_match_accepts_the_quoted_etag_and_ts_default_only_for_the_initial_policy() {
        let initial = Policy::initial(HUJSON).unwrap();
        assert!(initial.matches(&format!("\"{}\"", initial.etag())));
        assert!(initial.matches("\"ts-default\""));
        let edited = Policy::parse(HUJSON).unwrap();
        assert!(!edited.matches("\"ts-default\""));
        assert!(!edited.matches("\"0000\""));
    }
}
