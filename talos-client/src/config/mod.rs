//! talosconfig: loading, contexts, endpoints and the client credentials they carry.
