//! The nut-client extension's `upsmon`: reads the `upsmon.conf` its ESC mounts and refuses to
//! run without a `MONITOR` line. Its log names UPS systems and roles, never passwords.

use talos_client::machine_config::ExtensionServiceConfig;

use super::node::NodeState;
use super::services::Outcome;

/// Where the nut-client extension reads its configuration.
pub(crate) const UPSMON_CONF: &str = "/usr/local/etc/nut/upsmon.conf";

/// One `MONITOR <system> <power value> <user> <password> <role>` line, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Monitor<'a> {
    system: &'a str,
    power_value: &'a str,
    role: &'a str,
}

/// The `MONITOR` lines of an `upsmon.conf` (comments and blank lines skipped).
fn monitors(conf: &str) -> Vec<Monitor<'_>> {
    conf.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next() != Some("MONITOR") {
                return None;
            }
            let system = words.next()?;
            let power_value = words.next()?;
            let role = words.nth(2)?;
            Some(Monitor {
                system,
                power_value,
                role,
            })
        })
        .collect()
}

/// Runs upsmon as service `id` with the files of its ESC; fails without a usable config.
pub(crate) fn run(
    state: &mut NodeState,
    id: &str,
    esc: Option<&ExtensionServiceConfig>,
) -> Outcome {
    state.log(id, "Network UPS Tools upsmon (sim)\n");
    let conf = esc.and_then(|esc| {
        esc.config_files
            .iter()
            .find(|file| file.mount_path == UPSMON_CONF)
    });
    let Some(conf) = conf else {
        state.log(
            id,
            &format!(
                "fatal: cannot open {UPSMON_CONF}: no such file; mount it through the nut-client ExtensionServiceConfig\n"
            ),
        );
        return Outcome::Failed;
    };
    let monitors = monitors(&conf.content);
    if monitors.is_empty() {
        state.log(
            id,
            &format!(
                "fatal: no MONITOR line in {UPSMON_CONF}; add `MONITOR <ups>@<host> <power value> <user> <password> primary|secondary`\n"
            ),
        );
        return Outcome::Failed;
    }
    for monitor in monitors {
        state.log(
            id,
            &format!(
                "UPS: {} ({}) (power value {})\n",
                monitor.system, monitor.role, monitor.power_value
            ),
        );
    }
    Outcome::Started
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_lines_are_read_without_their_credentials() {
        let conf = "# MONITOR commented@out 1 u p primary\n  MONITOR ups@192.0.2.10 1 upsmon s3cret secondary\nSHUTDOWNCMD \"/sbin/poweroff\"\nMONITOR short\n";
        assert_eq!(
            monitors(conf),
            [Monitor {
                system: "ups@192.0.2.10",
                power_value: "1",
                role: "secondary",
            }]
        );
    }

    #[test]
    fn a_config_without_monitor_lines_has_none() {
        assert!(monitors("SHUTDOWNCMD \"/sbin/poweroff\"\nMINSUPPLIES 1\n").is_empty());
    }
}
