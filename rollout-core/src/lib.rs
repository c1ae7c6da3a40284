//! Plan and sans-IO one-node-at-a-time state machine for rolling a system extension onto a Talos cluster, with gates, journal, driver and rollback.
